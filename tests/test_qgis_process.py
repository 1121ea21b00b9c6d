"""Publishing through ``qgis_process``, as a batch user runs it: a fresh profile whose LS4
settings point at the stack, the shipped (Texas) county list, frames in a folder of their own.

Issue 13 item 14 (no ``.aux.xml`` left beside the inputs), the county list in a batch (issue 17
item 2), and what a batch user gets with ``--json`` when no frame was published.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from osgeo import gdal
from publish_support import QGIS_PROCESS, fresh, index_rows, objects, qgis_process_env, target
from test_sidecars import config_options, strip_georeferencing, vsis3_options

from ls4.ls4_plugin.core import keys, publish
from tools import sample_collection

REPO = Path(__file__).resolve().parents[1]

# Writes the stack's endpoints into the LS4 settings of the profile qgis_process will use (the
# same code as the demo's and the other tests', tools/qgis_env.configure), then the shipped list.
CONFIGURE = """
import json, sys
from qgis.PyQt.QtCore import QCoreApplication, QSettings
profile, endpoints = sys.argv[1], json.loads(sys.argv[2])
QCoreApplication.setOrganizationName("QGIS")
QCoreApplication.setApplicationName("QGIS3")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, profile)
from qgis.core import QgsApplication
app = QgsApplication([], False, profile)
app.initQgis()
from tools import qgis_env
from ls4.ls4_plugin import settings
qgis_env.configure(endpoints)
settings.set_value("keys/county_list", "")
QSettings().sync()
app.exitQgis()
"""


@pytest.fixture(scope="module")
def batch(stack, tmp_path_factory):
    """The environment of a qgis_process run: a fresh profile with LS4 enabled and set up."""

    def configure(env, profile):
        env["QGIS_AUTH_PASSWORD_FILE"] = str(profile / "ls4-dev-master-password")
        done = subprocess.run(
            [sys.executable, "-c", CONFIGURE, str(profile), json.dumps(stack)],
            env={**env, "PYTHONPATH": os.pathsep.join([str(REPO), env["PYTHONPATH"]])},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

    return qgis_process_env(tmp_path_factory.mktemp("batch"), configure)


def qgis_process(env, algorithm, *arguments, json_output=True):
    command = [QGIS_PROCESS, *(["--json"] if json_output else []), "run", algorithm, "--"]
    return subprocess.run(
        [*command, *arguments], env=env, capture_output=True, text=True, timeout=300
    )


def listing(folder):
    """{name: bytes} of every file in ``folder``."""
    return {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir())}


def frames_of(county, year="2014"):  # the sample frames are dated 04-15-14
    return keys.Collection(band="bw", type="frames", agency="USGS", county=county, year=year)


def fields(county, year):
    return [f"COUNTY={county}", "AGENCY=USGS", f"YEAR={year}", "TYPE=0", "BAND_LAYOUT=1"]


def test_qgis_process_leaves_no_aux_xml_beside_the_frames_and_reads_the_ones_there(
    stack, batch, tmp_path
):
    """A plain frame and a frame georeferenced by its .aux.xml: inspected, then published in
    lowercase ("mclennan"), through qgis_process. The folder is byte for byte as it was (no new
    .aux.xml, the georeferencing one untouched), and both frames are published under the list's
    spelling, the .aux.xml one with its georeferencing."""
    plain, other = sample_collection.cut_frames("bw", tmp_path, count=2)[:2]
    folder = tmp_path / "frames"
    folder.mkdir()
    plain = Path(plain).rename(folder / Path(plain).name)
    by_aux, transform, srs = strip_georeferencing(Path(other), folder, "aux.xml")
    before = listing(folder)
    assert sorted(before) == sorted([plain.name, by_aux.name, f"{by_aux.name}.aux.xml"])
    collection = fresh(stack, frames_of("McLennan"))

    for frame in (plain, by_aux):
        done = qgis_process(batch, "ls4:inspectraster", f"INPUT={frame}")
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)["results"]["GEOREFERENCING"] == "geotransform"
    assert listing(folder) == before

    done = qgis_process(
        batch,
        "ls4:publishcollection",
        f"INPUT={plain}",
        f"INPUT={by_aux}",
        *fields("mclennan", "2014"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)["results"]
    assert [f["status"] for f in json.loads(results["FRAMES"])] == ["published"] * 2
    assert results["COLLECTION"] == "mclennan_usgs_2014_frames"
    assert listing(folder) == before  # nothing written beside the inputs
    assert sorted(objects(stack, "bw/McLennan/USGS_2014/frames/cog/")) == [
        collection.key("cog", name) for name in sorted([plain.name, by_aux.name])
    ]
    assert len(index_rows(stack, collection.table)) == 2
    with config_options(vsis3_options(stack)):
        georef = gdal.Open(
            f"/vsis3/{stack['s3']['bucket']}/{collection.key('georef', by_aux.name)}"
        )
        assert georef.GetGeoTransform() == pytest.approx(transform)
        assert georef.GetSpatialRef().IsSame(srs)
        georef = None
    fresh(stack, collection)


def test_qgis_process_refuses_a_county_off_the_list_before_any_upload(stack, batch, tmp_path):
    (frame,) = sample_collection.cut_frames("bw", tmp_path, count=1)
    done = qgis_process(batch, "ls4:publishcollection", f"INPUT={frame}", *fields("Travs", "1950"))
    assert done.returncode == 1
    assert "'Travs' is not in the county list of Texas: did you mean Travis?" in done.stderr
    assert objects(stack, "bw/Travs/") == {}
    assert index_rows(stack, "travs_usgs_1950_frames") == []


def test_the_estate_published_before_the_list_keeps_its_spelling(stack, batch, tmp_path):
    """Collections published before the list: "Mclennan" (capitalised by rule), and a county the
    list does not hold. Typed again in a batch, their frames join them (one prefix each)."""
    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    legacy = [
        keys.Collection(band="bw", type="frames", agency="USGS", county=county, year="2013")
        for county in ("Mclennan", "Travs")
    ]
    for collection in legacy:
        fresh(stack, collection)
        result = publish.publish_collection(target(stack), collection, frames[:1])
        assert [frame.status for frame in result.frames] == ["published"]
    for collection, typed in zip(legacy, ("McLennan", "travs"), strict=True):
        done = qgis_process(
            batch, "ls4:publishcollection", f"INPUT={frames[1]}", *fields(typed, "2013")
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert sorted(objects(stack, collection.prefix("cog"))) == [
            collection.key("cog", Path(frame).name) for frame in frames
        ]
        assert len(index_rows(stack, collection.table)) == 2
        fresh(stack, collection)


def truncated(frame, folder):
    """A copy of ``frame`` cut to a third: a frame GDAL refuses ("truncated")."""
    data = Path(frame).read_bytes()
    out = Path(folder) / Path(frame).name
    out.write_bytes(data[: len(data) // 3])
    return out


def test_qgis_process_json_carries_every_frames_status_or_the_error_names_each_frame(
    stack, batch, tmp_path
):
    """qgis_process prints its JSON only for a run that succeeds (3.22, 3.40 and 3.44 alike; with
    --json the log is not printed either). A run that published a frame returns: FRAMES in the
    JSON has every frame, the failed one too. A run that published none fails (exit status 1):
    its error, on stderr, names every frame with its status, and REPORT holds them."""
    good, bad_one, bad_two = sample_collection.cut_frames("bw", tmp_path, count=3)
    broken = tmp_path / "broken"
    broken.mkdir()
    bad_one, bad_two = truncated(bad_one, broken), truncated(bad_two, broken)
    collection = fresh(stack, frames_of("Bosque"))
    report = tmp_path / "report.json"

    done = qgis_process(
        batch,
        "ls4:publishcollection",
        f"INPUT={good}",
        f"INPUT={bad_one}",
        *fields("bosque", "2014"),
        f"REPORT={report}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)["results"]
    statuses = {f["source"]: f["status"] for f in json.loads(results["FRAMES"])}
    assert statuses == {str(good): "published", str(bad_one): "failed"}
    assert results["STATUS"] == "incomplete: 1 of 2 frames not published"

    report.unlink()
    done = qgis_process(
        batch,
        "ls4:publishcollection",
        f"INPUT={bad_one}",
        f"INPUT={bad_two}",
        *fields("bosque", "2014"),
        f"REPORT={report}",
    )
    assert done.returncode == 1
    said = done.stderr
    assert f"No frame was published (2 frames; every frame's status is in {report}): " in said
    for frame in (bad_one, bad_two):
        assert f"{frame}: failed: " in said and "truncated" in said.split(f"{frame}: failed: ")[1]
    assert "Traceback" not in said
    written = json.loads(report.read_text())
    assert [(f["source"], f["status"]) for f in written["frames"]] == [
        (str(bad_one), "failed"),
        (str(bad_two), "failed"),
    ]
    fresh(stack, collection)
