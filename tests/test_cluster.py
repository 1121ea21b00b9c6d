"""Publishing on a Dask cluster of real processes (``dask scheduler``, ``dask worker``) on loopback.

The estate a cluster publish leaves must be the one a local publish leaves; a killed worker's
frame reruns on another; a scheduler that does not answer stops the run before anything is
published; a worker without credentials fails its frames naming what it lacks; and no secret is
in what the scheduler receives.
"""

import json
import os
import pickle
import shutil
import signal
import socket
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

    def setProgress(self, percent):  # noqa: N802
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


def _workers(cluster):
    with cluster.client() as client:
        return client.scheduler_info()["workers"]


class CancelAfterFirst(Feedback):
    """Cancels as soon as the run reports its first finished task."""

    def setProgress(self, percent):  # noqa: N802
        super().setProgress(percent)
        if percent > 20 + 1e-6:
            self.cancel()


def test_cancel_stops_the_tasks_not_started_and_leaves_a_consistent_estate(stack, cluster, frames):
    coll = fresh(stack, collection("Routt"))
    with pytest.raises(Canceled):  # raised after the finished frames' mapfile is written
        publish.publish_collection(
            target(stack),
            coll,
            frames,
            feedback=CancelAfterFirst(),
            executor=engines.DaskExecutor(cluster.address),
        )
    rows = index_rows(stack, coll.table)
    cogs = sorted(key for key in objects(stack, coll.prefix()) if "/cog/" in key)
    assert 1 <= len(rows) < len(frames)
    assert cogs == sorted(coll.key("cog", os.path.basename(row["location"])) for row in rows)
    assert storage.exists(target(stack).s3, coll.mapfile_key)
    assert open_uploads(stack, coll) == []


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
