"""Maintenance on a deliberately inconsistent estate of real collections on the real stack.

The stack is shared by the whole session, so the runs are scoped to this module's collections
(and its stray ``notes.txt``): the findings must be exactly the problems planted here.
"""

import csv
import json

import pytest
from ops_support import (
    bucket_state,
    database_state,
    drop,
    frames_collection,
    publish_small,
    s3_client,
)
from osgeo import ogr
from publish_support import fresh, index_rows, target
from wms_client import wms

from ls4.ls4_plugin.core import maintenance, mapfile, storage, tileindex
from ls4.ls4_plugin.core.errors import Canceled
from ls4.ls4_plugin.core.feedback import Feedback
from tools import qgis_env

FRAMES = {"Otero": 3, "Kiowa": 2, "Crowley": 1, "Bent": 1, "Cheyenne": 1, "Sedgwick": 1}
SCOPE = ",".join(f"{county.lower()}_*" for county in FRAMES) + ",rio_blanco_*,notes.txt"
STRAY = "mapfiles/notes.txt"
FRAME = "04-15-14_1-{:03d}.tif"


@pytest.fixture(scope="module")
def estate(stack, qgis_app, tmp_path_factory):
    """Seven small published collections, then the planted problems; returns what to expect."""
    qgis_env.configure(stack)
    folder = tmp_path_factory.mktemp("estate")
    made = {
        county: publish_small(stack, county, count, folder / county)[0]
        for county, count in FRAMES.items()
    }
    return plant(stack, made)


def plant(stack, made):
    config = target(stack).s3
    bucket = config.bucket
    otero, kiowa = made["Otero"], made["Kiowa"]
    storage.put_bytes(config, STRAY, b"remember to re-scan roll 7")
    # a row whose COG was deleted, a frame without its scan, a COG never indexed
    storage.delete_keys(config, [otero.key("cog", FRAME.format(2))])
    storage.delete_keys(config, [otero.key("scanned", FRAME.format(3))])
    orphan = otero.key("cog", FRAME.format(9))
    s3_client(stack).copy_object(
        Bucket=bucket,
        Key=orphan,
        CopySource={"Bucket": bucket, "Key": otero.key("cog", FRAME.format(4))},
    )
    drop(stack, kiowa.table)  # its mapfile now has no table and its COGs no row
    storage.delete_keys(config, [made["Crowley"].mapfile_key])  # a table with no mapfile
    bent_text = storage.get_bytes(config, made["Bent"].mapfile_key)
    storage.put_bytes(config, made["Cheyenne"].mapfile_key, bent_text)  # reads bent's table
    storage.put_bytes(config, made["Sedgwick"].mapfile_key, b"MAP\n  NAME broken\n  LAYER\n")
    # a mapfile of a collection with nothing left: no table, no COG
    rio_blanco = fresh(stack, frames_collection("Rio Blanco"))
    storage.put_bytes(config, rio_blanco.mapfile_key, bent_text)
    expected = {
        (maintenance.STRAY_OBJECT, STRAY),
        (maintenance.ROW_WITHOUT_COG, f"/vsis3/{bucket}/{otero.key('cog', FRAME.format(2))}"),
        (maintenance.SCAN_MISSING, otero.key("georef", FRAME.format(3))),
        (maintenance.COG_NOT_INDEXED, orphan),
        (maintenance.MAPFILE_WITHOUT_TABLE, kiowa.mapfile_key),
        (maintenance.COG_NOT_INDEXED, kiowa.key("cog", FRAME.format(2))),
        (maintenance.COG_NOT_INDEXED, kiowa.key("cog", FRAME.format(3))),
        (maintenance.TABLE_WITHOUT_MAPFILE, made["Crowley"].table),
        (maintenance.MAPFILE_WRONG_TABLE, made["Cheyenne"].mapfile_key),
        (maintenance.MAPFILE_INVALID, made["Sedgwick"].mapfile_key),
        (maintenance.MAPFILE_WITHOUT_TABLE, rio_blanco.mapfile_key),
    }
    return {"collections": made, "rio_blanco": rio_blanco, "expected": expected}


def run_maintenance(run_alg, tmp_path, repair, name):
    results = run_alg(
        "maintenance",
        {
            "COLLECTIONS": SCOPE,
            "REPAIR": repair,
            "NOTIFY_TOPIC": "",
            "OUTPUT": str(tmp_path / f"{name}.csv"),
            "REPORT": str(tmp_path / f"{name}.json"),
        },
    )
    with open(results["OUTPUT"], newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    with open(results["REPORT"], encoding="utf-8") as handle:
        report = json.load(handle)
    return results, table, report


def found(table):
    return {(row["kind"], row["subject"]) for row in table}


def test_dry_run_reports_exactly_the_planted_problems_and_changes_nothing(
    estate, stack, run_alg, tmp_path
):
    bucket_before, tables_before = bucket_state(stack), database_state(stack)
    results, table, report = run_maintenance(run_alg, tmp_path, False, "dry")
    assert found(table) == estate["expected"]
    assert len(table) == len(estate["expected"]) == results["FINDINGS"]
    assert {(f["kind"], f["subject"]) for f in report["findings"]} == estate["expected"]
    assert report["repaired"] is False and report["repairs"] == []
    assert all(row["repaired"] == "" for row in table)
    assert bucket_state(stack) == bucket_before
    assert database_state(stack) == tables_before


def test_repair_fixes_them_and_a_second_dry_run_reports_only_the_missing_scan(
    estate, stack, run_alg, tmp_path
):
    made, config = estate["collections"], target(stack).s3
    bent_before = (
        index_rows(stack, made["Bent"].table),
        bucket_state(stack)[made["Bent"].mapfile_key],
    )
    results, table, report = run_maintenance(run_alg, tmp_path, True, "repair")
    assert found(table) == estate["expected"]
    outcome = {row["subject"]: row["repaired"] for row in table}
    assert outcome[STRAY] == "deleted"
    assert outcome[estate["rio_blanco"].mapfile_key].startswith("deleted")
    assert outcome[made["Otero"].key("georef", FRAME.format(3))].startswith("not repairable")
    assert not any(text.startswith("failed") or not text for text in outcome.values())
    assert results["REPAIRED"] == len(report["repairs"]) == sum(r["ok"] for r in report["repairs"])
    check_repaired_state(stack, made, estate["rio_blanco"], config)
    assert (
        index_rows(stack, made["Bent"].table),
        bucket_state(stack)[made["Bent"].mapfile_key],
    ) == bent_before

    _results, table, _report = run_maintenance(run_alg, tmp_path, False, "second")
    scan_key = made["Otero"].key("georef", FRAME.format(3))
    assert found(table) == {(maintenance.SCAN_MISSING, scan_key)}
    # the one thing software cannot fix: the scan is uploaded, and then all is consistent
    storage.put_bytes(config, made["Otero"].key("scanned", FRAME.format(3)), b"the scan")
    _results, table, _report = run_maintenance(run_alg, tmp_path, False, "third")
    assert table == []


def check_repaired_state(stack, made, rio_blanco, config):
    assert not storage.exists(config, STRAY)
    assert not storage.exists(config, rio_blanco.mapfile_key)
    otero = {
        row["location"].rsplit("/", 1)[1]: row for row in index_rows(stack, made["Otero"].table)
    }
    assert sorted(otero) == [FRAME.format(n) for n in (3, 4, 9)]
    same = ogr.CreateGeometryFromWkt(otero[FRAME.format(9)]["footprint"])
    assert same.Equals(ogr.CreateGeometryFromWkt(otero[FRAME.format(4)]["footprint"]))
    assert otero[FRAME.format(9)]["dl_georef"] == storage.public_url(
        config, made["Otero"].key("cog", FRAME.format(9))
    )
    kiowa = made["Kiowa"]
    assert len(index_rows(stack, kiowa.table)) == 2
    for county in ("Otero", "Kiowa", "Crowley", "Cheyenne", "Sedgwick"):
        collection = made[county]
        mapdict = mapfile.parse(storage.get_bytes(config, collection.mapfile_key).decode())
        assert mapfile.validate(mapdict) == []
        assert mapfile.index_table(mapdict) == collection.table
    _content_type, body = wms(target(stack).wms_url(kiowa), REQUEST="GetCapabilities")
    assert b"<Name>kiowa_usgs_2014_frames</Name>" in body, body[:500]


def test_repair_keeps_a_row_whose_cog_came_back(estate, stack):
    """A repair re-checks its finding: a COG uploaded again since the check keeps its row."""
    otero = estate["collections"]["Otero"]
    config = target(stack).s3
    key = otero.key("cog", FRAME.format(4))
    location = storage.vsis3_path(config, key)
    report = maintenance.Report(bucket=config.bucket, database="")
    report.findings.append(
        maintenance.Finding(maintenance.ROW_WITHOUT_COG, location, "planted", otero.table)
    )
    maintenance.repair(target(stack), report)
    assert report.findings[0].repaired == "kept: the COG is there again"
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        assert tileindex.has_location(conn, otero.table, location)


def test_a_canceled_check_stops(estate, stack):
    feedback = Feedback()
    feedback.cancel()
    with pytest.raises(Canceled):
        maintenance.check(target(stack), SCOPE.split(","), feedback)


def test_scope_leaves_other_collections_out(estate, stack):
    report = maintenance.check(target(stack), ["bent_*"])
    assert report.findings == []
    assert report.checked["tables"] == 1 and report.checked["rows"] == 1
    assert report.checked["COGs"] == 1 and report.checked["mapfiles"] == 1
