"""The algorithms made for the dock, run as the modeler and qgis_process run them."""

import json

import pytest
from dock_support import forget_collection
from osgeo import gdal
from publish_support import target
from qgis.core import QgsProcessingException

from ls4.ls4_plugin.core import keys, publish, storage, tileindex
from tools import qgis_env, sample_collection

PARK = {"COUNTY": "Park", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0}


@pytest.fixture(scope="module")
def configured(stack, qgis_app):
    qgis_env.configure(stack)
    return stack


def test_collectioninfo_names_a_new_collection_and_counts_a_published_one(
    run_alg, configured, tmp_path
):
    collection = keys.Collection(
        band="bw", type="frames", agency="USGS", county="Park", year="2014"
    )
    forget_collection(configured, collection)
    results = run_alg("collectioninfo", PARK)
    assert results["COLLECTION"] == results["TABLE"] == "park_usgs_2014_frames"
    assert results["MAPFILE_KEY"] == "mapfiles/park_usgs_2014_frames.map"
    assert results["WMS_URL"] == configured["mapserver"]["wms_url_template"].format(
        collection="park_usgs_2014_frames"
    )
    assert (results["EXISTS"], results["FRAME_COUNT"], results["FRAMES"]) == (False, 0, "[]")
    assert results["BAND_LAYOUT"] == ""

    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    publish.publish_collection(target(configured), collection, [str(f) for f in frames])
    results = run_alg("collectioninfo", PARK)
    assert (results["EXISTS"], results["FRAME_COUNT"]) == (True, 2)
    assert results["BAND_LAYOUT"] == "bw"  # a collection has one: the dock says so
    listed = {frame["file"]: frame for frame in json.loads(results["FRAMES"])}
    assert sorted(listed) == [frame.name for frame in frames]
    config = target(configured).s3
    first = listed[frames[0].name]
    assert first["dl_georef"] == storage.public_url(config, collection.key("cog", frames[0].name))
    assert (first["date"], first["roll"], first["frame_num"]) == ("04-15-14", "1", "002")


def test_collectioninfo_says_how_the_county_list_judges_the_county(run_alg, configured, tmp_path):
    """A listed county in the list's spelling; one off the list (Colorado's, in the tests'
    settings) refused with the closest names while nothing is published under it, taken once
    a collection is (published before the list), in the spelling its table records."""
    results = run_alg("collectioninfo", dict(PARK, COUNTY="park"))
    assert (results["COUNTY"], results["COUNTY_STATUS"], results["COUNTY_MESSAGE"]) == (
        "Park",
        "listed",
        "",
    )
    assert results["COLLECTION"] == "park_usgs_2014_frames"
    results = run_alg("collectioninfo", dict(PARK, COUNTY="Parc"))
    assert (results["COUNTY_STATUS"], results["COUNTY_MESSAGE"]) == (
        "refused",
        "'Parc' is not in the county list of Colorado: did you mean Park?",
    )
    assert (results["COLLECTION"], results["EXISTS"]) == ("parc_usgs_2014_frames", False)
    estate = keys.Collection(
        band="bw", type="frames", agency="USGS", county="Parkview", year="2014"
    )
    forget_collection(configured, estate)
    frames = sample_collection.cut_frames("bw", tmp_path, count=1)
    publish.publish_collection(target(configured), estate, [str(frames[0])])
    try:
        results = run_alg("collectioninfo", dict(PARK, COUNTY="parkview"))
        assert (results["COUNTY"], results["COUNTY_STATUS"]) == ("Parkview", "published")
        assert results["COUNTY_MESSAGE"] == "'parkview' is not in the county list of Colorado"
        assert (results["COLLECTION"], results["FRAME_COUNT"]) == ("parkview_usgs_2014_frames", 1)
        multi = dict(PARK, COUNTY="", YEAR="", MISSION="AR-1963")
        results = run_alg("collectioninfo", multi)
        assert (results["COUNTY"], results["COUNTY_STATUS"]) == ("", "")
    finally:
        forget_collection(configured, estate)


def test_publishedcollections_lists_what_the_tables_record_and_each_agency_once(
    run_alg, configured, tmp_path
):
    """Two collections of one agency spelt "Fairchild" and one of "SCS": each collection with
    its prefix, the agencies once each as first spelt; a table recording nothing is not listed."""
    published = [
        keys.Collection(band="bw", type="frames", agency=agency, county=county, year="2014")
        for agency, county in (("Fairchild", "Baca"), ("FAIRCHILD", "Bent"), ("SCS", "Baca"))
    ]
    frames = sample_collection.cut_frames("bw", tmp_path, count=1)
    for collection in published:
        forget_collection(configured, collection)
        publish.publish_collection(target(configured), collection, [str(frames[0])])
    with tileindex.connect(configured["postgres"]["dsn"]) as conn:
        tileindex.ensure_table(conn, "unrecorded_usgs_1999_frames")
    try:
        results = run_alg("publishedcollections", {})
        listed = {entry["collection"]: entry for entry in json.loads(results["COLLECTIONS"])}
        assert listed["baca_fairchild_2014_frames"] == {
            "collection": "baca_fairchild_2014_frames",
            "prefix": "bw/Baca/Fairchild_2014/frames/",
            "band": "bw",
            "county": "Baca",
            "agency": "Fairchild",
            "year": "2014",
            "mission": "",
            "type": "frames",
        }
        assert listed["bent_fairchild_2014_frames"]["prefix"] == "bw/Bent/FAIRCHILD_2014/frames/"
        assert "unrecorded_usgs_1999_frames" not in listed
        assert results["COUNT"] == len(listed)
        agencies = results["AGENCIES"].splitlines()
        assert "SCS" in agencies and [a for a in agencies if a.lower() == "fairchild"] == [
            "Fairchild"
        ]
    finally:
        for collection in published:
            forget_collection(configured, collection)
        with tileindex.connect(configured["postgres"]["dsn"]) as conn:
            tileindex.drop_table(conn, "unrecorded_usgs_1999_frames")


def test_collectioninfo_refuses_a_name_breaking_the_rules(run_alg, configured):
    with pytest.raises(QgsProcessingException, match="year '52' must be four digits"):
        run_alg("collectioninfo", dict(PARK, YEAR="52"))


def test_framefootprint_outlines_the_valid_pixels_in_3857(run_alg, sample):
    path = sample("hro_colorado_rgb_nodata.tif")
    results = run_alg("framefootprint", {"INPUT": str(path), "OUTPUT": "memory:"})
    layer = results["OUTPUT"]  # processing.run gives the layer itself
    assert layer.crs().authid() == "EPSG:3857" and layer.featureCount() == 1
    feature = next(layer.getFeatures())
    assert feature["file"] == path.name
    assert feature["area"] == pytest.approx(results["AREA"])
    assert feature.geometry().area() == pytest.approx(results["AREA"], rel=1e-6)
    # NoData=0 pixels are outside: the footprint is smaller than the image, and inside it
    warped = gdal.Warp("", str(path), format="VRT", dstSRS="EPSG:3857")
    x0, dx, _, y0, _, dy = warped.GetGeoTransform()
    width, height = warped.RasterXSize * dx, -warped.RasterYSize * dy
    warped = None
    box = feature.geometry().boundingBox()
    assert x0 - dx <= box.xMinimum() and box.xMaximum() <= x0 + width + dx
    assert 0.2 < results["AREA"] / (width * height) < 1.0


def test_framefootprint_of_a_scan_says_it_is_not_georeferenced(run_alg, sample):
    path = sample("hro_colorado_gray_scan.tif")
    with pytest.raises(QgsProcessingException, match="has no georeferencing"):
        run_alg("framefootprint", {"INPUT": str(path), "OUTPUT": "memory:"})
