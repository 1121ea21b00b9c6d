"""Publishing when things go wrong: concurrent runs, bad names, S3 or PostGIS down, bad frames."""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import mappyfile
import publish_support
import pytest
from osgeo import gdal
from publish_support import fresh, index_rows, objects, target
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsProject
from wms_client import getmap_query, wms

from ls4.ls4_plugin import settings
from ls4.ls4_plugin.core import keys, maintenance, mapfile, publish, storage, tileindex, workspace
from ls4.ls4_plugin.core.errors import Ls4Error, ServiceUnavailable
from ls4.ls4_plugin.core.feedback import Feedback
from tools import qgis_env, sample_collection
from tools import stack as stack_module
from tools.stack import Stack

REPO = Path(__file__).resolve().parents[1]


USED = []


@pytest.fixture(scope="module", autouse=True)
def leave_no_trace(stack):
    """Other modules' maintenance checks read the whole estate: remove what this one made."""
    yield
    for endpoints, made in USED:
        if endpoints is stack:
            fresh(stack, made)


def collection(stack, year, county="Baca"):
    """A collection of this module's own, emptied of what an earlier run left."""
    baca = keys.Collection(band="nc", type="frames", agency="USGS", county=county, year=year)
    USED.append((stack, baca))
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
    """The map EXTENT the index's extent gives (the map's extent is geographic)."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        extent = tileindex.extent(conn, collection.table)
    return pytest.approx(list(mapfile.geographic_extent(extent)), abs=1e-9)


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


# --- services that stop or hang (issue 13 findings 1, 2, 11): a private stack of this module --

FAST_PG = tileindex.Timeouts(connect=2, statement=2.0, lock=2.0, keepalive=2, grace=1.0)
FAST_S3 = {"connect_timeout": 1.0, "read_timeout": 1.0, "max_attempts": 1}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of this module's own: its services are frozen, stopped and killed here, so no
    other test (or helper) sharing a stack meets them down."""
    instance = Stack(tmp_path_factory.mktemp("faults-stack"))
    try:
        yield instance.up()
    finally:
        instance.down(purge=True)


def fast_target(endpoints):
    return dataclasses.replace(target(endpoints, **FAST_S3), pg_timeouts=FAST_PG)


def service_processes(endpoints, name, children=True):
    """The service's own process and, with ``children``, every process below it."""
    pid = endpoints["pids"][name]
    return [pid, *sorted(stack_module._descendants(pid))] if children else [pid]


@contextmanager
def frozen(pids):
    """SIGSTOP the processes for the block (a hung server: the kernel still accepts its TCP)."""
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


class AfterFirstUpload(Feedback):
    """Runs ``fault`` once, as soon as the first frame's uploads are done."""

    def __init__(self, fault):
        super().__init__()
        self.fault = fault
        self.done = False

    def pushInfo(self, text):
        super().pushInfo(text)
        if "uploaded to" in text and not self.done:
            self.done = True
            self.fault()


def timed_publish(publish_target, baca, sources, feedback, limit=60):
    """Publish in a thread: (result or the exception, seconds); a run still going after
    ``limit`` seconds fails the test instead of hanging it."""
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(publish.publish_collection, publish_target, baca, sources, 1, feedback)
        try:
            outcome = run.result(timeout=limit)
        except FutureTimeout:
            pytest.fail(f"the run was still going after {limit} s")
        except Ls4Error as error:
            outcome = error
    return outcome, time.monotonic() - started


def statuses(result):
    return [(frame.status, frame.message) for frame in result.frames]


def hung_after_first_upload(own_stack, service, baca, sources):
    """Publish, freezing ``service`` once the first frame is uploaded: (result, seconds)."""
    stop = ExitStack()
    # the service's processes when the fault comes: the run's own backend among them
    freeze = lambda: stop.enter_context(frozen(service_processes(own_stack, service)))  # noqa: E731
    feedback = AfterFirstUpload(freeze)
    with stop:
        result, seconds = timed_publish(fast_target(own_stack), baca, sources, feedback)
    assert feedback.done
    assert seconds < 20, seconds
    assert result.frames[0].status == "failed"
    return result


def test_a_hung_postgresql_ends_the_run_in_seconds_and_the_other_frames_are_not_attempted(
    own_stack, frames
):
    baca = collection(own_stack, "1995")
    result = hung_after_first_upload(own_stack, "postgres", baca, frames[:4])
    assert "PostgreSQL" in result.frames[0].message
    assert "did not answer within 3 s" in result.frames[0].message
    assert statuses(result)[1:] == [("not attempted", "not attempted: PostgreSQL unreachable")] * 3
    assert any("PostgreSQL" in error for error in result.errors)
    # finding 11: no COG of a frame after the fault was uploaded for a row that cannot be written
    assert set(objects(own_stack, baca.prefix())) == {
        baca.key(stage, frames[0].name) for stage in ("georef", "cog")
    }


def test_a_hung_postmaster_refuses_a_new_run_within_the_connect_timeout(own_stack, frames):
    baca = collection(own_stack, "1996")
    with frozen(service_processes(own_stack, "postgres", children=False)):
        error, seconds = timed_publish(fast_target(own_stack), baca, frames[:1], Feedback())
    assert isinstance(error, ServiceUnavailable), error
    assert "Cannot connect to PostgreSQL" in str(error) and "timeout expired" in str(error)
    assert own_stack["postgres"]["password"] not in str(error)
    assert seconds < 10, seconds
    assert objects(own_stack, baca.prefix()) == {}


def test_a_hung_postmaster_costs_a_wms_request_seconds_and_names_no_server(own_stack, frames):
    baca = collection(own_stack, "1998")
    publish.publish_collection(target(own_stack), baca, frames[:1])
    with tileindex.connect(own_stack["postgres"]["dsn"]) as conn:
        bbox = tileindex.extent(conn, baca.table)
    url = f"{own_stack['mapserver']['base_url']}/wms/{baca.name}"
    query = getmap_query(f"{baca.name},{baca.index_layer}", bbox, 64, 64)
    assert wms(url, **query)[0] == "image/png"
    with frozen(service_processes(own_stack, "postgres", children=False)):
        started = time.monotonic()
        content_type, body = wms(url, **query)
        seconds = time.monotonic() - started
    assert seconds < 15, seconds  # mapfile.SERVER_PG_WAITS: connect_timeout=5
    text = body.decode(errors="replace")
    assert "ServiceException" in text and "Database connection failed" in text, text
    for leak in ("127.0.0.1", str(own_stack["postgres"]["port"]), own_stack["root"], "service="):
        assert leak not in text
    assert wms(url, **query)[0] == "image/png"  # and the next request, once it answers


def status_and_body(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@pytest.mark.parametrize("service", ["tiles", "mapserver"])
def test_a_hung_web_app_or_mapserver_costs_a_capabilities_request_seconds(
    own_stack, frames, service
):
    """GetCapabilities goes through LS4's web app (exact BoundingBoxes), which asks MapServer:
    either one hung (SIGSTOP) is an error in seconds naming nothing; maps still draw while the
    web app is hung, and everything answers again once it runs."""
    baca = collection(own_stack, "1990")
    publish.publish_collection(target(own_stack), baca, frames[:1])
    url = f"{own_stack['mapserver']['base_url']}/wms/{baca.name}"
    capabilities = f"{url}?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0"
    with tileindex.connect(own_stack["postgres"]["dsn"]) as conn:
        query = getmap_query(baca.name, tileindex.extent(conn, baca.table), 64, 64)
    hung = service_processes(own_stack, service)
    if service == "mapserver":
        hung = hung[1:]  # the mapserv processes, not lighttpd in front of them
    with frozen(hung):
        started = time.monotonic()
        status, text = status_and_body(capabilities)
        seconds = time.monotonic() - started
        if service == "tiles":
            assert wms(url, **query)[0] == "image/png"
    assert seconds < 12, seconds  # lighttpd's 8 s for the app, the app's 6 s for MapServer
    assert status in (502, 504), (status, text)
    for leak in ("127.0.0.1", own_stack["root"], str(own_stack["ports"]["tiles"]["http"])):
        assert leak not in text
    status, text = status_and_body(capabilities)
    assert status == 200 and 'CRS="EPSG:3857"' in text


def test_a_hung_s3_ends_the_run_in_seconds_and_the_other_frames_are_not_attempted(
    own_stack, frames
):
    baca = collection(own_stack, "1997")
    result = hung_after_first_upload(own_stack, "s3", baca, frames[:5])
    assert "S3" in result.frames[0].message
    assert statuses(result)[1:] == [("not attempted", "not attempted: S3 unreachable")] * 4
    assert [error.split(":")[0] for error in result.errors] == ["mapfile not written"]
    assert "S3 unreachable" in result.errors[0]
    assert index_rows(own_stack, baca.table) == []


def stop_postgres(endpoints):
    """Fast shutdown of the stack's PostgreSQL (pg_ctl stop -m fast is this signal)."""
    pid = endpoints["pids"]["postgres"]
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while stack_module.process_alive(pid, "postgres") and time.monotonic() < deadline:
        time.sleep(0.1)


def test_postgis_stopped_after_the_uploads_then_a_rerun_completes_without_uploading(
    own_stack, frames
):
    baca = collection(own_stack, "1993")
    feedback = AfterFirstUpload(lambda: stop_postgres(own_stack))
    try:
        result, seconds = timed_publish(fast_target(own_stack), baca, frames[:3], feedback)
    finally:
        Stack(own_stack["root"]).up()  # PostgreSQL back, same port, same data
    assert feedback.done
    assert seconds < 20, seconds
    assert result.frames[0].status == "failed" and "PostgreSQL" in result.frames[0].message
    assert statuses(result)[1:] == [("not attempted", "not attempted: PostgreSQL unreachable")] * 2
    assert "mapfile not written: PostgreSQL unreachable" in result.errors[0]
    uploaded = objects(own_stack, baca.prefix())
    # finding 11: the frames after the fault uploaded nothing
    assert set(uploaded) == {baca.key(stage, frames[0].name) for stage in ("georef", "cog")}
    assert index_rows(own_stack, baca.table) == []
    assert not storage.exists(target(own_stack).s3, baca.mapfile_key)

    result = publish.publish_collection(fast_target(own_stack), baca, frames[:1])
    assert [frame.status for frame in result.frames] == ["published"]
    assert objects(own_stack, baca.prefix()) == uploaded  # same objects, not written again
    assert len(index_rows(own_stack, baca.table)) == 1
    assert storage.exists(target(own_stack).s3, baca.mapfile_key)


# --- finding 3: kill -9 mid-upload leaves nothing behind for long -------------------------------

PUBLISHER = """
import json, os, signal, sys
sys.path[:0] = [os.environ["LS4_REPO"], os.path.join(os.environ["LS4_REPO"], "tests")]
import tools  # noqa: F401  (the repository as the package ls4)
from publish_support import target
from ls4.ls4_plugin import settings
from ls4.ls4_plugin.core import keys, publish
from ls4.ls4_plugin.core.feedback import Feedback

class KillMidUpload(Feedback):
    def setProgress(self, percent):  # the georef upload is 54-63 % of a one-frame run
        if os.environ.get("LS4_KILL") and 56 <= percent < 62:
            os.kill(os.getpid(), signal.SIGKILL)

endpoints = json.loads(os.environ["LS4_ENDPOINTS"])
baca = keys.Collection(band="bw", type="frames", agency="USGS", county="Baca", year="1998")
feedback = KillMidUpload()
result = publish.publish_collection(target(endpoints), baca, [sys.argv[1]], feedback=feedback)
print(json.dumps([frame.status for frame in result.frames]))
"""


def run_publisher(endpoints, source, temp, kill):
    env = dict(os.environ, LS4_REPO=str(REPO), LS4_ENDPOINTS=json.dumps(endpoints), TMPDIR=temp)
    env.pop("LS4_KILL", None)
    if kill:
        env["LS4_KILL"] = "1"
    command = [sys.executable, "-c", PUBLISHER, str(source)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def big_frame(tmp_path_factory):
    """A bw frame of 17.6 MB: above the multipart threshold of 16 MiB."""
    path = tmp_path_factory.mktemp("big") / "04-15-14_1-009.tif"
    source = gdal.Open(str(sample_collection.DATA / sample_collection.SOURCES["bw"]))
    gdal.Translate(str(path), source, width=4200, height=4200, creationOptions=["TILED=NO"])
    assert path.stat().st_size > storage.MULTIPART_THRESHOLD
    return path


def run_folders(temp):
    return sorted(path for path in Path(temp).iterdir() if path.name.startswith("ls4-run-"))


def test_kill_9_mid_upload_the_rerun_aborts_the_upload_and_removes_the_temporary_cog(
    own_stack, big_frame, tmp_path
):
    baca = keys.Collection(band="bw", type="frames", agency="USGS", county="Baca", year="1998")
    fresh(own_stack, baca)
    temp = tmp_path / "tmp"
    temp.mkdir()
    killed = run_publisher(own_stack, big_frame, str(temp), kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    georef_key = baca.key("georef", big_frame.name)
    left = storage.incomplete_uploads(target(own_stack).s3, baca.prefix())
    assert [key for key, _id, _when in left] == [georef_key]
    (folder,) = run_folders(temp)
    assert (folder / big_frame.name).stat().st_size > 1_000_000  # the temporary COG
    an_hour_ago = time.time() - 3600  # younger folders are never judged stale
    os.utime(folder, (an_hour_ago, an_hour_ago))
    rerun = run_publisher(own_stack, big_frame, str(temp), kill=False)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout.splitlines()[-1]) == ["published"]
    assert storage.incomplete_uploads(target(own_stack).s3, baca.prefix()) == []
    assert run_folders(temp) == []
    assert storage.exists(target(own_stack).s3, georef_key)


def test_maintenance_finds_stale_uploads_and_run_folders_and_repair_removes_them(
    own_stack, tmp_path
):
    config = target(own_stack).s3
    key = "bw/Baca/USGS_1999/frames/cog/04-15-14_1-001.tif"
    upload = storage.client(config).create_multipart_upload(Bucket=config.bucket, Key=key)
    with workspace.run_folder(str(tmp_path)) as own:  # this run's folder: never stale
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            check=True,
            capture_output=True,
            text=True,
        )
        folder = tmp_path / f"ls4-run-{dead.stdout.strip()}-abc"
        folder.mkdir()
        owner = {"pid": int(dead.stdout), "started": "1", "host": socket.gethostname()}
        (folder / "owner.json").write_text(json.dumps(owner))
        (folder / "04-15-14_1-001.tif").write_bytes(b"x" * 1000)
        an_hour_ago = time.time() - 3600  # younger folders are never judged stale
        os.utime(folder, (an_hour_ago, an_hour_ago))
        report = maintenance.check(fast_target(own_stack), stale_after=0, temp_root=str(tmp_path))
        found = {(f.kind, f.subject) for f in report.findings}
        assert ("incomplete_upload", key) in found
        assert ("stale_temp_folder", str(folder)) in found
        assert not any(subject == own for _kind, subject in found)
        maintenance.repair(fast_target(own_stack), report)
        assert os.path.isdir(own)
    assert not folder.exists()
    assert [k for k, _i, _w in storage.incomplete_uploads(config, key)] == []
    assert upload["UploadId"] not in json.dumps(maintenance.check(fast_target(own_stack)).to_dict())


def test_the_bucket_set_up_adds_the_rule_that_aborts_incomplete_uploads_after_a_day(own_stack):
    config = target(own_stack).s3
    storage.apply_public_policy(config)
    rules = storage.client(config).get_bucket_lifecycle_configuration(Bucket=config.bucket)
    (rule,) = [r for r in rules["Rules"] if r["ID"] == storage.LIFECYCLE_RULE_ID]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


# --- finding 10: the per-frame results survive a failing step and a full disk ----------------


@contextmanager
def full_tmpfs(folder, size="64k", fill=True):
    """A small tmpfs at ``folder``, filled up unless told; unmounted whatever happens."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        with suppress(OSError), open(folder / "filler", "wb") as filler:
            while fill:
                filler.write(b"\0" * 4096)
                filler.flush()
        if not fill:
            (folder / "filler").unlink()
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


class Messages(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.errors = []

    def reportError(self, error, fatal=False):
        self.errors.append(error)
        super().reportError(error, fatal)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@needs_root
def test_a_full_disk_for_the_report_is_a_warning_and_the_publish_stands(
    stack, qgis_app, run_alg, frames, tmp_path
):
    qgis_env.configure(stack)
    # frames dated 04-15-14: of 2014, as STAC (when on) wants
    baca = collection(stack, "2014", county="Washington")
    params = {"COUNTY": "Washington", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "BAND_LAYOUT": 0}
    feedback = Messages()
    with full_tmpfs(tmp_path / "full") as full:
        report = full / "report.json"
        results = run_alg(
            "publishcollection",
            {
                "INPUT": [str(f) for f in frames[:2]],
                **params,
                "REPORT": str(report),
                "LOAD_RESULT": True,
            },
            feedback=feedback,
        )
        assert not report.exists()  # no 0-byte report.json: written whole or not at all
        assert sorted(path.name for path in full.iterdir()) == ["filler"]
    assert [frame["status"] for frame in json.loads(results["FRAMES"])] == ["published"] * 2
    assert results["MAPFILE_KEY"] == baca.mapfile_key
    assert results["STATUS"] == "complete"
    assert QgsProject.instance().mapLayersByName(baca.title)  # postProcessAlgorithm loaded it
    (warning,) = [e for e in feedback.errors if "report" in e]
    assert "No space left on device" in warning and str(full) in warning


def test_when_the_mapfile_step_fails_the_frames_and_the_report_are_still_written(
    stack, qgis_app, run_alg, frames, tmp_path
):
    qgis_env.configure(stack)
    collection(stack, "2014", county="Logan")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the mapfile folder should be")
    settings.set_value("mapserver/map_dir", str(blocker))
    report = tmp_path / "report.json"
    params = {"COUNTY": "Logan", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "BAND_LAYOUT": 0}
    try:
        results = run_alg(
            "publishcollection",
            {"INPUT": [str(f) for f in frames[:2]], **params, "REPORT": str(report)},
        )
    finally:
        settings.set_value("mapserver/map_dir", stack["mapserver"]["map_dir"])
    # qgis_process --json prints the outputs of a run that returns: every frame's status is there
    assert [frame["status"] for frame in json.loads(results["FRAMES"])] == ["published"] * 2
    assert results["STATUS"].startswith("incomplete: mapfile not written: ")
    assert str(blocker) in results["STATUS"]
    written = json.loads(report.read_text())
    assert [frame["status"] for frame in written["frames"]] == ["published"] * 2
    assert [error.split(":")[0] for error in written["errors"]] == ["mapfile not written"]


# --- finding 9: a full disk while writing a COG, through qgis_process ----------------------


@pytest.fixture(scope="module")
def qgis_process_env(tmp_path_factory):
    """qgis_process with a fresh profile whose plugin folder holds this repository as ls4."""
    return publish_support.qgis_process_env(tmp_path_factory.mktemp("qgis_process"))


@needs_root
def test_a_full_disk_while_writing_a_cog_says_so_and_qgis_process_exits_cleanly(
    qgis_process_env, tmp_path
):
    source = tmp_path / "big.tif"
    gdal.Translate(
        str(source), str(sample_collection.DATA / "hro_colorado_rgb.tif"), width=3000, height=3000
    )
    for size in ("100k", "1m"):  # full at the first write, and in the middle of GDAL's writing
        with full_tmpfs(tmp_path / f"full-{size}", size=size, fill=False) as full:
            said = refused_by_qgis_process(
                qgis_process_env, "ls4:makecog", f"INPUT={source}", f"OUTPUT={full / 'out.tif'}"
            )
            assert "No space left on device" in said and f"cannot be written in {full}" in said
            assert "Traceback" not in said
            assert list(full.iterdir()) == []  # output and partial files removed
    leftovers = [p.name for p in Path(qgis_process_env["TMPDIR"]).iterdir() if p.is_dir()]
    assert not [name for name in leftovers if name.startswith(("processing_", "ls4-run-"))]


def test_a_truncated_frame_is_refused_and_qgis_process_exits_cleanly(qgis_process_env, tmp_path):
    """A batch user's view of a refused frame: exit status 1 and the reason, no traceback."""
    whole = (sample_collection.DATA / "hro_colorado_gray.tif").read_bytes()
    truncated = tmp_path / "04-15-14_1-001.tif"
    truncated.write_bytes(whole[: len(whole) // 2])
    said = refused_by_qgis_process(qgis_process_env, "ls4:inspectraster", f"INPUT={truncated}")
    assert f"{truncated}: the file is truncated" in said and "Traceback" not in said


def refused_by_qgis_process(env, algorithm, *parameters):
    """What ``qgis_process run`` says when it refuses: it must exit 1, not crash."""
    done = subprocess.run(
        ["/usr/bin/qgis_process.bin", "run", algorithm, "--", *parameters],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # not a SIGSEGV
    return done.stdout + done.stderr


# --- finding 12: the driver's errors become the core's, naming the database -----------------


@pytest.mark.parametrize(
    "call",
    [
        lambda conn: tileindex.rows(conn, "no_such_table"),
        lambda conn: tileindex.count(conn, "no_such_table"),
        lambda conn: tileindex.extent(conn, "no_such_table"),
        lambda conn: tileindex.has_location(conn, "no_such_table", "/vsis3/b/k.tif"),
        lambda conn: tileindex.delete_rows(conn, "no_such_table", ["/vsis3/b/k.tif"]),
        lambda conn: tileindex.locations(conn, "no_such_table"),
        lambda conn: tileindex.upsert_frame(
            conn, "no_such_table", {"location": "/vsis3/b/k.tif"}, "POLYGON((0 0,1 0,1 1,0 0))"
        ),
    ],
)
def test_a_driver_error_is_the_cores_own_naming_the_database_without_password(stack, call):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        with pytest.raises(Ls4Error) as raised:
            call(conn)
        assert tileindex.table_exists(conn, "pg_class") is False  # the connection still works
    message = str(raised.value)
    assert f"ls4 on 127.0.0.1:{stack['postgres']['port']}" in message
    assert "no_such_table" in message and "does not exist" in message
    assert stack["postgres"]["password"] not in message


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
