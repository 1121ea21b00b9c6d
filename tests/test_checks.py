"""Refusals before a run (settings in checkParameterValues), the WMS URL rule, the service checks'
verdicts: no service needed."""

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProject

from ls4.ls4_plugin import settings
from ls4.ls4_plugin.core import connections, urls
from ls4.ls4_plugin.core.errors import InputError, Ls4Error

COLLECTION = {"COUNTY": "Bexar", "AGENCY": "TxDOT", "YEAR": "1952", "TYPE": 0, "BAND_LAYOUT": 1}


@pytest.fixture
def ls4_settings(monkeypatch):
    """LS4 settings as a dict the test changes (the profile's own are left alone)."""
    values = dict(settings.DEFAULTS)
    values.update(
        {
            "s3/bucket": "ls4",
            "mapserver/wms_url_template": "http://maps/wms/{collection}",
            "postgres/connection": "",
        }
    )
    monkeypatch.setattr(settings, "value", lambda name: values[name])
    return values


def check(name, parameters):
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    algorithm = QgsApplication.processingRegistry().algorithmById(f"ls4:{name}")
    return algorithm.checkParameterValues(parameters, context)


def test_no_bucket_refuses_an_upload_before_it_runs(ls4_provider, ls4_settings, tmp_path):
    ls4_settings["s3/bucket"] = ""
    scan = tmp_path / "04-01-52_a-1.tif"
    scan.write_bytes(b"")
    ok, message = check("uploadtos3", {**COLLECTION, "INPUT": [str(scan)], "STAGE": 0})
    assert not ok
    assert "No S3 bucket is set" in message


def test_a_wms_url_without_collection_refuses_writemapfile(ls4_provider, ls4_settings):
    ls4_settings["mapserver/wms_url_template"] = "http://maps/wms"
    ok, message = check("writemapfile", dict(COLLECTION))
    assert not ok
    assert "must contain {collection}" in message


def test_no_database_refuses_collectioninfo(ls4_provider, ls4_settings):
    ok, message = check("collectioninfo", {**COLLECTION, "DATABASE": ""})
    assert (ok, message) == (False, "No PostgreSQL connection given and none set in LS4 settings")


def test_compileindexes_needs_s3_only_to_upload(ls4_provider, ls4_settings, tmp_path):
    ls4_settings["s3/bucket"] = ""
    base = {"OUTPUT": str(tmp_path / "c.geojson"), "DATABASE": ""}
    ok, message = check("compileindexes", {**base, "UPLOAD": True})
    assert not ok and "No S3 bucket is set" in message
    ok, message = check("compileindexes", {**base, "UPLOAD": False})
    assert not ok and "No PostgreSQL connection" in message


def test_algorithms_reading_no_settings_are_not_refused(ls4_provider, ls4_settings, sample):
    ls4_settings["s3/bucket"] = ""
    ok, message = check("inspectraster", {"INPUT": str(sample("hro_colorado_gray.tif"))})
    assert (ok, message) == (True, "")


# --- the county list, in every algorithm with collection fields (qgis_process, modeler, dock) --


def test_a_county_not_in_the_list_is_refused_before_a_run_with_the_closest_names(
    ls4_provider, ls4_settings, tmp_path
):
    frame = tmp_path / "04-01-52_1-1.tif"
    frame.write_bytes(b"")
    publish = {**COLLECTION, "COUNTY": "Travs", "INPUT": [str(frame)]}
    ok, message = check("publishcollection", publish)
    assert (ok, message) == (
        False,
        "'Travs' is not in the county list of Texas: did you mean Travis?",
    )
    # (collectioninfo says how the list judges a county in its outputs: test_dock_algorithms)
    for name in ("writemapfile", "writestac", "seedtiles"):
        ok, message = check(name, {**COLLECTION, "COUNTY": "Mc Lenan"})
        assert not ok and message.startswith("'Mc Lenan' is not in the county list of Texas")
        assert "McLennan" in message, (name, message)
    # a multi-county mission has no county to check
    upload = {**COLLECTION, "INPUT": [str(frame)], "STAGE": 0}
    multi = {**upload, "COUNTY": "", "YEAR": "", "MISSION": "AR-1963"}
    assert check("uploadtos3", multi) == (True, "")
    # the other field rules are said before a run too (they were only said when it ran)
    ok, message = check("uploadtos3", {**upload, "YEAR": "19x5"})
    assert (ok, message) == (False, "year '19x5' must be four digits")


@pytest.mark.parametrize(
    ("typed", "prefix"),
    [
        ("mclennan", "bw/McLennan/TxDOT_1952/frames/"),
        ("DEWITT", "bw/DeWitt/TxDOT_1952/frames/"),
        ("la_salle", "bw/La_Salle/TxDOT_1952/frames/"),
        (" fort  bend ", "bw/Fort_Bend/TxDOT_1952/frames/"),
    ],
)
def test_a_county_typed_in_any_case_is_keyed_as_the_list_spells_it(
    ls4_provider, ls4_settings, typed, prefix
):
    from ls4.processing_provider import params

    context = QgsProcessingContext()
    algorithm = QgsApplication.processingRegistry().algorithmById("ls4:uploadtos3")
    parameters = {**COLLECTION, "COUNTY": typed}
    assert params.collection_problem(algorithm, parameters, context) == ""
    collection = params.collection_from(algorithm, parameters, context, band="bw")
    assert collection.prefix() == prefix
    assert collection.title.startswith(prefix.split("/")[1].replace("_", " ") + " County TxDOT")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://m/wms/x", "http://m/wms/x?SERVICE=WMS&REQUEST=GetCapabilities"),
        ("http://m/cgi?map=x", "http://m/cgi?map=x&SERVICE=WMS&REQUEST=GetCapabilities"),
        ("http://m/cgi?", "http://m/cgi?SERVICE=WMS&REQUEST=GetCapabilities"),
        ("http://m/cgi?map=x&", "http://m/cgi?map=x&SERVICE=WMS&REQUEST=GetCapabilities"),
    ],
)
def test_capabilities_url_adds_the_query_once(url, expected):
    assert urls.capabilities_url(url) == expected


def test_with_query_encodes_values():
    assert urls.with_query("http://m/w", {"BBOX": "1,2", "N": 3}) == "http://m/w?BBOX=1%2C2&N=3"


def test_mapserver_check_asks_for_capabilities_of_the_collection():
    asked = []

    def fetch(url):
        asked.append(url)
        return 200, b"<WMS_Capabilities/>"

    verdict = connections.check_mapserver("http://m/wms/{collection}", "bexar_x_1952_frames", fetch)
    url = "http://m/wms/bexar_x_1952_frames?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0"
    assert asked == [url]
    assert verdict == f"{url} answers with WMS capabilities"


def test_mapserver_check_tells_mapserver_from_another_server():
    error_page = b"<html><!-- MapServer --><body>msLoadMap(): no such map</body></html>"
    verdict = connections.check_mapserver(
        "http://m/{collection}", "", lambda url: (200, error_page)
    )
    assert verdict == "MapServer answers at http://m/ls4_connection_test_frames"
    with pytest.raises(Ls4Error, match="not as MapServer does: It works"):
        connections.check_mapserver(
            "http://m/{collection}", "", lambda url: (200, b"<h1>It works</h1>")
        )


def test_mapserver_check_asks_a_published_collection_first():
    """LS4's server answers an unpublished collection with a bare 404 (it names no file), so a
    published collection's capabilities are what shows MapServer itself."""
    answers = {
        "http://m/wms/bexar_x_1952_frames": (200, b"<WMS_Capabilities/>"),
        "http://m/wms/ls4_connection_test_frames": (404, b"Not Found"),
    }

    def fetch(url):
        return answers[url.split("?")[0]]

    verdict = connections.check_mapserver(
        "http://m/wms/{collection}", "", fetch, lambda: ["bexar_x_1952_frames", "kiowa_y_1971_nc"]
    )
    assert verdict == (
        "MapServer answers at http://m/wms/bexar_x_1952_frames "
        "(the WMS capabilities of bexar_x_1952_frames)"
    )
    verdict = connections.check_mapserver("http://m/wms/{collection}", "", fetch, list)
    assert verdict.startswith("the WMS path answers at http://m/wms/ls4_connection_test_frames")
    assert "404 for a collection that is not published" in verdict
    with pytest.raises(Ls4Error, match="answers 404: collection 'gone_x_1950_frames' is not"):
        connections.check_mapserver(
            "http://m/wms/{collection}", "gone_x_1950_frames", lambda url: (404, b"Not Found")
        )


def test_service_checks_refuse_what_is_missing_without_asking():
    def nobody(*args):
        raise AssertionError("asked")

    assert connections.run_check(lambda: connections.check_mapserver("http://m", "", nobody)) == (
        False,
        "the WMS URL 'http://m' has no {collection} in it",
    )
    with pytest.raises(InputError, match="no bucket is set"):
        connections.check_s3("", "", "", nobody)
    with pytest.raises(InputError, match="no PostgreSQL connection is chosen"):
        connections.check_postgres("", nobody)


def test_one_form_mapping_for_the_dock_and_the_algorithms():
    from ls4.ls4_plugin.core import keys

    form = {"COUNTY": " Fort Bend ", "AGENCY": "TxDOT", "YEAR": "1952", "MISSION": "", "TYPE": 0}
    collection = keys.collection_from_form(form, "nc")
    assert collection == keys.Collection(
        band="nc", type="frames", agency="TxDOT", county="Fort Bend", year="1952"
    )
    name = keys.collection_from_form({**form, "TYPE": "frames"})
    assert isinstance(name, keys.CollectionName) and not isinstance(name, keys.Collection)
    assert (name.name, name.table, name.mapfile_key) == (
        collection.name,
        collection.table,
        collection.mapfile_key,
    )
    assert not hasattr(name, "band") and not hasattr(name, "prefix")
    multi = keys.collection_from_form({"AGENCY": "USDA", "MISSION": "AR-1963", "TYPE": 2})
    assert multi.name == "usda_ar1963_mosaic"
    with pytest.raises(InputError, match="year is missing for county 'Bexar'"):
        keys.collection_from_form({"COUNTY": "Bexar", "AGENCY": "TxDOT", "TYPE": 0}, "bw")


def test_a_mapfile_written_from_a_collection_name_has_the_recorded_band(stack, tmp_path):
    """writemapfile names a collection without its band layout: the title is the table's."""
    from publish_support import fresh, target

    from ls4.ls4_plugin.core import downloads, keys, publish, storage
    from tools import sample_collection

    collection = fresh(
        stack, keys.Collection(band="nc", type="frames", agency="USGS", county="Kiowa", year="1971")
    )
    frames = sample_collection.cut_frames("nc", tmp_path, count=2)
    try:
        published = publish.publish_collection(target(stack), collection, frames[:1])
        assert [frame.status for frame in published.frames] == ["published"]
        name = keys.collection_from_form({"COUNTY": "Kiowa", "AGENCY": "USGS", "YEAR": "1971"})
        assert publish.publish_mapfile(target(stack), name) == collection.mapfile_key
        text = storage.get_bytes(target(stack).s3, collection.mapfile_key).decode()
        assert "Kiowa County USGS 1971 frames (natural color)" in text
        assert "black and white" not in text
    finally:  # other tests check the whole estate
        fresh(stack, collection)
        storage.delete_keys(target(stack).s3, [downloads.index_key(collection.name)])
