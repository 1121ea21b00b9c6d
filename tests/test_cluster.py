"""Publishing on a Dask cluster of real processes (``dask scheduler``, ``dask worker``) on loopback.

The estate a cluster publish leaves must be the one a local publish leaves; a killed worker's
frame reruns on another; a scheduler that does not answer stops the run before anything is
published; a worker without credentials fails its frames naming what it lacks; and no secret is
in what the scheduler receives.
"""

import contextlib
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import cloudpickle
import numpy as np
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin
from osgeo import gdal, osr
from publish_support import fresh, index_rows, objects, s3_client, target

from ls4.ls4_plugin.core import engines, keys, publish, storage
from ls4.ls4_plugin.core.errors import Canceled, Ls4Error
from ls4.ls4_plugin.core.feedback import Feedback
from tools import sample_collection
from tools.cluster import Cluster

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]
# The scheduler plugin and the probes below travel to the scheduler by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def collection(county):
    return keys.Collection(band="bw", type="frames", agency="USGS", county=county, year="2014")


@pytest.fixture(scope="module")
def frames(tmp_path_factory, data_dir):
    """Eight small bw frames: the georeferenced scan and seven cut frames."""
    return [str(path) for path in sample_collection.build("bw", tmp_path_factory.mktemp("f"), 7)]


@pytest.fixture(scope="module")
def cluster(stack, tmp_path_factory):
    storage.apply_public_policy(target(stack).s3)
    with Cluster(stack, workers=2, log_dir=tmp_path_factory.mktemp("cluster")) as running:
        yield running


def estate(stack, coll):
    """What a publish leaves: objects (key → ETag), index rows (without ids), the mapfile."""
    s3 = s3_client(stack)
    listed = {}
    for prefix in (coll.prefix(), coll.mapfile_key):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack["s3"]["bucket"], Prefix=prefix
        ):
            for item in page.get("Contents", []):
                listed[item["Key"]] = item["ETag"]
    rows = [{k: v for k, v in row.items() if k != "id"} for row in index_rows(stack, coll.table)]
    config = target(stack).s3
    mapfile = (
        storage.get_bytes(config, coll.mapfile_key)
        if storage.exists(config, coll.mapfile_key)
        else b""
    )
    return listed, rows, mapfile


def open_uploads(stack, coll):
    listing = s3_client(stack).list_multipart_uploads(
        Bucket=stack["s3"]["bucket"], Prefix=coll.prefix()
    )
    return listing.get("Uploads", [])


def test_cluster_publish_leaves_the_estate_of_a_local_publish(stack, cluster, frames):
    coll = fresh(stack, collection("Elbert"))
    local = publish.publish_collection(target(stack), coll, frames)
    assert {frame.status for frame in local.frames} == {"published"}
    assert {frame.worker for frame in local.frames} == {"local"}
    local_estate = estate(stack, coll)

    fresh(stack, coll)
    result = publish.publish_collection(
        target(stack), coll, frames, executor=engines.DaskExecutor(cluster.address)
    )
    assert [frame.status for frame in result.frames] == ["published"] * len(frames)
    assert [frame.source for frame in result.frames] == frames
    assert estate(stack, coll) == local_estate
    workers = set(cluster.worker_pids())
    assert {frame.worker for frame in result.frames} == workers  # both published frames
    assert len(workers) == 2

    again = publish.publish_collection(
        target(stack), coll, frames, executor=engines.DaskExecutor(cluster.address)
    )
    assert {frame.status for frame in again.frames} == {"unchanged"}
    assert estate(stack, coll) == local_estate


def test_workers_import_nothing_of_qgis(cluster):
    with cluster.client() as client:
        assert set(client.run(lambda: "qgis" in sys.modules).values()) == {False}


class RecordPayloads(SchedulerPlugin):
    """On the scheduler: the pickled run_spec of every task it is given."""

    name = "ls4-record-payloads"

    def __init__(self):
        self.payloads = {}
        self.scheduler = None

    async def start(self, scheduler):
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs):
        task = self.scheduler.tasks.get(key)
        if task is not None and task.run_spec is not None and str(key).startswith("ls4-"):
            self.payloads[str(key)] = pickle.dumps(task.run_spec) + repr(task.run_spec).encode()


class RecordProgress(Feedback):
    def __init__(self):
        super().__init__()
        self.values = []

    def setProgress(self, percent):
        super().setProgress(percent)
        self.values.append(percent)


def _payloads(dask_scheduler):
    return dask_scheduler.plugins["ls4-record-payloads"].payloads


def test_no_secret_reaches_the_scheduler(stack, cluster, frames):
    coll = fresh(stack, collection("Gilpin"))
    feedback = RecordProgress()
    with cluster.client() as client:
        client.register_plugin(RecordPayloads())
        result = publish.publish_collection(
            target(stack),
            coll,
            frames[:3],
            feedback=feedback,
            executor=engines.DaskExecutor(cluster.address),
        )
        payloads = client.run_on_scheduler(_payloads)
    assert {frame.status for frame in result.frames} == {"published"}
    # Progress follows the tasks: staging up to 18 %, then steps as tasks finish (two may
    # finish between two looks), 90 once all are done, then 100 after the finishing step.
    assert feedback.values == sorted(feedback.values)
    assert any(18 < value < 90 for value in feedback.values)
    assert {round(value) for value in feedback.values} >= {18, 90, 100}
    assert len(payloads) == 3
    secrets = [
        stack["s3"]["secret_key"],
        stack["s3"]["access_key"],
        stack["postgres"]["password"],
    ]
    for key, payload in payloads.items():
        assert coll.name.encode() in payload, key  # the real job was inspected
        for secret in secrets:
            assert secret.encode() not in payload, key


def noise_frame(path, size):
    """A bw frame of noise (it does not compress: its COG is uploaded in many parts)."""
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(str(path), size, size, 1, gdal.GDT_Byte, ["TILED=YES"])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.SetGeoTransform((-11700000 + size * 0.5 * int(path.stem[-1]), 0.5, 0, 4830000, 0, -0.5))
    rng = np.random.default_rng(int(path.stem[-1]))
    dataset.GetRasterBand(1).WriteArray(rng.integers(1, 255, (size, size), dtype=np.uint8))
    dataset = None
    return str(path)


def test_a_killed_worker_s_frame_reruns_on_the_other(stack, frames, tmp_path):
    coll = fresh(stack, collection("Teller"))
    big = [noise_frame(tmp_path / sample_collection.frame_name(n), 6000) for n in (11, 12)]
    sources = frames[:4] + big
    with Cluster(stack, workers=2, log_dir=tmp_path / "cluster", nanny=False) as cluster:
        pids = cluster.worker_pids()
        outcome = {}

        def publish_it():
            outcome["result"] = publish.publish_collection(
                target(stack), coll, sources, executor=engines.DaskExecutor(cluster.address)
            )

        runner = threading.Thread(target=publish_it)
        runner.start()
        killed = None
        deadline = time.monotonic() + 300
        with cluster.client() as client:
            while killed is None and runner.is_alive() and time.monotonic() < deadline:
                uploads = [u for u in open_uploads(stack, coll) if "/cog/" in u["Key"]]
                if uploads:
                    name = os.path.basename(uploads[0]["Key"])
                    for address, tasks in client.processing().items():
                        if any(name in str(task) for task in tasks):
                            os.kill(pids[address], signal.SIGKILL)
                            killed = (address, name)
                time.sleep(0.02)
        runner.join(300)
    assert killed, "no worker was caught uploading a COG in parts"
    result = outcome["result"]
    assert [frame.status for frame in result.frames] == ["published"] * len(sources)
    rerun = next(f for f in result.frames if os.path.basename(f.source) == killed[1])
    assert rerun.worker != killed[0]
    rows = index_rows(stack, coll.table)
    assert sorted(os.path.basename(row["location"]) for row in rows) == sorted(
        os.path.basename(source) for source in sources
    )
    names = sorted(os.path.basename(source) for source in sources)
    assert sorted(objects(stack, coll.prefix())) == sorted(
        [coll.key("georef", name) for name in names] + [coll.key("cog", name) for name in names]
    )
    assert open_uploads(stack, coll) == []


def test_a_scheduler_that_does_not_answer_stops_the_run_in_10_s(stack, frames):
    coll = fresh(stack, collection("Custer"))
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent_address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
        for address in (silent_address, closed_address):
            started = time.monotonic()
            with pytest.raises(Ls4Error) as raised:
                publish.publish_collection(
                    target(stack), coll, frames, executor=engines.DaskExecutor(address)
                )
            assert time.monotonic() - started < 10
            assert address in str(raised.value)
            assert "did not answer" in str(raised.value)
            assert objects(stack, coll.prefix()) == {}
            assert index_rows(stack, coll.table) == []


def test_a_worker_without_credentials_fails_its_frames_and_names_what_it_lacks(
    stack, frames, tmp_path
):
    coll = fresh(stack, collection("Fremont"))
    with Cluster(stack, workers=2, log_dir=tmp_path / "cluster", bare={1}) as cluster:
        bare = next(a for a, info in _workers(cluster).items() if info["name"] == "worker-1")
        result = publish.publish_collection(
            target(stack), coll, frames, executor=engines.DaskExecutor(cluster.address)
        )
    failed = [frame for frame in result.frames if frame.status == "failed"]
    published = [frame for frame in result.frames if frame.status == "published"]
    assert failed and published
    assert {frame.worker for frame in failed} == {bare}
    assert bare not in {frame.worker for frame in published}
    for frame in failed:
        assert f"worker {bare}" in frame.message
        assert "no S3 credentials" in frame.message
        assert "no PostgreSQL password" in frame.message
    rows = index_rows(stack, coll.table)
    assert sorted(row["location"] for row in rows) == sorted(
        storage.vsis3_path(target(stack).s3, coll.key("cog", os.path.basename(frame.source)))
        for frame in published
    )
    cogs = [key for key in objects(stack, coll.prefix()) if "/cog/" in key]
    assert len(cogs) == len(published)
    # a failed frame leaves nothing, as in a local publish: no georef/ object, no staged source
    georefs = sorted(key for key in objects(stack, coll.prefix()) if "/georef/" in key)
    assert georefs == sorted(key.replace("/cog/", "/georef/") for key in cogs)
    assert staged_objects(stack, coll) == {}


def _workers(cluster):
    with cluster.client() as client:
        return client.scheduler_info()["workers"]


class CancelAfterFirst(Feedback):
    """Cancels as soon as the run reports its first finished task."""

    def setProgress(self, percent):
        super().setProgress(percent)
        if percent > 20 + 1e-6:
            self.cancel()


def test_cancel_stops_the_tasks_not_started_and_leaves_a_consistent_estate(stack, cluster, frames):
    """Both workers are stopped (SIGSTOP) while the caller submits the frames, so the scheduler
    gives each its task slots and queues the rest; then one runs: its first finished task cancels
    the run. The other is let go only once the cancel has reached the scheduler: its tasks, not
    started then, must not publish, however loaded the machine is."""
    coll = fresh(stack, collection("Routt"))
    pids = cluster.worker_pids()
    first, held = sorted(pids)
    outcome = {}

    def publish_it():
        try:
            publish.publish_collection(
                target(stack),
                coll,
                frames,
                feedback=CancelAfterFirst(),
                executor=engines.DaskExecutor(cluster.address),
            )
        except Canceled as canceled:  # raised after the finished frames' mapfile is written
            outcome["canceled"] = canceled
        except BaseException as error:
            outcome["error"] = error

    runner = threading.Thread(target=publish_it)
    with cluster.client() as client:
        before = client.run_on_scheduler(_cancel_events_set)
        try:
            for pid in pids.values():
                freeze(pid)
            runner.start()
            wait_for(
                lambda: (
                    client.run_on_scheduler(_tasks_of, coll.name) == len(frames)
                    and client.processing()[held]
                ),
                "the frames submitted, some of them given to the stopped worker",
            )
            # ls4-<collection>-<file>-<8 hex>: the frames the stopped worker holds, not started
            prefix = f"ls4-{coll.name}-"
            held_frames = {str(key)[len(prefix) : -9] for key in client.processing()[held]}
            thaw(pids[first])
            wait_for(
                lambda: set(client.run_on_scheduler(_cancel_events_set)) - set(before),
                "the run's cancel on the scheduler",
            )
        finally:
            for pid in pids.values():
                thaw(pid)
        runner.join(300)
    assert not runner.is_alive()
    assert "error" not in outcome, outcome
    assert "canceled" in outcome
    rows = index_rows(stack, coll.table)
    cogs = sorted(key for key in objects(stack, coll.prefix()) if "/cog/" in key)
    assert 1 <= len(rows) < len(frames)
    assert held_frames and held_frames <= {os.path.basename(frame) for frame in frames}
    assert not held_frames & {os.path.basename(row["location"]) for row in rows}
    assert cogs == sorted(coll.key("cog", os.path.basename(row["location"])) for row in rows)
    assert staged_objects(stack, coll) == {}
    assert storage.exists(target(stack).s3, coll.mapfile_key)
    assert open_uploads(stack, coll) == []


def _tasks_of(name, dask_scheduler):
    """On the scheduler: how many tasks of the collection ``name`` it holds."""
    return sum(1 for key in dask_scheduler.tasks if str(key).startswith(f"ls4-{name}-"))


def _cancel_events_set(dask_scheduler):
    """On the scheduler: the names of the runs' cancel events that are set."""
    events = dask_scheduler.extensions["events"]._events
    return [
        name for name, event in events.items() if name.startswith("ls4-cancel-") and event.is_set()
    ]


def _threads_state(pid):
    """The states (``R``, ``S``, ``T``…) of every thread of ``pid``; empty once it is gone."""
    states = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return states
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                states.append(stat.read().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return states


def freeze(pid):
    """SIGSTOP ``pid`` and wait until none of its threads runs (or it has ended)."""
    os.kill(pid, signal.SIGSTOP)
    while any(state not in ("T", "t", "Z", "X") for state in _threads_state(pid)):
        time.sleep(0.001)


def thaw(pid):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def wait_for(condition, what, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


class CancelWhileStaging(Feedback):
    """Cancels at the run's first progress, while the caller stages the first source."""

    def setProgress(self, percent):
        super().setProgress(percent)
        if 0 < percent < 18:
            self.cancel()


def test_cancel_while_staging_publishes_nothing_and_leaves_nothing(stack, cluster, frames):
    coll = fresh(stack, collection("Ouray"))
    with pytest.raises(Canceled):
        publish.publish_collection(
            target(stack),
            coll,
            frames,
            feedback=CancelWhileStaging(),
            executor=engines.DaskExecutor(cluster.address),
        )
    assert index_rows(stack, coll.table) == []
    assert objects(stack, coll.prefix()) == {}  # no staged source, no georef, no COG
    assert open_uploads(stack, coll) == []
    assert not storage.exists(target(stack).s3, coll.mapfile_key)


def test_publishcollection_runs_on_the_scheduler_given(stack, cluster, frames, run_alg):
    from qgis.core import QgsProcessingParameterDefinition

    from tools import qgis_env

    qgis_env.configure(stack)
    coll = fresh(stack, collection("Pitkin"))
    fields = {"COUNTY": "Pitkin", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "BAND_LAYOUT": 1}
    results = run_alg(
        "publishcollection", {"INPUT": frames[:4], "SCHEDULER": cluster.address, **fields}
    )
    reported = json.loads(results["FRAMES"])
    assert [frame["status"] for frame in reported] == ["published"] * 4
    assert {frame["worker"] for frame in reported} <= set(cluster.worker_pids())
    assert results["MAPFILE_KEY"] == coll.mapfile_key
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById("ls4:publishcollection")
    parameter = algorithm.parameterDefinition("SCHEDULER")
    assert parameter.flags() & QgsProcessingParameterDefinition.Flag.FlagAdvanced
    assert "tcp://host:8786" in parameter.help()


def test_a_frame_first_published_as_tif_is_staged_to_its_key_when_given_as_upper_tif(
    stack, cluster, frames, tmp_path
):
    coll = fresh(stack, collection("Baca"))
    publish.publish_collection(target(stack), coll, frames[1:2])
    upper = tmp_path / os.path.basename(frames[1]).replace(".tif", ".TIF")
    shutil.copy(frames[1], upper)
    before = objects(stack, coll.prefix())
    result = publish.publish_collection(
        target(stack), coll, [str(upper)], executor=engines.DaskExecutor(cluster.address)
    )
    assert [frame.status for frame in result.frames] == ["unchanged"]
    assert objects(stack, coll.prefix()) == before


def damaged_frame(source, folder, number):
    """A copy of ``source`` (as frame ``number``) with one compressed tile overwritten: it passes
    the inspection (header, georeferencing, size) and fails when its pixels are read, in
    make_cog, after the caller has staged it."""
    path = os.path.join(folder, sample_collection.frame_name(number))
    options = ["COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"]
    dataset = gdal.Translate(path, source, creationOptions=options)
    dataset = None  # written and closed
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    offset = int(band.GetMetadataItem("BLOCK_OFFSET_1_1", "TIFF"))
    size = int(band.GetMetadataItem("BLOCK_SIZE_1_1", "TIFF"))
    band = dataset = None
    with open(path, "r+b") as out:
        out.seek(offset)
        out.write(b"\xff" * size)
    return path


def staged_objects(stack, coll):
    return objects(stack, f"{coll.prefix()}{engines.STAGING}/")


def abort_open_uploads(stack, coll):
    """Remove what an earlier, interrupted run of the test left."""
    for upload in open_uploads(stack, coll):
        s3_client(stack).abort_multipart_upload(
            Bucket=stack["s3"]["bucket"], Key=upload["Key"], UploadId=upload["UploadId"]
        )


def test_a_frame_that_fails_on_a_worker_leaves_what_a_local_failure_leaves(
    stack, cluster, frames, tmp_path
):
    coll = fresh(stack, collection("Jackson"))
    sources = [*frames[:3], damaged_frame(frames[3], tmp_path, 20)]
    local = publish.publish_collection(target(stack), coll, sources)
    assert [frame.status for frame in local.frames] == ["published"] * 3 + ["failed"]
    local_estate = estate(stack, coll)
    assert coll.key("georef", os.path.basename(sources[3])) not in local_estate[0]

    fresh(stack, coll)
    result = publish.publish_collection(
        target(stack), coll, sources, executor=engines.DaskExecutor(cluster.address)
    )
    assert [frame.status for frame in result.frames] == ["published"] * 3 + ["failed"]
    assert "warp" in result.frames[3].message
    assert result.frames[3].worker in cluster.worker_pids()  # it failed on a worker
    assert estate(stack, coll) == local_estate  # no georef/ object of the failed frame
    assert staged_objects(stack, coll) == {}
    assert open_uploads(stack, coll) == []


class ProgressOf:
    """Futures as ``DaskExecutor._follow`` sees them: all finished before its first look."""

    status = "finished"

    def __init__(self, number):
        self.number = number

    def done(self):
        return True

    def result(self):
        return publish.FrameResult(f"frame-{self.number}", "published")


def test_each_finished_task_moves_the_progress_also_between_two_looks():
    futures = {ProgressOf(number): number for number in range(3)}
    results, served = [None] * 3, []
    progress = RecordProgress()

    class NoCancel:
        def set(self):
            raise AssertionError("not canceled")

    executor = engines.DaskExecutor("tcp://127.0.0.1:1")
    executor._follow(futures, results, NoCancel(), progress, Feedback(), served.append)
    assert [round(value) for value in progress.values] == [33, 67, 100]
    assert sorted(served) == [0, 1, 2]
    assert [frame.source for frame in results] == ["frame-0", "frame-1", "frame-2"]


def run_lease_holders(stack, coll):
    """The PostgreSQL sessions holding the collection's run lease (every live writer of it)."""
    from ls4.ls4_plugin.core import tileindex

    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT hashtext(%s)", (coll.table,))
        objid = cur.fetchone()[0] % 2**32
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND objsubid = 2 AND granted",
            (tileindex.RUN_LOCK_CLASS, objid),
        )
        return cur.fetchone()[0]


CALLER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from publish_support import target
from ls4.ls4_plugin.core import engines, keys, publish
stack, county, address = json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
coll = keys.Collection(band="bw", type="frames", agency="USGS", county=county, year="2014")
publish.publish_collection(
    target(stack), coll, sys.argv[5:], executor=engines.DaskExecutor(address)
)
"""


def test_a_killed_caller_s_uploads_are_removed_by_the_next_run(stack, frames, tmp_path):
    """kill -9 of the process that runs the publish, while it stages a source in parts: the
    multipart upload it leaves is in the bucket; the next cluster run of the collection, once
    the dead run's tasks are over, aborts it and deletes the dead run's staged sources."""
    from tools.cluster import plugin_parent, worker_env

    coll = fresh(stack, collection("Moffat"))
    abort_open_uploads(stack, coll)
    big = [noise_frame(tmp_path / sample_collection.frame_name(n), 6000) for n in (13, 14)]
    sources = frames[:2] + big
    folder = plugin_parent()
    try:
        with Cluster(stack, workers=2, log_dir=tmp_path / "cluster") as cluster:
            tests = os.path.dirname(os.path.abspath(__file__))
            caller = subprocess.Popen(
                [sys.executable, "-c", CALLER, tests, json.dumps(stack), "Moffat"]
                + [cluster.address, *sources],
                env=worker_env(folder),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            # The caller runs in steps of 10 ms and the bucket is looked at while it is stopped:
            # a multipart upload seen open cannot complete before the kill, and one upload of
            # 36 MB in 8 MB parts (begun, parts sent, completed) never fits in one step.
            killed = None
            deadline = time.monotonic() + 240
            while killed is None and caller.poll() is None and time.monotonic() < deadline:
                thaw(caller.pid)
                time.sleep(0.01)
                freeze(caller.pid)
                staging = [u for u in open_uploads(stack, coll) if "/staging/" in u["Key"]]
                if staging:
                    os.kill(caller.pid, signal.SIGKILL)
                    killed = staging[0]["Key"]
            thaw(caller.pid)
            output = caller.communicate(timeout=60)[0].decode(errors="replace")
            assert killed, f"the caller was not caught staging in parts: {output}"
            assert caller.returncode == -signal.SIGKILL
            left = [u["Key"] for u in open_uploads(stack, coll)]
            assert killed in left  # what a killed caller leaves in the bucket
            # The dead run's tasks already on workers run to their end (their leases show it).
            deadline = time.monotonic() + 240
            while run_lease_holders(stack, coll) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert run_lease_holders(stack, coll) == 0

            result = publish.publish_collection(
                target(stack), coll, sources, executor=engines.DaskExecutor(cluster.address)
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert {frame.status for frame in result.frames} <= {"published", "unchanged"}
    assert open_uploads(stack, coll) == []
    assert staged_objects(stack, coll) == {}
    names = sorted(os.path.basename(source) for source in sources)
    assert sorted(objects(stack, coll.prefix())) == sorted(
        [coll.key("georef", name) for name in names] + [coll.key("cog", name) for name in names]
    )
    rows = index_rows(stack, coll.table)
    assert sorted(os.path.basename(row["location"]) for row in rows) == names
