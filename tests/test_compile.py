"""The compiled index of all collections on the real stack: GeoJSON, EPSG:4326, public, atomic."""

import json
import os
import urllib.request
from collections import Counter

import pytest
from ops_support import publish_small
from osgeo import ogr
from publish_support import s3_config, target

from ls4.ls4_plugin.core import compiled_index, keys, storage, tileindex
from ls4.ls4_plugin.core.errors import Canceled, Ls4Error
from ls4.ls4_plugin.core.feedback import Feedback
from tools import qgis_env

BROKEN = "yuma_usgs_2014_frames"


@pytest.fixture(scope="module")
def published(stack, qgis_app, tmp_path_factory):
    """Two collections (bw and nc) published on the stack, public read on."""
    qgis_env.configure(stack)
    storage.apply_public_policy(s3_config(stack))
    folder = tmp_path_factory.mktemp("compile")
    prowers = publish_small(stack, "Prowers", 3, folder / "prowers")[0]
    huerfano = publish_small(stack, "Huerfano", 2, folder / "huerfano", band="nc")[0]
    return {prowers.table: prowers, huerfano.table: huerfano}


def footprints_4326(stack, table):
    """{dl_georef: (row, footprint in EPSG:4326 as transformed by PostGIS)} of ``table``."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT dl_orig, dl_georef, dl_index, ST_AsText(ST_Transform(geom, 4326)) FROM {table}"
        )
        return {row[1]: (row[:3], ogr.CreateGeometryFromWkt(row[3])) for row in cur.fetchall()}


def table_counts(stack):
    """{table: rows} of every collection table holding rows (other tests' too)."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tables = compiled_index.collection_tables(conn, Feedback())
        counts = {table: tileindex.count(conn, table) for table in tables}
    return {table: count for table, count in counts.items() if count}


def max_vertex_gap(first, second):
    """The largest coordinate difference between two geometries with the same vertices."""
    a = json.loads(first.ExportToJson())["coordinates"]
    b = json.loads(second.ExportToJson())["coordinates"]
    pairs = list(zip(points(a), points(b), strict=True))
    return max(abs(p - q) for pa, pb in pairs for p, q in zip(pa, pb, strict=True))


def points(coordinates):
    if isinstance(coordinates[0], float):
        return [coordinates]
    return [point for part in coordinates for point in points(part)]


def anonymous_get(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read()


def test_two_collections_compiled_into_one_public_geojson(published, stack, run_alg, tmp_path):
    output = tmp_path / "compiled.geojson"
    results = run_alg("compileindexes", {"OUTPUT": str(output)})
    collection = json.loads(output.read_text())
    assert collection["type"] == "FeatureCollection"
    counts = table_counts(stack)
    per_table = Counter(feature["properties"]["table"] for feature in collection["features"])
    assert per_table == counts
    assert results["FEATURES"] == sum(counts.values()) and results["TABLES"] >= len(counts)
    for table, expected in published.items():
        mine = [f for f in collection["features"] if f["properties"]["table"] == table]
        assert len(mine) == counts[table] == len(footprints_4326(stack, table))
        rows = footprints_4326(stack, table)
        for feature in mine:
            properties = feature["properties"]
            assert properties["collection"] == keys.words(table) == expected.words
            links, footprint = rows[properties["dl_georef"]]
            assert (properties["dl_orig"], properties["dl_georef"], properties["dl_index"]) == links
            geometry = ogr.CreateGeometryFromJson(json.dumps(feature["geometry"]))
            assert max_vertex_gap(geometry, footprint) < 1e-6
            lon, lat = geometry.Centroid().GetPoint_2D()
            assert -106 < lon < -104 and 38 < lat < 41  # Colorado, in degrees
    config = s3_config(stack)
    assert results["URL"] == storage.public_url(config, keys.COMPILED_INDEX_KEY)
    assert anonymous_get(results["URL"]) == output.read_bytes()


def test_qgis_reads_the_compiled_index_as_epsg_4326(published, stack, tmp_path):
    from qgis.core import QgsVectorLayer

    output = tmp_path / "compiled.geojson"
    result = compiled_index.compile_indexes(target(stack), output, upload=False)
    layer = QgsVectorLayer(str(output), "compiled", "ogr")
    assert layer.isValid()
    assert layer.crs().authid() == "EPSG:4326"
    assert layer.featureCount() == result.features == sum(table_counts(stack).values())
    assert result.key == "" and result.url == ""


@pytest.fixture
def previous(published, stack, tmp_path):
    """A complete compiled index, published and kept locally; (path, public bytes, modified)."""
    output = tmp_path / "compiled.geojson"
    compiled_index.compile_indexes(target(stack), output)
    head = storage.client(s3_config(stack)).head_object(
        Bucket=stack["s3"]["bucket"], Key=keys.COMPILED_INDEX_KEY
    )
    return output, output.read_bytes(), head["LastModified"]


def assert_left_in_place(stack, previous):
    output, data, modified = previous
    config = s3_config(stack)
    assert output.read_bytes() == data
    assert storage.get_bytes(config, keys.COMPILED_INDEX_KEY) == data
    head = storage.client(config).head_object(Bucket=config.bucket, Key=keys.COMPILED_INDEX_KEY)
    assert head["LastModified"] == modified
    assert os.listdir(output.parent) == [output.name]  # no partial file


@pytest.fixture
def broken_table(stack):
    """A collection table whose second footprint has no CRS: PostGIS fails on it mid-stream."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {BROKEN}")
        columns = ", ".join(f"{name} text" for name in tileindex.FIELDS)
        cur.execute(f"CREATE TABLE {BROKEN} (id serial PRIMARY KEY, {columns}, geom geometry)")
        square = (
            "POLYGON((-11663500 4715000,-11663400 4715000,-11663400 4715100,-11663500 4715000))"
        )
        cur.execute(
            f"INSERT INTO {BROKEN} (location, geom) VALUES "
            "('/vsis3/ls4/a.tif', ST_GeomFromText(%s, 3857)), "
            "('/vsis3/ls4/b.tif', ST_GeomFromText(%s, 0))",
            (square, square),
        )
        conn.commit()
    yield BROKEN
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.drop_table(conn, BROKEN)


def test_a_table_that_breaks_mid_stream_leaves_the_previous_file_in_place(
    previous, broken_table, stack
):
    with pytest.raises(Ls4Error, match=f"Table {broken_table} cannot be compiled: .*SRID"):
        compiled_index.compile_indexes(target(stack), previous[0])
    assert_left_in_place(stack, previous)


class CancelAfter(Feedback):
    """A user who presses Cancel after a few footprints have been written."""

    def __init__(self, checks):
        super().__init__()
        self.checks = checks

    def isCanceled(self):
        self.checks -= 1
        return self.checks < 0


def test_a_canceled_run_leaves_the_previous_file_in_place(previous, stack):
    feedback = CancelAfter(3)
    with pytest.raises(Canceled):
        compiled_index.compile_indexes(target(stack), previous[0], feedback=feedback)
    assert feedback.checks < 0
    assert_left_in_place(stack, previous)


def child(algorithm_id, child_id, static, outputs):
    """A model child with static parameter values and its outputs as model outputs."""
    from qgis.core import (
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
    )

    step = QgsProcessingModelChildAlgorithm(algorithm_id)
    step.setChildId(child_id)
    for name, value in static.items():
        step.addParameterSources(
            name, [QgsProcessingModelChildParameterSource.fromStaticValue(value)]
        )
    model_outputs = {}
    for name, output_name in outputs.items():
        output = QgsProcessingModelOutput(name, name)
        output.setChildId(child_id)
        output.setChildOutputName(output_name)
        model_outputs[name] = output
    step.setModelOutputs(model_outputs)
    return step


def model_output(model, child_id, name):
    """The model's parameter for its output ``name`` of child ``child_id``: ``child:name`` up to
    QGIS 3.36, ``name`` in models QGIS 3.38+ builds (internal version 2)."""
    for candidate in (f"{child_id}:{name}", name):
        if model.parameterDefinition(candidate) is not None:
            return candidate
    raise AssertionError(f"the model has no parameter for {child_id}:{name}")


def test_maintenance_then_compile_run_as_one_model(published, ls4_provider, tmp_path):
    """The nightly chain as a graphical model: check the estate, then compile the index."""
    import processing
    from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingModelChildDependency

    model = QgsProcessingModelAlgorithm("nightly", "LS4 tests")
    static = {"COLLECTIONS": ",".join(published), "REPAIR": False, "NOTIFY_TOPIC": ""}
    model.addChildAlgorithm(child("ls4:maintenance", "check", static, {"report": "REPORT"}))
    compile_step = child("ls4:compileindexes", "compile", {"UPLOAD": False}, {"index": "OUTPUT"})
    compile_step.setDependencies([QgsProcessingModelChildDependency("check")])
    model.addChildAlgorithm(compile_step)
    report, index = tmp_path / "report.json", tmp_path / "index.geojson"
    report_name, index_name = (
        model_output(model, "check", "report"),
        model_output(model, "compile", "index"),
    )
    results = processing.run(model, {report_name: str(report), index_name: str(index)})
    assert json.loads(report.read_text())["findings"] == []
    tables = {f["properties"]["table"] for f in json.loads(index.read_text())["features"]}
    assert set(published) <= tables
    assert results[index_name] == str(index)
