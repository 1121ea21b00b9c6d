"""Tiles of a collection through MapProxy in front of MapServer: WMTS, XYZ, TMS, the cache and
its invalidation by publishing, seeding, and ls4:loadwms on the tiles."""

import dataclasses
import os
import urllib.request
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from osgeo import gdal, ogr
from publish_support import fresh, objects, publish_sample_frames, target
from wms_client import get_map, image_array

from ls4.ls4_plugin.core import keys, maintenance, publish, storage, tileindex, tiles
from tools import qgis_env

pytestmark = pytest.mark.stack

COLLECTION = keys.Collection(band="bw", type="frames", agency="USGS", county="Tiled", year="2014")
WMTS = "{http://www.opengis.net/wmts/1.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
SEED_ZOOMS = (19, 20, 21)  # the sample frames are 57 m wide: z21 tiles are 19 m


@pytest.fixture(scope="module")
def published(stack, tmp_path_factory):
    """Four overlapping bw frames published, the tile cache seeded at SEED_ZOOMS."""
    frames = publish_sample_frames(stack, COLLECTION, tmp_path_factory.mktemp("tiled"), count=4)
    urls = service_urls(stack)
    done = tiles.seed(urls["xyz"], index_extent(stack), SEED_ZOOMS)
    assert done["failed"] == 0 and done["tiles"] > 10
    return {"frames": frames, "urls": urls}


def service_urls(stack):
    wms = stack["mapserver"]["wms_url_template"].format(collection=COLLECTION.name)
    return {"wms": wms, **tiles.service_urls(wms, COLLECTION.name)}


def index_extent(stack):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        return tileindex.extent(conn, COLLECTION.table)


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as reply:
        return reply.status, reply.headers, reply.read()


def test_wmts_capabilities_list_the_layer_and_a_tile_answers(published, stack):
    status, headers, body = fetch(published["urls"]["wmts_capabilities"])
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert len(headers.get_all("Access-Control-Allow-Origin")) == 1  # browsers refuse two
    root = ET.fromstring(body)
    layer = root.find(f"{WMTS}Contents/{WMTS}Layer")
    assert layer.findtext(f"{OWS}Identifier") == COLLECTION.name
    assert layer.findtext(f"{OWS}Title") == COLLECTION.title
    (resource,) = layer.findall(f"{WMTS}ResourceURL")
    template = resource.get("template")
    zoom = SEED_ZOOMS[-1]
    x0, _x1, y0, _y1 = tiles.tile_range(index_extent(stack), zoom)
    url = (
        template.replace("{TileMatrixSet}", tiles.GRID)
        .replace("{TileMatrix}", str(zoom))
        .replace("{TileCol}", str(x0))
        .replace("{TileRow}", str(y0))
    )
    status, headers, body = fetch(url)
    assert status == 200 and headers.get_content_type() == "image/png"
    assert image_array(body).shape == (4, 256, 256)
    # the KVP binding answers too
    status, _headers, body = fetch(published["urls"]["wmts_kvp"])
    assert status == 200 and b"<Capabilities" in body


def test_an_xyz_tile_is_the_wms_getmap_of_its_bbox(published, stack):
    extent = index_extent(stack)
    zoom = SEED_ZOOMS[-1]
    x0, x1, y0, y1 = tiles.tile_range(extent, zoom)
    x, y = (x0 + x1) // 2, (y0 + y1) // 2
    _status, _headers, body = fetch(published["urls"]["xyz"].format(z=zoom, x=x, y=y))
    tile = image_array(body)
    served = get_map(
        published["urls"]["wms"], COLLECTION.name, tiles.tile_bbox(zoom, x, y), 256, 256
    )
    assert (tile[3] == 255).mean() > 0.5  # the tile is over the frames
    assert np.array_equal(tile, served)
    # TMS numbers rows from the south
    tms_y = 2**zoom - 1 - y
    _status, _headers, body = fetch(published["urls"]["tms"].format(z=zoom, x=x, y=tms_y))
    assert np.array_equal(image_array(body), served)


def cached_files(stack):
    root = tiles.cache_dir(stack["mapserver"]["map_dir"], COLLECTION.name)
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            zoom, x, y = (int(part) for part in os.path.relpath(path, root)[:-4].split(os.sep))
            found[(zoom, x, y)] = os.stat(path).st_mtime_ns
    return found


def test_publishing_a_changed_frame_refreshes_only_the_tiles_over_it(published, stack, tmp_path):
    before = cached_files(stack)
    assert {zoom for zoom, _x, _y in before} == set(SEED_ZOOMS)
    frame = published["frames"][-1]
    changed = tmp_path / frame.name
    dataset = gdal.Translate(str(changed), str(frame))
    band = dataset.GetRasterBand(1)
    band.WriteArray(255 - band.ReadAsArray())  # a new scan of the same frame
    dataset = None
    publish.publish_collection(target(stack), COLLECTION, [str(changed)])
    location = keys.location(stack["s3"]["bucket"], COLLECTION.key("cog", frame.name))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        (row,) = [r for r in tileindex.rows(conn, COLLECTION.table) if r["location"] == location]
    minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(row["footprint"]).GetEnvelope()
    over = set()
    for zoom in SEED_ZOOMS:
        x0, x1, y0, y1 = tiles.tile_range((minx, miny, maxx, maxy), zoom)
        over |= {(zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    after = cached_files(stack)
    stale = set(before) & over
    kept = set(before) - over
    assert stale and kept
    assert not stale & set(after)  # every tile over the frame left the cache
    assert {tile: after.get(tile) for tile in kept} == {tile: before[tile] for tile in kept}
    # the next request draws it again from the new COG: the same as the WMS now
    zoom, x, y = sorted(stale)[len(stale) // 2]
    _status, _headers, body = fetch(published["urls"]["xyz"].format(z=zoom, x=x, y=y))
    served = get_map(
        published["urls"]["wms"], COLLECTION.name, tiles.tile_bbox(zoom, x, y), 256, 256
    )
    assert np.array_equal(image_array(body), served)


def test_seed_reports_progress_and_stops_on_cancel(published, stack):
    from ls4.ls4_plugin.core.errors import Canceled
    from ls4.ls4_plugin.core.feedback import Feedback

    class Counting(Feedback):
        def __init__(self):
            super().__init__()
            self.steps = []

        def setProgress(self, percent):
            self.steps.append(percent)
            if len(self.steps) == 2:
                self.cancel()

    feedback = Counting()
    with pytest.raises(Canceled):
        tiles.seed(published["urls"]["xyz"], index_extent(stack), (20, 21, 22), feedback)
    assert len(feedback.steps) == 2 and 0 < feedback.steps[0] < feedback.steps[1] < 100


@pytest.mark.parametrize("service", ["WMTS", "XYZ"])
def test_loadwms_loads_the_tiles(published, stack, qgis_app, run_alg, service):
    from qgis.core import QgsProject

    qgis_env.configure(stack)
    service_index = ("WMS", "WMTS", "XYZ").index(service)
    results = run_alg("loadwms", {"COLLECTION": COLLECTION.name, "SERVICE": service_index})
    layer = QgsProject.instance().mapLayer(results["LAYER_ID"])
    assert layer is not None and layer.isValid()
    assert layer.crs().authid() == "EPSG:3857"
    if service == "WMTS":
        extent = layer.extent()
        expected = index_extent(stack)
        found = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        assert found == pytest.approx(expected, abs=1.0)
    QgsProject.instance().removeMapLayer(layer.id())


def test_the_configuration_is_validated_and_replaced_whole(published, stack):
    path = os.path.join(tiles.tiles_dir(stack["mapserver"]["map_dir"]), f"{COLLECTION.name}.yaml")
    config = tiles.build_config(COLLECTION.name, COLLECTION.title, index_extent(stack), "x")
    assert tiles.validate(config) == []
    config["caches"][f"{COLLECTION.name}_cache"]["grids"] = ["no_such_grid"]
    assert tiles.validate(config)
    with open(path, encoding="utf-8") as handle:
        served = handle.read()
    assert COLLECTION.name in served
    # the same text in the bucket, for a server that syncs it like the mapfiles
    assert storage.get_bytes(target(stack).s3, tiles.config_key(COLLECTION.name)).decode() == served


def test_seedtiles_algorithm_fills_the_cache(published, stack, qgis_app, run_alg):
    qgis_env.configure(stack)
    zoom = SEED_ZOOMS[0] - 1
    results = run_alg(
        "seedtiles",
        {
            "COUNTY": COLLECTION.county,
            "AGENCY": COLLECTION.agency,
            "YEAR": COLLECTION.year,
            "TYPE": 0,
            "ZOOM_MIN": zoom,
            "ZOOM_MAX": zoom,
        },
    )
    assert results["FAILED"] == 0 and results["TILES"] >= 1
    assert {key[0] for key in cached_files(stack)} >= {zoom}


def test_a_frame_published_again_elsewhere_clears_its_old_place_too(published, stack, tmp_path):
    zoom = SEED_ZOOMS[-1]
    tiles.seed(published["urls"]["xyz"], index_extent(stack), [zoom])
    frame = published["frames"][0]
    location = keys.location(stack["s3"]["bucket"], COLLECTION.key("cog", frame.name))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        old = tileindex.footprint_of(conn, COLLECTION.table, location)
    minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(old).GetEnvelope()
    x0, x1, y0, y1 = tiles.tile_range((minx, miny, maxx, maxy), zoom)
    old_place = {(zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    assert old_place <= set(cached_files(stack))
    moved = tmp_path / frame.name  # the same frame georeferenced 500 m further north
    dataset = gdal.Translate(str(moved), str(frame))
    x, dx, rx, y, ry, dy = dataset.GetGeoTransform()
    dataset.SetGeoTransform((x, dx, rx, y + 500, ry, dy))
    dataset = None
    publish.publish_collection(target(stack), COLLECTION, [str(moved)])
    assert not old_place & set(cached_files(stack))


def test_a_row_maintenance_removes_takes_its_tiles_out_of_the_cache(published, stack):
    """A frame whose COG is gone: REPAIR removes its row, and the tiles that still showed it."""
    zoom = SEED_ZOOMS[-1]
    tiles.seed(published["urls"]["xyz"], index_extent(stack), [zoom])
    frame = published["frames"][-1]
    location = keys.location(stack["s3"]["bucket"], COLLECTION.key("cog", frame.name))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        outline = tileindex.footprint_of(conn, COLLECTION.table, location)
    minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(outline).GetEnvelope()
    before = cached_files(stack)
    over = set()
    for level in {level for level, _x, _y in before}:
        x0, x1, y0, y1 = tiles.tile_range((minx, miny, maxx, maxy), level)
        over |= {(level, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    assert over & set(before) and set(before) - over
    storage.delete_keys(target(stack).s3, [COLLECTION.key("cog", frame.name)])
    report = maintenance.check(target(stack), [COLLECTION.name])
    found = {(f.kind, f.subject) for f in report.findings if f.kind != maintenance.SCAN_MISSING}
    assert found == {(maintenance.ROW_WITHOUT_COG, location)}  # (the sample frames have no scans)
    maintenance.repair(target(stack), report)
    after = cached_files(stack)
    assert not over & set(after)
    assert {tile: after.get(tile) for tile in set(before) - over} == {
        tile: before[tile] for tile in set(before) - over
    }


# --- the tile cache on S3: the publishers are not the tile server ------------------------------

ON_S3 = keys.Collection(band="bw", type="frames", agency="USGS", county="Gunnison", year="2014")


def cached_keys(stack, collection):
    """{(zoom, x, y): LastModified} of the collection's tiles in MapProxy's S3 cache."""
    prefix = f"{tiles.s3_cache_dir(collection.name)}/"
    found = {}
    for key, modified in objects(stack, prefix).items():
        zoom, x, y = key[len(prefix) : -len(".png")].split("/")
        found[(int(zoom), int(x), int(y))] = modified
    return found


def test_a_tile_cache_on_s3_is_cleared_over_a_changed_frame_by_a_publisher_elsewhere(
    stack, tmp_path
):
    server = dataclasses.replace(target(stack), tile_cache="s3")  # writes the server's config
    (tmp_path / "frames").mkdir()
    frames = publish_sample_frames(stack, ON_S3, tmp_path / "frames", 4, publish_target=server)
    wms = stack["mapserver"]["wms_url_template"].format(collection=ON_S3.name)
    urls = tiles.service_urls(wms, ON_S3.name)
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        extent = tileindex.extent(conn, ON_S3.table)
    assert tiles.seed(urls["xyz"], extent, SEED_ZOOMS)["failed"] == 0
    before = cached_keys(stack, ON_S3)
    assert {zoom for zoom, _x, _y in before} == set(SEED_ZOOMS)
    assert not os.path.exists(tiles.cache_dir(stack["mapserver"]["map_dir"], ON_S3.name))
    frame = frames[-1]
    changed = tmp_path / frame.name
    dataset = gdal.Translate(str(changed), str(frame))
    band = dataset.GetRasterBand(1)
    band.WriteArray(255 - band.ReadAsArray())
    dataset = band = None
    desktop = dataclasses.replace(server, map_dir=None)  # a georeferencer's machine
    result = publish.publish_collection(desktop, ON_S3, [str(changed)])
    assert [f.status for f in result.frames] == ["published"]
    location = keys.location(stack["s3"]["bucket"], ON_S3.key("cog", frame.name))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        outline = tileindex.footprint_of(conn, ON_S3.table, location)
    minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(outline).GetEnvelope()
    over = set()
    for zoom in SEED_ZOOMS:
        x0, x1, y0, y1 = tiles.tile_range((minx, miny, maxx, maxy), zoom)
        over |= {(zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    after = cached_keys(stack, ON_S3)
    stale, kept = set(before) & over, set(before) - over
    assert stale and kept
    assert not stale & set(after)
    assert {tile: after.get(tile) for tile in kept} == {tile: before[tile] for tile in kept}
    zoom, x, y = sorted(stale)[len(stale) // 2]
    _status, _headers, body = fetch(urls["xyz"].format(z=zoom, x=x, y=y))
    served = get_map(wms, ON_S3.name, tiles.tile_bbox(zoom, x, y), 256, 256)
    assert np.array_equal(image_array(body), served)
    assert (zoom, x, y) in cached_keys(stack, ON_S3)  # drawn again, and cached again on S3
    fresh(stack, ON_S3)
