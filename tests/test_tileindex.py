"""The PostGIS tile index against the real local PostgreSQL of the stack."""

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from masked_rasters import masked_cog
from osgeo import ogr

from ls4.ls4_plugin.core import tileindex
from ls4.ls4_plugin.core.errors import InputError, Ls4Error
from ls4.ls4_plugin.core.footprint import valid_footprint

REPO = Path(__file__).resolve().parents[1]
SQUARE = "POLYGON((0 0,100 0,100 100,0 100,0 0))"
MALICIOUS = ['x"; drop table y; --', "Frames", "1frames", "a b", "x" * 64, "", "ünï"]

pytestmark = pytest.mark.stack


@pytest.fixture
def dsn(stack):
    return stack["postgres"]["dsn"]


@pytest.fixture
def conn(dsn):
    with tileindex.connect(dsn) as connection:
        yield connection


@pytest.fixture
def table(conn):
    name = f"test_index_{uuid.uuid4().hex[:10]}"
    yield name
    tileindex.drop_table(conn, name)


def frame(number, **fields):
    row = {
        "location": f"/vsis3/bucket/nc/Adams/USDA_1950/frames/cog/04-01-50_a-{number}.tif",
        "src_srs": "EPSG:3857",
        "date": "04-01-50",
        "roll": "a",
        "frame_num": str(number),
        "dl_orig": f"http://s3/scanned/04-01-50_a-{number}.tif",
        "dl_georef": f"http://s3/cog/04-01-50_a-{number}.tif",
        "dl_index": "http://s3/index/",
    }
    row.update(fields)
    return row


def square(x, y, size=100):
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def table_names(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        names = {name for (name,) in cur.fetchall()}
    conn.commit()
    return names


def test_table_has_the_index_columns_key_and_spatial_index(conn, table):
    tileindex.ensure_table(conn, table)
    tileindex.ensure_table(conn, table)  # a second time is a no-op
    with conn.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
        indexes = " ".join(row[0] for row in cur.fetchall())
        cur.execute("SELECT type, srid FROM geometry_columns WHERE f_table_name = %s", (table,))
        geometry_column = cur.fetchone()
    conn.commit()
    assert "USING gist (geom)" in indexes
    assert f"UNIQUE INDEX {table}_location_key" in indexes
    assert f"UNIQUE INDEX {table}_pkey" in indexes
    assert geometry_column == ("MULTIPOLYGON", 3857)
    assert table in tileindex.list_tables(conn)
    assert tileindex.count(conn, table) == 0
    assert tileindex.extent(conn, table) is None


def test_upsert_inserts_once_then_unchanged_then_updated(conn, table):
    tileindex.ensure_table(conn, table)
    assert tileindex.upsert_frame(conn, table, frame(1), SQUARE) == "inserted"
    assert tileindex.upsert_frame(conn, table, frame(1), SQUARE) == "unchanged"
    assert tileindex.count(conn, table) == 1
    assert tileindex.upsert_frame(conn, table, frame(1, roll="b"), SQUARE) == "updated"
    assert tileindex.upsert_frame(conn, table, frame(1, roll="b"), square(0, 0, 200)) == "updated"
    assert tileindex.upsert_frame(conn, table, frame(1, roll="b"), square(0, 0, 200)) == "unchanged"
    (row,) = tileindex.rows(conn, table)
    assert row["roll"] == "b"
    assert row["frame_num"] == "1"
    assert row["location"] == frame(1)["location"]
    assert ogr.CreateGeometryFromWkt(row["footprint"]).GetArea() == pytest.approx(200 * 200)
    assert tileindex.has_location(conn, table, frame(1)["location"])
    assert not tileindex.has_location(conn, table, frame(2)["location"])


def test_delete_rows(conn, table):
    tileindex.ensure_table(conn, table)
    for number in range(3):
        tileindex.upsert_frame(conn, table, frame(number), square(number * 100, 0))
    gone = [frame(0)["location"], frame(2)["location"], "/vsis3/bucket/never-there.tif"]
    assert tileindex.delete_rows(conn, table, gone) == 2
    assert [row["location"] for row in tileindex.rows(conn, table)] == [frame(1)["location"]]


def test_extent_is_the_union_of_real_footprints(conn, table, data_dir, tmp_path):
    tileindex.ensure_table(conn, table)
    union = ogr.Geometry(ogr.wkbMultiPolygon)
    for name in ("landsat_rgb_utm18n.tif", "hro_colorado_rgb_nodata.tif"):
        cog = masked_cog(data_dir / name, tmp_path / name)
        wkt, _ = valid_footprint(cog)
        tileindex.upsert_frame(conn, table, frame(name, location=str(cog)), wkt)
        union = union.Union(ogr.CreateGeometryFromWkt(wkt))
    minx, maxx, miny, maxy = union.GetEnvelope()
    assert tileindex.extent(conn, table) == pytest.approx((minx, miny, maxx, maxy), abs=0.01)


def test_bad_footprint_is_refused_and_nothing_written(conn, table):
    tileindex.ensure_table(conn, table)
    with pytest.raises(InputError, match="04-01-50_a-7.tif.*not a valid EPSG:3857 polygon"):
        tileindex.upsert_frame(conn, table, frame(7), "LINESTRING(0 0, 1 1)")
    with pytest.raises(InputError, match="04-01-50_a-7.tif"):
        tileindex.upsert_frame(conn, table, frame(7), "not wkt at all")
    assert tileindex.count(conn, table) == 0
    # The connection is still usable after the failed transactions.
    assert tileindex.upsert_frame(conn, table, frame(7), SQUARE) == "inserted"


def test_unknown_field_and_missing_location_are_refused(conn, table):
    tileindex.ensure_table(conn, table)
    with pytest.raises(InputError, match="unknown field.*colour"):
        tileindex.upsert_frame(conn, table, frame(1, colour="red"), SQUARE)
    with pytest.raises(InputError, match="needs a location"):
        tileindex.upsert_frame(conn, table, frame(1, location=""), SQUARE)
    assert tileindex.count(conn, table) == 0


@pytest.mark.parametrize("name", MALICIOUS)
def test_unsafe_table_name_is_refused_and_nothing_created(conn, name):
    before = table_names(conn)
    calls = [
        lambda: tileindex.ensure_table(conn, name),
        lambda: tileindex.upsert_frame(conn, name, frame(1), SQUARE),
        lambda: tileindex.rows(conn, name),
        lambda: tileindex.extent(conn, name),
        lambda: tileindex.count(conn, name),
        lambda: tileindex.delete_rows(conn, name, ["x"]),
        lambda: tileindex.has_location(conn, name, "x"),
        lambda: tileindex.drop_table(conn, name),
    ]
    for call in calls:
        with pytest.raises(InputError, match="is not usable"):
            call()
    assert table_names(conn) == before


def test_existing_table_that_is_not_an_index_is_refused(conn, table):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id serial primary key, name text)")
    conn.commit()
    with pytest.raises(Ls4Error, match=f"{table} exists but is not an LS4 tile index"):
        tileindex.ensure_table(conn, table)
    assert table not in tileindex.list_tables(conn)


def test_connection_error_names_the_server_but_not_the_password():
    with pytest.raises(Ls4Error) as caught:
        tileindex.connect("host=127.0.0.1 port=1 dbname=ls4 user=ls4 password=hunter2secret")
    assert "hunter2secret" not in str(caught.value)
    assert "port=1" in str(caught.value)


def test_connect_closes_the_connection_on_exit(stack, dsn):
    with tileindex.connect(dsn) as connection:
        assert not connection.closed
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone() == (stack["postgres"]["dbname"],)
    assert connection.closed


WORKER = """
import sys, tools
from ls4.ls4_plugin.core import tileindex
dsn, table, start, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import os, time
while not os.path.exists(go):
    time.sleep(0.01)
results = []
with tileindex.connect(dsn) as conn:
    tileindex.ensure_table(conn, table)
# One connection per frame, as parallel publishing does; frames 1000+ are shared by both.
for number in list(range(start, start + 20)) + list(range(1000, 1005)):
    with tileindex.connect(dsn) as conn:
        location = f"/vsis3/bucket/frame-{number}.tif"
        x = number * 10
        wkt = f"POLYGON(({x} 0,{x + 10} 0,{x + 10} 10,{x} 10,{x} 0))"
        row = {"location": location, "src_srs": "EPSG:3857", "frame_num": str(number)}
        results.append(tileindex.upsert_frame(conn, table, row, wkt))
print(" ".join(results))
"""


def test_two_processes_adding_frames_at_once_lose_nothing(dsn, conn, table, tmp_path):
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, dsn, table, str(start), str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (0, 100)
    ]
    go.touch()
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    results = [word for out, _err in outputs for word in out.split()]
    assert results.count("inserted") == 45
    assert results.count("unchanged") == 5
    rows = tileindex.rows(conn, table)
    locations = [row["location"] for row in rows]
    assert len(rows) == 45 == len(set(locations))
    expected = {f"/vsis3/bucket/frame-{n}.tif" for n in [*range(20), *range(100, 120)]}
    assert expected <= set(locations)


def test_upsert_runs_in_its_own_transaction(dsn, conn, table):
    """A row is visible to another connection as soon as upsert_frame returns."""
    tileindex.ensure_table(conn, table)
    tileindex.upsert_frame(conn, table, frame(3), SQUARE)
    other = psycopg2.connect(dsn)
    try:
        with other.cursor() as cur:
            cur.execute(f"SELECT frame_num FROM {table}")
            assert cur.fetchall() == [("3",)]
    finally:
        other.close()


def holds_derived_lock(conn, table):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = hashtext(%s)::oid AND granted",
            (tileindex.DERIVED_LOCK_CLASS, table),
        )
        held = cur.fetchone()[0] > 0
    conn.commit()
    return held


def test_derived_lock_is_held_for_the_block_and_released_after_an_error(dsn, conn, table):
    with tileindex.connect(dsn) as holder:
        with pytest.raises(RuntimeError, match="inside"), tileindex.derived_lock(holder, table):
            assert holds_derived_lock(conn, table)
            raise RuntimeError("inside")
        assert not holds_derived_lock(conn, table)


def test_a_lost_connection_does_not_hide_the_error_inside_the_lock(dsn, conn, table):
    with (
        pytest.raises(RuntimeError, match="inside"),
        tileindex.connect(dsn) as holder,
        tileindex.derived_lock(holder, table),
    ):
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (holder.get_backend_pid(),))
        conn.commit()
        raise RuntimeError("inside")
    assert not holds_derived_lock(conn, table)


def test_row_geojson_is_the_footprint_in_4326_and_the_fields_or_none(conn, table):
    tileindex.ensure_table(conn, table)
    tileindex.upsert_frame(conn, table, frame(5), square(0, 0, 1000))
    geometry, fields = tileindex.row_geojson(conn, table, frame(5)["location"])
    assert geometry["type"] == "MultiPolygon"  # the column's type
    xs = [x for x, _y in geometry["coordinates"][0][0]]
    assert max(xs) == pytest.approx(1000 / 6378137.0 * 180 / 3.141592653589793, rel=1e-6)
    expected = {k: v for k, v in frame(5).items() if k not in ("location", "src_srs")}
    assert fields == expected
    assert tileindex.row_geojson(conn, table, frame(6)["location"]) is None
