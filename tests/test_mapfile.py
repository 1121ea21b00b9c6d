"""Mapfiles: built as data, validated, free of secrets, and served by the real MapServer."""

import shutil
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import mappyfile
import numpy as np
import pytest
import wms_client
from masked_rasters import bbox, mask_array, masked_cog
from osgeo import gdal, osr
from wms_client import psnr, wms

from ls4.ls4_plugin.core import mapfile, tileindex
from ls4.ls4_plugin.core.errors import InputError, Ls4Error
from ls4.ls4_plugin.core.footprint import valid_footprint

EXTENT = (-11663534.2, 4714950.1, -11663400.0, 4715050.9)
WMS_URL = "http://127.0.0.1:8080/wms/adams_usda_1950_frames"
WMS = "{http://www.opengis.net/wms}"


def build(**changes):
    arguments = {
        "collection": "adams_usda_1950_frames",
        "title": "Adams County USDA 1950 frames",
        "table": "adams_usda_1950_frames",
        "extent": EXTENT,
        "wms_url": WMS_URL,
    }
    arguments.update(changes)
    return mapfile.build_mapfile(**arguments)


def layer(mapdict, name):
    (found,) = [item for item in mapdict["layers"] if item["name"] == name]
    return found


def test_mapfile_follows_the_guide():
    mapdict = build()
    assert mapfile.validate(mapdict) == []
    names = [item["name"] for item in mapdict["layers"]]
    assert names == ["adams_usda_1950_frames", "adams_usda_1950_frames_index"]
    assert mapdict["name"] not in names
    raster = layer(mapdict, "adams_usda_1950_frames")
    assert raster["type"] == "RASTER"
    assert raster["tileindex"] == "adams_usda_1950_frames_index"
    assert (raster["tileitem"], raster["tilesrs"]) == ("location", "src_srs")
    index = layer(mapdict, "adams_usda_1950_frames_index")
    assert index["connectiontype"] == "POSTGIS"
    # the service name, and MapServer's bounded waits on PostgreSQL
    assert index["connection"] == (
        "service=ls4 connect_timeout=5 options='-c statement_timeout=30000'"
    )
    assert index["data"] == ("geom from adams_usda_1950_frames using unique id using srid=3857")
    assert raster["extent"] == index["extent"] == list(EXTENT)
    # the map is in degrees so that MapServer prints its BoundingBox with 6 decimals
    assert mapdict["extent"] == pytest.approx(mapfile.geographic_extent(EXTENT), abs=1e-12)
    metadata = mapdict["web"]["metadata"]
    assert metadata["wms_title"] == "Adams County USDA 1950 frames"
    assert metadata["wms_onlineresource"] == WMS_URL + "?"
    assert {"EPSG:3857", "EPSG:4326"} <= set(metadata["wms_srs"].split())


def test_text_round_trips_through_mappyfile():
    text = mapfile.dumps(build())
    parsed = mapfile.parse(text)
    assert mapfile.validate(parsed) == []
    assert mapfile.index_table(parsed) == "adams_usda_1950_frames"
    assert parsed["name"] == "adams_usda_1950_frames_map"
    assert 'TILEINDEX "adams_usda_1950_frames_index"' in text
    assert 'PROCESSING "RESAMPLE=AVERAGE"' in text


def test_index_table_of_a_mapfile_without_index_is_none():
    parsed = mapfile.parse('MAP NAME "m" LAYER NAME "a" TYPE RASTER DATA "a.tif" END END')
    assert mapfile.index_table(parsed) is None


def test_unreadable_mapfile_text_is_refused():
    with pytest.raises(InputError, match="Mapfile cannot be read"):
        mapfile.parse("MAP NAME 'x' LAYER END END END END")


def test_map_name_equal_to_a_layer_name_is_refused():
    mapdict = build()
    mapdict["name"] = "adams_usda_1950_frames"
    assert any("also a layer name" in problem for problem in mapfile.validate(mapdict))
    with pytest.raises(Ls4Error, match="also a layer name"):
        mapfile.dumps(mapdict)


def test_schema_errors_are_reported():
    mapdict = build()
    mapdict["layers"][1]["type"] = "BLOB"
    assert any("TYPE" in problem for problem in mapfile.validate(mapdict))


def test_connection_with_password_is_refused():
    with pytest.raises(InputError, match="carries a password"):
        build(pg_connection="host=db user=ls4 password=s3cret")


@pytest.mark.parametrize("extent", [None, (0, 0, 0, 10), (5, 5, 1, 1)])
def test_empty_or_degenerate_extent_is_refused(extent):
    with pytest.raises(InputError, match="no usable extent"):
        build(extent=extent)


@pytest.mark.parametrize("name", ['x"; drop table y; --', "Adams", 'a" END LAYER'])
def test_unsafe_names_are_refused(name):
    with pytest.raises(InputError, match="is not usable"):
        build(collection=name)
    with pytest.raises(InputError, match="is not usable"):
        build(table=name)


@pytest.mark.parametrize(
    "changes",
    [
        {"title": 'Adams" END LAYER NAME "evil'},
        {"title": "back\\slash"},
        {"title": "two\nlines"},
        {"title": ""},
        {"wms_url": 'http://x/wms?a="b"'},
    ],
)
def test_text_that_would_break_out_of_a_mapfile_string_is_refused(changes):
    with pytest.raises(InputError, match="double quote, a backslash or a control character"):
        build(**changes)


@pytest.mark.parametrize(
    "text",
    [
        'CONNECTION "host=db password=abc"',
        "AWS_ACCESS_KEY_ID AKIAIOSFODNN7EXAMPLE",
        '"AWS_SECRET_ACCESS_KEY" "wJalrXUtnFEMI"',
        'CONNECTION "postgresql://ls4:abc@db/ls4"',
    ],
)
def test_secrets_are_recognised(text):
    assert mapfile.contains_secret(text)


def test_stack_secrets_are_not_in_the_mapfile(stack):
    secrets = [
        stack["postgres"]["password"],
        stack["s3"]["access_key"],
        stack["s3"]["secret_key"],
    ]
    assert mapfile.contains_secret(f"x {secrets[1]} y", secrets=secrets)
    text = mapfile.dumps(build(pg_connection=f"service={stack['postgres']['service']}"))
    assert not mapfile.contains_secret(text, secrets=secrets)
    assert "password" not in text.lower()


# --- served by MapServer --------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(stack, data_dir):
    """A collection of two masked EPSG:3857 COGs on local disk, its index and its mapfile."""
    collection = f"test_map_{uuid.uuid4().hex[:8]}_frames"
    map_dir = Path(stack["mapserver"]["map_dir"])
    # Next to the mapfiles: a folder the MapServer process can surely read.
    folder = map_dir / f"{collection}_data"
    folder.mkdir()
    frames = {
        "landsat": masked_cog(data_dir / "landsat_rgb_utm18n.tif", folder / "landsat.tif"),
        "hro": masked_cog(data_dir / "hro_colorado_rgb_nodata.tif", folder / "hro.tif"),
    }
    map_path = map_dir / f"{collection}.map"
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.ensure_table(conn, collection)
        try:
            for number, path in enumerate(frames.values()):
                wkt, _ = valid_footprint(path)
                row = {
                    "location": str(path),
                    "src_srs": "EPSG:3857",
                    "date": "04-01-50",
                    "roll": "a",
                    "frame_num": str(number + 1),
                    "dl_orig": f"http://example.org/scanned/{path.name}",
                }
                tileindex.upsert_frame(conn, collection, row, wkt)
            extent = tileindex.extent(conn, collection)
            url = stack["mapserver"]["wms_url_template"].format(collection=collection)
            mapdict = mapfile.build_mapfile(
                collection,
                "Test collection 1950 frames",
                collection,
                extent,
                url,
                pg_connection=f"service={stack['postgres']['service']}",
            )
            map_path.write_text(mapfile.dumps(mapdict))
            yield {"collection": collection, "url": url, "frames": frames, "extent": extent}
        finally:
            map_path.unlink(missing_ok=True)
            shutil.rmtree(folder)
            tileindex.drop_table(conn, collection)


def get_map(served, window, width, height):
    return wms_client.get_map(served["url"], served["collection"], window, width, height)


def blocks(array, factor):
    """``array`` (bands, rows, columns) averaged over ``factor`` × ``factor`` blocks."""
    bands, rows, columns = array.shape
    shaped = array[:, : rows // factor * factor, : columns // factor * factor]
    return shaped.reshape(bands, rows // factor, factor, columns // factor, factor).mean((2, 4))


def test_capabilities_list_the_layers_with_the_index_extent(served):
    content_type, body = wms(served["url"], REQUEST="GetCapabilities")
    assert content_type == "text/xml", body[:500]
    root = ElementTree.fromstring(body)
    layers = {item.findtext(f"{WMS}Name"): item for item in root.iter(f"{WMS}Layer")}
    collection = served["collection"]
    assert {collection, f"{collection}_index"} <= set(layers)
    assert layers[collection].findtext(f"{WMS}Title") == "Test collection 1950 frames"
    assert layers[f"{collection}_index"].get("queryable") == "1"
    # MapServer's own box is geographic (latitude first in 1.3.0: it prints projected ones with
    # six significant digits, geographic ones with six decimals); the web app adds the projected
    # ones (test_service checks every CRS).
    boxes = {box.get("CRS"): box for box in layers[collection].findall(f"{WMS}BoundingBox")}
    mercator = [float(boxes["EPSG:3857"].get(key)) for key in ("minx", "miny", "maxx", "maxy")]
    assert mercator == pytest.approx(served["extent"], abs=1.0)
    box = boxes["EPSG:4326"]
    south, west, north, east = (float(box.get(key)) for key in ("minx", "miny", "maxx", "maxy"))
    expected_west, expected_south = to_lon_lat(served["extent"][0], served["extent"][1])
    expected_east, expected_north = to_lon_lat(served["extent"][2], served["extent"][3])
    assert (west, south, east, north) == pytest.approx(
        (expected_west, expected_south, expected_east, expected_north), abs=1e-6
    )
    geographic = layers[collection].find(f"{WMS}EX_GeographicBoundingBox")
    west = float(geographic.findtext(f"{WMS}westBoundLongitude"))
    north = float(geographic.findtext(f"{WMS}northBoundLatitude"))
    expected_west, expected_north = to_lon_lat(served["extent"][0], served["extent"][3])
    assert (west, north) == pytest.approx((expected_west, expected_north), abs=1e-4)


def to_lon_lat(x, y):
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(3857)
    target.ImportFromEPSG(4326)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(source, target).TransformPoint(x, y)
    return lon, lat


def test_getmap_at_full_resolution_is_the_cog_with_a_transparent_collar(served):
    path = served["frames"]["hro"]
    dataset = gdal.Open(str(path))
    width, height = dataset.RasterXSize, dataset.RasterYSize
    image = get_map(served, bbox(path), width, height)
    mask = mask_array(path)
    assert (~mask).sum() > 1000  # the sample has a real collar
    assert np.all(image[3][~mask] == 0)
    assert np.all(image[3][mask] == 255)
    assert psnr(image[:3], dataset.ReadAsArray().astype(float), mask) >= 30


def test_getmap_downsampled_matches_gdal_and_keeps_the_rotated_collar(served):
    path = served["frames"]["landsat"]
    dataset = gdal.Open(str(path))
    factor = 2
    width, height = dataset.RasterXSize // factor, dataset.RasterYSize // factor
    minx, _miny, _maxx, maxy = bbox(path)
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    window = (minx, maxy + height * factor * dy, minx + width * factor * dx, maxy)
    image = get_map(served, window, width, height)
    reference = blocks(dataset.ReadAsArray().astype(float), factor)
    coverage = blocks(mask_array(path)[None].astype(float), factor)[0]
    collar, valid = coverage == 0, coverage == 1
    assert collar.mean() > 0.2  # the rotated Landsat scene leaves wide collar corners
    assert np.all(image[3][collar] == 0)
    assert np.mean(image[3][valid] == 255) > 0.999
    assert psnr(image[:3], reference, valid & (image[3] == 255)) >= 30


@pytest.mark.parametrize("info_format", ["application/vnd.ogc.gml", "text/plain"])
def test_getfeatureinfo_returns_the_frame_fields(served, info_format):
    path = served["frames"]["hro"]
    index_layer = f"{served['collection']}_index"
    content_type, body = wms(
        served["url"],
        REQUEST="GetFeatureInfo",
        LAYERS=index_layer,
        QUERY_LAYERS=index_layer,
        STYLES="",
        CRS="EPSG:3857",
        BBOX=",".join(str(value) for value in bbox(path)),
        WIDTH=100,
        HEIGHT=100,
        I=50,
        J=50,
        FORMAT="image/png",
        INFO_FORMAT=info_format,
    )
    text = body.decode()
    assert content_type == info_format, text[:500]
    for value in (str(path), "EPSG:3857", "04-01-50", "http://example.org/scanned/hro.tif"):
        assert value in text
    assert str(served["frames"]["landsat"]) not in text
    assert "frame_num" in text and "roll" in text


def test_mapfile_text_is_what_mappyfile_writes(served, stack):
    text = (Path(stack["mapserver"]["map_dir"]) / f"{served['collection']}.map").read_text()
    assert mapfile.validate(mappyfile.loads(text)) == []
    assert not mapfile.contains_secret(
        text, secrets=[stack["postgres"]["password"], stack["s3"]["secret_key"]]
    )


@pytest.mark.parametrize(
    "given, written",
    [
        ("service=ls4", "service=ls4 connect_timeout=5 options='-c statement_timeout=30000'"),
        (
            "service=ls4 connect_timeout=2",
            "service=ls4 connect_timeout=2 options='-c statement_timeout=30000'",
        ),
        ("service=ls4 options='-c x=1'", "service=ls4 options='-c x=1' connect_timeout=5"),
        ("postgresql:///ls4?service=ls4", "postgresql:///ls4?service=ls4"),
    ],
)
def test_the_index_connection_bounds_mapserver_s_waits_unless_it_sets_them(given, written):
    assert mapfile.bounded_connection(given) == written
