"""Publishing when things go wrong: concurrent runs, bad names, S3 or PostGIS down, bad frames."""

import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mappyfile
import pytest
from publish_support import fresh, index_rows, objects, target
from qgis.core import QgsProcessingException

from ls4.ls4_plugin.core import keys, publish, storage, tileindex
from ls4.ls4_plugin.core.errors import Ls4Error
from ls4.ls4_plugin.core.feedback import Feedback
from tools import qgis_env, sample_collection
from tools.stack import Stack


def collection(stack, year):
    """A collection of this module's own, emptied of what an earlier run left."""
    baca = keys.Collection(band="nc", type="frames", agency="USGS", county="Baca", year=year)
    return fresh(stack, baca)


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return sample_collection.cut_frames("nc", tmp_path_factory.mktemp("frames"), count=6)


def test_two_runs_adding_different_frames_at_once_lose_nothing(stack, frames):
    baca = collection(stack, "1990")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(publish.publish_collection, target(stack), baca, part)
            for part in (frames[:3], frames[3:])
        ]
        results = [run.result() for run in runs]
    assert all(frame.status == "published" for r in results for frame in r.frames)
    rows = index_rows(stack, baca.table)
    locations = sorted(row["location"] for row in rows)
    assert locations == sorted(f"/vsis3/ls4/{baca.key('cog', f.name)}" for f in frames)
    assert mapfile_extents(stack, baca) == [index_extent(stack, baca)] * 2


def mapfile_extents(stack, collection):
    """The map EXTENT of the collection's mapfile on S3 and of the one MapServer reads."""
    on_s3 = storage.get_bytes(target(stack).s3, collection.mapfile_key).decode()
    served = Path(stack["mapserver"]["map_dir"], f"{collection.name}.map").read_text()
    return [mappyfile.loads(text)["extent"] for text in (on_s3, served)]


def index_extent(stack, collection):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        return pytest.approx(list(tileindex.extent(conn, collection.table)), abs=1e-6)


def test_many_writers_of_one_mapfile_at_once_leave_one_whole_file(stack, frames):
    baca = collection(stack, "1986")
    publish.publish_collection(target(stack), baca, frames[:1])
    with ThreadPoolExecutor(max_workers=6) as pool:
        keys_written = list(
            pool.map(lambda _: publish.publish_mapfile(target(stack), baca), range(12))
        )
    assert keys_written == [baca.mapfile_key] * 12
    assert mapfile_extents(stack, baca) == [index_extent(stack, baca)] * 2
    map_dir = Path(stack["mapserver"]["map_dir"])
    assert not [path.name for path in map_dir.iterdir() if path.name.endswith(".tmp")]


def test_a_mapfile_writer_waits_for_the_one_holding_the_collection(stack, frames):
    baca = collection(stack, "1987")
    publish.publish_collection(target(stack), baca, frames[:1])
    storage.delete_keys(target(stack).s3, [baca.mapfile_key])
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, ThreadPoolExecutor(1) as pool:
        with tileindex.derived_lock(conn, baca.table):
            writer = pool.submit(publish.publish_mapfile, target(stack), baca)
            time.sleep(1)
            assert not writer.done()
            assert not storage.exists(target(stack).s3, baca.mapfile_key)
        assert writer.result() == baca.mapfile_key
    assert storage.exists(target(stack).s3, baca.mapfile_key)


def everything(stack):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tables = sorted(tileindex.list_tables(conn))
    return objects(stack), tables


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("COUNTY", "Ba'ca", "county"),
        ("COUNTY", "Baca; DROP TABLE x", "county"),
        ("AGENCY", 'US"GS', "agency"),
        ("YEAR", "19x0", "year"),
        ("YEAR", "", "year"),
    ],
)
def test_collection_fields_breaking_the_rules_are_rejected_before_any_upload(
    stack, qgis_app, run_alg, frames, field, value, reason
):
    qgis_env.configure(stack)
    before = everything(stack)
    params = {"COUNTY": "Baca", "AGENCY": "USGS", "YEAR": "1991", "TYPE": 0, "BAND_LAYOUT": 0}
    params[field] = value
    with pytest.raises(QgsProcessingException, match=reason):
        run_alg("publishcollection", {"INPUT": [str(frames[0])], **params})
    assert everything(stack) == before


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_s3_unreachable_fails_in_seconds_with_nothing_in_the_index(stack, frames):
    baca = collection(stack, "1992")
    down = target(stack, endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(Ls4Error, match="cannot be reached"):
        publish.publish_collection(down, baca, frames[:2])
    assert time.monotonic() - started < 30  # a bound on the retries, not a speed measurement
    assert index_rows(stack, baca.table) == []


class StopPostgresAfterUploads(Feedback):
    """Stops the stack's PostgreSQL as soon as the frame's uploads are done."""

    def __init__(self, stack):
        super().__init__()
        self.stack = stack
        self.stopped = False

    def pushInfo(self, text):  # noqa: N802
        super().pushInfo(text)
        if "uploaded to" in text and not self.stopped:
            data_dir = self.stack["postgres"]["data_dir"]
            pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl"
            command = ["runuser", "-u", "postgres", "--", pg_ctl, "-D", data_dir, "stop", "-m"]
            subprocess.run([*command, "fast"], check=True, capture_output=True)
            self.stopped = True


def test_postgis_stopped_after_the_uploads_then_a_rerun_completes_without_uploading(stack, frames):
    baca = collection(stack, "1993")
    feedback = StopPostgresAfterUploads(stack)
    try:
        with pytest.raises(Ls4Error, match="PostgreSQL"):
            publish.publish_collection(target(stack), baca, frames[:1], feedback=feedback)
    finally:
        Stack(stack["root"]).up()  # PostgreSQL back, same port, same data
    assert feedback.stopped
    uploaded = objects(stack, baca.prefix())
    assert set(uploaded) == {baca.key(stage, frames[0].name) for stage in ("georef", "cog")}
    assert index_rows(stack, baca.table) == []
    assert not storage.exists(target(stack).s3, baca.mapfile_key)

    result = publish.publish_collection(target(stack), baca, frames[:1])
    assert [frame.status for frame in result.frames] == ["published"]
    assert objects(stack, baca.prefix()) == uploaded  # same objects, not written again
    assert len(index_rows(stack, baca.table)) == 1
    assert storage.exists(target(stack).s3, baca.mapfile_key)


def test_one_corrupt_frame_among_five_is_reported_and_the_others_publish(stack, frames):
    baca = collection(stack, "1994")
    corrupt = frames[0].parent / "04-15-14_1-009.tif"
    data = frames[0].read_bytes()
    corrupt.write_bytes(data[: len(data) // 3])
    result = publish.publish_collection(target(stack), baca, [*frames[1:5], corrupt])
    status = {frame.source: frame for frame in result.frames}
    assert status[str(corrupt)].status == "failed"
    assert str(corrupt) in status[str(corrupt)].message
    assert "truncated" in status[str(corrupt)].message.lower()
    assert [status[str(f)].status for f in frames[1:5]] == ["published"] * 4
    assert len(index_rows(stack, baca.table)) == 4
    assert not any("1-009" in key for key in objects(stack, baca.prefix()))
    assert storage.exists(target(stack).s3, baca.mapfile_key)
