"""Array mode: ``python -m ls4.ls4_plugin.core.arrayjob`` plan → run 0…5 (two at a time) → finish.

Each step is its own process with the credentials in its environment (as a batch job has them),
the index from ``AWS_BATCH_JOB_ARRAY_INDEX``; the estate must be a local publish's.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publish_support import anonymous_status, fresh, index_rows, objects, target
from test_cluster import (
    abort_open_uploads,
    damaged_frame,
    estate,
    noise_frame,
    open_uploads,
    staged_objects,
)

from ls4.ls4_plugin.core import arrayjob, keys, publish, storage, tileindex
from ls4.ls4_plugin.core.errors import InputError
from tools import sample_collection
from tools.cluster import plugin_parent, worker_env

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]
# the tests' collections are in Colorado: their county list (tools/qgis_env's)
COLORADO = Path(sample_collection.__file__).with_name("colorado_counties.csv")
COLLECTION = keys.Collection(band="bw", type="frames", agency="USGS", county="Moffat", year="2014")


@pytest.fixture
def job_env(stack):
    folder = plugin_parent()
    env = worker_env(folder, stack)
    env["LS4_S3_ENDPOINT_URL"] = stack["s3"]["endpoint_url"]
    yield env
    shutil.rmtree(folder, ignore_errors=True)


def arrayjob_command(*args):
    return [sys.executable, "-m", "ls4.ls4_plugin.core.arrayjob", *args]


def test_array_job_leaves_the_estate_of_a_local_publish(stack, job_env, tmp_path, data_dir):
    frames = [str(p) for p in sample_collection.build("bw", tmp_path / "frames", 5)]
    assert len(frames) == 6
    coll = fresh(stack, COLLECTION)
    storage.apply_public_policy(target(stack).s3)
    publish.publish_collection(target(stack), coll, frames)
    local = estate(stack, coll)
    fresh(stack, coll)

    manifest = f"s3://{stack['s3']['bucket']}/jobs/{coll.name}/manifest.json"
    planned = run_plan(plan_command(manifest, stack, frames), job_env)
    assert planned.returncode == 0, planned.stderr
    assert "array size: 6" in planned.stdout
    text = storage.get_bytes(target(stack).s3, f"jobs/{coll.name}/manifest.json").decode()
    for secret in (stack["s3"]["secret_key"], stack["postgres"]["password"]):
        assert secret not in text
    assert len(json.loads(text)["frames"]) == 6

    def run_indexes(indexes):
        processes = [
            subprocess.Popen(
                arrayjob_command("run", "--manifest", manifest),
                env={**job_env, "AWS_BATCH_JOB_ARRAY_INDEX": str(index)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for index in indexes
        ]
        for process in processes:
            output, _ = process.communicate(timeout=300)
            assert process.returncode == 0, output
        return output

    for first in range(0, 6, 2):  # two at a time
        run_indexes([first, first + 1])
    early = estate(stack, coll)
    assert early[2] == b""  # no mapfile before the finishing step
    finished = subprocess.run(
        arrayjob_command("finish", "--manifest", manifest),
        env=job_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "6 of 6 frames published" in finished.stdout
    done = estate(stack, coll)
    assert done == local
    assert open_uploads(stack, coll) == []

    rows_before = index_rows(stack, coll.table)
    times_before = _modified(stack, coll)
    output = run_indexes([3])
    assert "unchanged" in output
    assert estate(stack, coll) == local
    assert index_rows(stack, coll.table) == rows_before
    assert _modified(stack, coll) == times_before


def _modified(stack, coll):
    from publish_support import objects

    return {**objects(stack, coll.prefix()), **objects(stack, coll.mapfile_key)}


def test_finish_refuses_while_frames_have_no_result(stack, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack["s3"]["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", stack["s3"]["secret_key"])
    frames = [str(p) for p in sample_collection.cut_frames("bw", tmp_path, 2)]
    coll = fresh(stack, COLLECTION)
    manifest = arrayjob.plan(
        f"s3://{stack['s3']['bucket']}/jobs/{coll.name}/partial.json", coll, target(stack), frames
    )
    arrayjob.run(manifest, 1, dsn=stack["postgres"]["dsn"])
    with pytest.raises(Exception, match=r"1 of 2 frames have no result yet \(indexes 0\)"):
        arrayjob.finish(manifest)
    with pytest.raises(InputError, match="outside the manifest's 2 frames"):
        arrayjob.run(manifest, 2)


def test_the_index_comes_from_the_array_s_variable():
    assert arrayjob.array_index(None, {"AWS_BATCH_JOB_ARRAY_INDEX": "4"}) == 4
    assert arrayjob.array_index(None, {"JOB_COMPLETION_INDEX": "2"}) == 2
    assert arrayjob.array_index(None, {"SLURM_ARRAY_TASK_ID": "7"}) == 7
    assert arrayjob.array_index(5, {"SLURM_ARRAY_TASK_ID": "7"}) == 5
    with pytest.raises(InputError, match="AWS_BATCH_JOB_ARRAY_INDEX"):
        arrayjob.array_index(None, {})


def run_plan(command, env):
    """The plan step run as a batch job runs it: its own process and environment."""
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def plan_command(manifest, stack, frames, county=COLLECTION.county, county_list=COLORADO):
    """The plan step's command line (``county_list`` None: the shipped list, Texas's)."""
    listed = ["--county-list", str(county_list)] if county_list else []
    return arrayjob_command(
        "plan",
        *listed,
        "--manifest",
        manifest,
        "--dsn",
        f"service={stack['postgres']['service']}",
        "--band",
        "bw",
        "--agency",
        "USGS",
        "--county",
        county,
        "--year",
        "2014",
        "--public-url-base",
        stack["s3"]["public_url_base"],
        "--wms-url-template",
        stack["mapserver"]["wms_url_template"],
        "--mapfile-connection",
        f"service={stack['postgres']['service']}",
        *frames,
    )


def test_plan_checks_the_county_against_the_list_unless_its_collection_is_published(
    stack, job_env, tmp_path
):
    """The shipped list (Texas's): "Travs" refused with the list's suggestion before anything is
    created or uploaded; "travis" planned as Travis; "Tiny", off the list but published before
    the list, planned as it was published (typed "tiny")."""
    frames = [str(p) for p in sample_collection.cut_frames("bw", tmp_path, 1)]
    travs, travis, tiny = (
        fresh(
            stack, keys.Collection(band="bw", type="frames", agency="USGS", county=c, year="2014")
        )
        for c in ("Travs", "Travis", "Tiny")
    )
    bucket = stack["s3"]["bucket"]
    try:
        url = f"s3://{bucket}/jobs/{travs.name}/manifest.json"
        refused = run_plan(
            plan_command(url, stack, frames, county="Travs", county_list=None), job_env
        )
        assert refused.returncode == 2
        assert refused.stderr.strip() == (
            "ls4 arrayjob plan: 'Travs' is not in the county list of Texas: did you mean Travis?"
        )
        assert objects(stack, "bw/Travs/") == {} and objects(stack, f"jobs/{travs.name}/") == {}
        assert index_rows(stack, travs.table) == []
        with tileindex.connect(stack["postgres"]["dsn"]) as conn:
            assert not tileindex.table_exists(conn, travs.table)

        publish.publish_collection(target(stack), tiny, frames)  # the core checks no list
        for typed, collection in (("travis", travis), ("tiny", tiny)):
            url = f"s3://{bucket}/jobs/{collection.name}/manifest.json"
            planned = run_plan(
                plan_command(url, stack, frames, county=typed, county_list=None), job_env
            )
            assert planned.returncode == 0, planned.stderr
            assert "array size: 1" in planned.stdout
            key = f"jobs/{collection.name}/manifest.json"
            text = storage.get_bytes(target(stack).s3, key).decode()
            manifest = arrayjob.Manifest.from_json(url, text)
            assert manifest.collection.county == collection.county
            assert manifest.frames[0].startswith(f"s3://{bucket}/{collection.prefix()}")
    finally:
        for collection in (travs, travis, tiny):
            fresh(stack, collection)
            storage.delete_keys(target(stack).s3, list(objects(stack, f"jobs/{collection.name}/")))


def test_a_frame_that_fails_in_its_task_leaves_what_a_local_failure_leaves(
    stack, tmp_path, data_dir, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack["s3"]["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", stack["s3"]["secret_key"])
    good = [str(p) for p in sample_collection.cut_frames("bw", tmp_path, 3)]
    frames = [*good, damaged_frame(good[0], str(tmp_path), 20)]
    coll = fresh(stack, COLLECTION)
    storage.apply_public_policy(target(stack).s3)
    local = publish.publish_collection(target(stack), coll, frames)
    assert [frame.status for frame in local.frames] == ["published"] * 3 + ["failed"]
    local_estate = estate(stack, coll)
    fresh(stack, coll)

    url = f"s3://{stack['s3']['bucket']}/jobs/{coll.name}/damaged.json"
    manifest = arrayjob.plan(url, coll, target(stack), frames)
    staged = staged_objects(stack, coll)
    assert len(staged) == 4  # until finish; private: an intermediate file (GUIDE §2)
    config = target(stack).s3
    assert {anonymous_status(storage.public_url(config, key)) for key in staged} == {403}
    statuses = [arrayjob.run(manifest, i, dsn=stack["postgres"]["dsn"]).status for i in range(4)]
    assert statuses == ["published"] * 3 + ["failed"]
    arrayjob.finish(manifest, dsn=stack["postgres"]["dsn"])
    assert estate(stack, coll) == local_estate  # no georef/ object of the failed frame
    published = storage.public_url(config, coll.key("georef", os.path.basename(good[0])))
    assert anonymous_status(published) == 200  # the 403 above was the staging's privacy
    assert staged_objects(stack, coll) == {}
    assert open_uploads(stack, coll) == []


def _kill_when(process, stack, coll, stage):
    """SIGKILL ``process`` once a multipart upload of ``stage`` of ``coll`` is open; its key."""
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        uploads = [u["Key"] for u in open_uploads(stack, coll) if f"/{stage}/" in u["Key"]]
        if uploads:
            os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
            return uploads[0]
        time.sleep(0.02)
    output = process.communicate(timeout=60)[0]
    raise AssertionError(f"not caught uploading {stage}/ in parts: {output}")


def test_killed_plan_and_task_leave_no_multipart_upload_after_finish(stack, job_env, tmp_path):
    """kill -9 of ``plan`` while it stages a source in parts, and of ``run`` while it uploads
    a COG in parts: each leaves its multipart upload in the bucket; a new plan (another
    manifest), the task run again and ``finish`` leave none, and exactly the frames' objects."""
    frames = [
        *map(str, sample_collection.cut_frames("bw", tmp_path, 1)),
        noise_frame(tmp_path / sample_collection.frame_name(15), 6000),
    ]
    coll = fresh(stack, COLLECTION)
    abort_open_uploads(stack, coll)
    bucket = stack["s3"]["bucket"]
    first = f"s3://{bucket}/jobs/{coll.name}/killed.json"
    plan = subprocess.Popen(
        plan_command(first, stack, frames), env=job_env, stdout=subprocess.PIPE, text=True
    )
    orphan = _kill_when(plan, stack, coll, "staging")
    assert plan.returncode == -signal.SIGKILL
    assert orphan in [u["Key"] for u in open_uploads(stack, coll)]

    manifest = f"s3://{bucket}/jobs/{coll.name}/again.json"
    planned = subprocess.run(
        plan_command(manifest, stack, frames), env=job_env, capture_output=True, text=True
    )
    assert planned.returncode == 0, planned.stderr
    assert orphan in [u["Key"] for u in open_uploads(stack, coll)]  # not its key: left alone
    run = subprocess.Popen(
        arrayjob_command("run", "--manifest", manifest, "--index", "1"),
        env=job_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    cog_upload = _kill_when(run, stack, coll, "cog")
    assert run.returncode == -signal.SIGKILL
    assert cog_upload in [u["Key"] for u in open_uploads(stack, coll)]
    for index in (0, 1):
        ran = subprocess.run(
            arrayjob_command("run", "--manifest", manifest, "--index", str(index)),
            env=job_env,
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
    finished = subprocess.run(
        arrayjob_command("finish", "--manifest", manifest),
        env=job_env,
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert open_uploads(stack, coll) == []
    names = sorted(os.path.basename(frame) for frame in frames)
    assert sorted(objects(stack, coll.prefix())) == sorted(
        [coll.key("georef", name) for name in names] + [coll.key("cog", name) for name in names]
    )
    assert sorted(os.path.basename(r["location"]) for r in index_rows(stack, coll.table)) == names
