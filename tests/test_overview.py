"""A 100-frame collection (10 x 10 frames of 600 px at 1 m, built cheaply) draws its
full extent from the collection's overview COG, opening no frame, and looks like the tile
index's own drawing; below the switch scale the frames are drawn."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import mappyfile
import numpy as np
import pytest
from publish_support import fresh, objects, target
from wms_client import get_map, psnr, wms

from ls4.ls4_plugin.core import keys, mapfile, overview, publish, storage, tileindex
from tools import sample_collection

pytestmark = pytest.mark.stack

COLLECTION = keys.Collection(band="bw", type="frames", agency="USGS", county="Grid", year="2014")
WMS = "{http://www.opengis.net/wms}"
FULL = 1024  # pixels of the full-extent map
PSNR_MIN = 30.0  # dB, overview against the tile index's drawing of the same map


@pytest.fixture(scope="module")
def published(stack, tmp_path_factory):
    storage.apply_public_policy(target(stack).s3)
    fresh(stack, COLLECTION)
    frames = sample_collection.grid_frames(tmp_path_factory.mktemp("grid"))
    result = publish.publish_collection(
        target(stack), COLLECTION, [str(f) for f in frames], workers=2
    )
    assert {frame.status for frame in result.frames} == {"published"}
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        extent = tileindex.extent(conn, COLLECTION.table)
    url = stack["mapserver"]["wms_url_template"].format(collection=COLLECTION.name)
    return {"extent": extent, "url": url, "frames": frames}


@pytest.fixture(scope="module")
def frames_only(published, stack):
    """The same collection's mapfile without the overview layer, served beside it: the tile
    index's own drawing, for comparison."""
    name = f"{COLLECTION.name}_ref"
    path = Path(stack["mapserver"]["map_dir"]) / f"{name}.map"
    mapdict = mapfile.build_mapfile(
        COLLECTION.name,
        COLLECTION.title,
        COLLECTION.table,
        published["extent"],
        published["url"],
        pg_connection=f"service={stack['postgres']['service']}",
    )
    path.write_text(mapfile.dumps(mapdict))
    yield stack["mapserver"]["wms_url_template"].format(collection=name)
    path.unlink()


def full_map(url, extent):
    return get_map(url, COLLECTION.name, extent, FULL, FULL)


def test_the_mapfile_switches_to_the_overview_above_a_scale(published, stack):
    text = (Path(stack["mapserver"]["map_dir"]) / f"{COLLECTION.name}.map").read_text()
    layers = {layer["name"]: layer for layer in mappyfile.loads(text)["layers"]}
    frames, whole = layers[COLLECTION.name], layers[f"{COLLECTION.name}_overview"]
    scale = overview.switch_scale(published["extent"])
    assert frames["maxscaledenom"] == whole["minscaledenom"] == pytest.approx(scale)
    assert whole["group"] == COLLECTION.name
    assert whole["data"].endswith(overview.overview_key(COLLECTION.name))
    assert overview.overview_key(COLLECTION.name) in objects(stack, "overview/")
    # clients see one layer of the collection's name, not the overview
    _type, body = wms(published["url"], REQUEST="GetCapabilities")
    names = [node.text for node in ET.fromstring(body).iter(f"{WMS}Name")]
    assert names.count(COLLECTION.name) == 1
    assert f"{COLLECTION.name}_overview" not in names


def test_full_extent_matches_the_tile_index_drawing(published, frames_only):
    served = full_map(published["url"], published["extent"])
    reference = full_map(frames_only, published["extent"])
    both = (served[3] == 255) & (reference[3] == 255)
    assert both.mean() > 0.95  # the grid covers its extent: no gap
    assert np.array_equal(served[3] == 0, reference[3] == 0)
    value = psnr(served[:3], reference[:3], both)
    print(f"overview vs tile index at full extent: PSNR {value:.1f} dB")
    assert value >= PSNR_MIN


def test_just_below_the_switch_the_frames_are_drawn(published, frames_only):
    minx, miny, _maxx, _maxy = published["extent"]
    resolution = overview.resolution(published["extent"]) * 0.9  # a bit larger scale
    size = 512
    bbox = (minx, miny, minx + size * resolution, miny + size * resolution)
    served = get_map(published["url"], COLLECTION.name, bbox, size, size)
    reference = get_map(frames_only, COLLECTION.name, bbox, size, size)
    assert np.array_equal(served, reference)  # the very same drawing: the tile index's


def test_a_full_extent_map_opens_no_frame(published, stack):
    """Last: with every frame COG gone from S3, the full-extent map is unchanged (the overview
    alone draws it) and the server logged no missing frame; a large-scale map now has a gap."""
    before = full_map(published["url"], published["extent"])
    log = Path(stack["logs"]) / "mapserver.log"
    size_before = log.stat().st_size
    cogs = [key for key in objects(stack, COLLECTION.prefix("cog"))]
    assert len(cogs) == 100
    storage.delete_keys(target(stack).s3, cogs)
    after = full_map(published["url"], published["extent"])
    assert np.array_equal(before, after)
    with open(log, "rb") as handle:
        handle.seek(size_before)
        logged = handle.read().decode(errors="replace")
    assert not re.search(r"cog/04-15-14_1-\d+\.tif", logged), logged[-2000:]
    minx, miny, _maxx, _maxy = published["extent"]
    bbox = (minx, miny, minx + 200, miny + 200)
    gone = get_map(published["url"], COLLECTION.name, bbox, 200, 200)
    assert (gone[3] == 0).all()  # frames are drawn at this scale, and they are gone
    fresh(stack, COLLECTION)
