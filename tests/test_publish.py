"""Publishing a collection end to end on the real stack: S3, PostGIS, MapServer over HTTP, QGIS."""

import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import mappyfile
import numpy as np
import pytest
from osgeo import gdal, ogr
from publish_support import fresh, index_rows, objects, target
from wms_client import get_map, image_array, psnr, wms

from ls4.ls4_plugin.core import keys, mapfile, publish, storage
from tools import qgis_env, sample_collection

COUNTY, AGENCY, YEAR = "Adams", "USGS", "2014"
COLLECTION = keys.Collection(band="nc", type="frames", agency=AGENCY, county=COUNTY, year=YEAR)
LANDSAT = "landsat_rgb_utm18n.tif"
PARAMS = {"COUNTY": COUNTY, "AGENCY": AGENCY, "YEAR": YEAR, "TYPE": 0, "BAND_LAYOUT": 0}


@pytest.fixture(scope="module")
def configured(stack, qgis_app):
    """LS4 settings of the test profile pointing at the stack, and the public-read policy."""
    qgis_env.configure(stack)
    storage.apply_public_policy(target(stack).s3)
    fresh(stack, COLLECTION)
    return stack


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Four overlapping nc frames cut from the Landsat sample, whose NoData collar is wide."""
    folder = tmp_path_factory.mktemp("frames")
    return sample_collection.cut_frames("nc", folder, count=4, source_name=LANDSAT)


@pytest.fixture(scope="module")
def published(configured, frames, tmp_path_factory):
    """The four nc frames published through ls4:publishcollection, their scans uploaded first."""
    import processing
    from conftest import ensure_provider

    ensure_provider()
    scans = processing.run(
        "ls4:uploadtos3", {"INPUT": [str(f) for f in frames], "STAGE": 0, **PARAMS}
    )
    results = processing.run("ls4:publishcollection", {"INPUT": [str(f) for f in frames], **PARAMS})
    cogs = tmp_path_factory.mktemp("cogs")
    for frame in frames:
        data = storage.get_bytes(target(configured).s3, COLLECTION.key("cog", frame.name))
        (cogs / frame.name).write_bytes(data)
    return {"results": results, "scans": scans, "cogs": sorted(cogs.glob("*.tif"))}


def test_objects_are_at_exactly_the_right_keys(published, configured, frames):
    names = [frame.name for frame in frames]
    expected = {
        f"nc/Adams/USGS_2014/frames/{stage}/{name}"
        for stage in ("scanned", "georef", "cog")
        for name in names
    }
    expected.add("mapfiles/adams_usgs_2014_frames.map")
    found = set(objects(configured, "nc/Adams/")) | set(objects(configured, "mapfiles/adams"))
    assert found == expected
    assert published["results"]["MAPFILE_KEY"] == "mapfiles/adams_usgs_2014_frames.map"
    assert published["results"]["COLLECTION"] == "adams_usgs_2014_frames"
    assert published["results"]["TABLE"] == "adams_usgs_2014_frames"


def anonymous_get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_public_stages_are_readable_anonymously_and_the_rest_is_not(published, configured):
    config = target(configured).s3
    cog_key = COLLECTION.key("cog", "04-15-14_1-002.tif")
    status, body = anonymous_get(storage.public_url(config, cog_key))
    assert status == 200
    assert body == storage.get_bytes(config, cog_key)
    status, _ = anonymous_get(storage.public_url(config, COLLECTION.mapfile_key))
    assert status == 403


def test_one_row_per_frame_with_the_guide_fields(published, configured, frames):
    rows = {row["location"]: row for row in index_rows(configured, COLLECTION.table)}
    config = target(configured).s3
    assert len(rows) == 4
    for frame in frames:
        cog_key = COLLECTION.key("cog", frame.name)
        row = rows[f"/vsis3/ls4/{cog_key}"]
        assert row["src_srs"] == "EPSG:3857"
        assert (row["date"], row["roll"]) == ("04-15-14", "1")
        assert row["frame_num"] == frame.stem.split("-")[-1]
        assert row["dl_orig"] == storage.public_url(config, COLLECTION.key("scanned", frame.name))
        assert row["dl_georef"] == storage.public_url(config, cog_key)
        # the collection's tile index as a GeoPackage (issue 11; tests/test_service.py)
        assert row["dl_index"] == storage.public_url(
            config, "tileindex/adams_usgs_2014_frames.gpkg"
        )


def valid_outline_area(path):
    """Area of the valid pixels of a COG, counted from its mask at full resolution."""
    dataset = gdal.Open(str(path))
    mask = dataset.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0
    transform = dataset.GetGeoTransform()
    return np.count_nonzero(mask) * abs(transform[1] * transform[5])


def test_footprints_match_the_valid_pixels_of_each_cog(published, configured):
    rows = {
        row["location"].rsplit("/", 1)[1]: row for row in index_rows(configured, COLLECTION.table)
    }
    for cog in published["cogs"]:
        footprint = ogr.CreateGeometryFromWkt(rows[cog.name]["footprint"])
        expected = valid_outline_area(cog)
        assert abs(footprint.GetArea() - expected) / expected < 0.02, cog.name


def test_mapfile_is_valid_and_carries_no_secret(published, configured):
    text = storage.get_bytes(target(configured).s3, COLLECTION.mapfile_key).decode()
    assert mapfile.validate(mappyfile.loads(text)) == []
    for secret in (
        configured["postgres"]["password"],
        configured["s3"]["secret_key"],
        configured["s3"]["access_key"],
    ):
        assert secret not in text
    served = Path(configured["mapserver"]["map_dir"], f"{COLLECTION.name}.map").read_text()
    assert served == text


def wms_url(stack):
    return stack["mapserver"]["wms_url_template"].format(collection=COLLECTION.name)


def collection_extent(stack):
    with publish.tileindex.connect(stack["postgres"]["dsn"]) as conn:
        return publish.tileindex.extent(conn, COLLECTION.table)


def test_capabilities_list_the_layer_with_the_collection_extent(published, configured):
    content_type, body = wms(wms_url(configured), REQUEST="GetCapabilities")
    assert content_type == "text/xml", body[:300]
    ns = {"wms": "http://www.opengis.net/wms"}
    layers = {
        layer.findtext("wms:Name", namespaces=ns): layer
        for layer in ET.fromstring(body).iter("{http://www.opengis.net/wms}Layer")
    }
    layer = layers[COLLECTION.name]
    # in degrees, latitude first: MapServer 8.0 would round an EPSG:3857 box to 6 digits
    box = next(b for b in layer.findall("wms:BoundingBox", ns) if b.get("CRS") == "EPSG:4326")
    south, west, north, east = (float(box.get(name)) for name in ("minx", "miny", "maxx", "maxy"))
    expected = mapfile.geographic_extent(collection_extent(configured))
    assert [west, south, east, north] == pytest.approx(expected, abs=1e-6)


def frame_window(cog, share=0.6):
    """The left ``share`` of a COG's own pixel grid: (bbox, width, height), frame 002 alone."""
    dataset = gdal.Open(str(cog))
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    width, height = int(dataset.RasterXSize * share), dataset.RasterYSize
    return (x0, y0 + dy * height, x0 + dx * width, y0), width, height


def cog_read(cog, width, height):
    """The COG's first ``width`` columns read with GDAL, its mask as the fourth band."""
    dataset = gdal.Open(str(cog))
    bands = [dataset.GetRasterBand(b).ReadAsArray(0, 0, width, height) for b in (1, 2, 3)]
    mask = dataset.GetRasterBand(1).GetMaskBand().ReadAsArray(0, 0, width, height)
    return np.stack(bands + [mask]).astype(float)


def test_getmap_matches_the_cogs_with_a_transparent_collar(published, configured):
    first = published["cogs"][0]
    bbox, width, height = frame_window(first)
    served = get_map(wms_url(configured), COLLECTION.name, bbox, width, height)
    reference = cog_read(first, width, height)
    # pixels on the edge of a footprint may fall either way: compare those a pixel away from it
    inside = eroded(reference[3] == 255)
    outside = eroded(reference[3] == 0)
    assert outside.sum() > 0.1 * outside.size, "the Landsat collar should cover part of the map"
    assert psnr(served[:3], reference[:3], inside) >= 30
    assert np.all(served[3][outside] == 0)
    assert np.all(served[3][inside] == 255)


def eroded(mask):
    """``mask`` without the pixels that have a neighbour outside it."""
    kept = mask.copy()
    kept[1:, :] &= mask[:-1, :]
    kept[:-1, :] &= mask[1:, :]
    kept[:, 1:] &= mask[:, :-1]
    kept[:, :-1] &= mask[:, 1:]
    return kept


def test_getfeatureinfo_on_the_index_layer_returns_the_frame_fields(published, configured):
    rows = {row["frame_num"]: row for row in index_rows(configured, COLLECTION.table)}
    only_first = ogr.CreateGeometryFromWkt(rows["002"]["footprint"]).Difference(
        ogr.CreateGeometryFromWkt(rows["003"]["footprint"])
    )
    point = only_first.PointOnSurface()
    half = 500.0  # metres around the point: a 101 × 101 map, the point in its middle
    bbox = (point.GetX() - half, point.GetY() - half, point.GetX() + half, point.GetY() + half)
    content_type, body = wms(
        wms_url(configured),
        REQUEST="GetFeatureInfo",
        LAYERS=COLLECTION.index_layer,
        QUERY_LAYERS=COLLECTION.index_layer,
        STYLES="",
        CRS="EPSG:3857",
        BBOX=",".join(map(str, bbox)),
        WIDTH=101,
        HEIGHT=101,
        I=50,
        J=50,
        INFO_FORMAT="application/vnd.ogc.gml",
        FEATURE_COUNT=10,
    )
    text = body.decode()
    assert f"/vsis3/ls4/{COLLECTION.key('cog', '04-15-14_1-002.tif')}" in text
    assert "<date>04-15-14</date>" in text and "<frame_num>002</frame_num>" in text
    assert "<frame_num>003</frame_num>" not in text


def test_loadwms_adds_a_valid_layer_that_renders_as_the_getmap(published, configured, run_alg):
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsProject,
        QgsRectangle,
    )
    from qgis.PyQt.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from qgis.PyQt.QtGui import QColor

    results = run_alg("loadwms", {"COLLECTION": COLLECTION.name})
    layer = QgsProject.instance().mapLayer(results["LAYER_ID"])
    assert layer is not None and layer.isValid()
    # inside the layer's advertised extent, else QGIS asks for the clipped part only
    minx, miny, maxx, maxy = collection_extent(configured)
    dx, dy = (maxx - minx) / 10, (maxy - miny) / 10
    extent = (minx + dx, miny + dy, maxx - dx, maxy - dy)
    width, height = 300, round(300 * (extent[3] - extent[1]) / (extent[2] - extent[0]))
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(QgsRectangle(*extent))
    settings.setOutputSize(QSize(width, height))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    job.renderedImage().save(buffer, "PNG")
    rendered = image_array(bytes(data))
    served = get_map(wms_url(configured), COLLECTION.name, extent, width, height)
    assert rendered.shape == served.shape
    opaque = (served[3] == 255) & (rendered[3] == 255)
    assert opaque.mean() > 0.5
    assert np.array_equal(rendered[3], served[3])
    assert psnr(rendered[:3], served[:3], opaque) >= 40
    QgsProject.instance().removeMapLayer(layer.id())


def test_publishing_again_changes_nothing(published, configured, frames, run_alg):
    before_objects = objects(configured, "nc/Adams/") | objects(configured, "mapfiles/")
    before_rows = index_rows(configured, COLLECTION.table)
    mapfile_before = storage.get_bytes(target(configured).s3, COLLECTION.mapfile_key)
    results = run_alg("publishcollection", {"INPUT": [str(f) for f in frames], **PARAMS})
    frame_status = {frame["status"] for frame in json.loads(results["FRAMES"])}
    assert frame_status == {"unchanged"}
    after = objects(configured, "nc/Adams/") | objects(configured, "mapfiles/")
    assert {k: v for k, v in after.items() if not k.startswith("mapfiles/")} == {
        k: v for k, v in before_objects.items() if not k.startswith("mapfiles/")
    }
    assert index_rows(configured, COLLECTION.table) == before_rows
    assert storage.get_bytes(target(configured).s3, COLLECTION.mapfile_key) == mapfile_before
