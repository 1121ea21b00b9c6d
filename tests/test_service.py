"""The published service as clients nobody here wrote use it: QGIS's WMS provider and Identify,
every GetFeatureInfo format the capabilities list, WMS 1.1.1 and 1.3.0 capabilities."""

import json
import xml.etree.ElementTree as ET

import pytest
from osgeo import gdal, ogr, osr
from publish_support import fresh, target
from wms_client import getmap_query, wms

from ls4.ls4_plugin.core import keys, storage, tileindex
from tools import qgis_env, sample_collection

pytestmark = pytest.mark.stack

DEMO = keys.Collection(band="bw", type="frames", agency="USGS", county="Denver", year="2014")
# One frame 9 m wide: MapServer's 6 significant digits gave it a zero-width EPSG:3857 box.
SMALL = keys.Collection(band="bw", type="frames", agency="USGS", county="Hinsdale", year="2014")
WMS13 = "{http://www.opengis.net/wms}"
CORNERS = ("minx", "miny", "maxx", "maxy")


def params(collection):
    return {
        "COUNTY": collection.county,
        "AGENCY": collection.agency,
        "YEAR": collection.year,
        "TYPE": 0,
        "BAND_LAYOUT": 0,
    }


@pytest.fixture(scope="module")
def configured(stack, qgis_app):
    qgis_env.configure(stack)
    storage.apply_public_policy(target(stack).s3)
    return stack


@pytest.fixture(scope="module")
def collections(configured, tmp_path_factory):
    """The demo collection (the scan georeferenced plus four cut frames) and a one-frame one."""
    import processing
    from conftest import ensure_provider

    ensure_provider()
    demo_dir = tmp_path_factory.mktemp("demo")
    small_dir = tmp_path_factory.mktemp("small")
    small = small_dir / sample_collection.frame_name(1)
    source = sample_collection.DATA / sample_collection.SOURCES["bw"]
    gdal.Translate(str(small), str(source), srcWin=[100, 50, 60, 60])
    sources = {DEMO: sample_collection.build("bw", demo_dir, count=4), SMALL: [small]}
    for collection, frames in sources.items():
        fresh(configured, collection)
        processing.run(
            "ls4:uploadtos3",
            {"INPUT": [str(f) for f in frames], "STAGE": 0, **params(collection)},
        )
        processing.run(
            "ls4:publishcollection", {"INPUT": [str(f) for f in frames], **params(collection)}
        )
    return list(sources)


def wms_url(stack, collection):
    return stack["mapserver"]["wms_url_template"].format(collection=collection.name)


def index_extent(stack, collection):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        return tileindex.extent(conn, collection.table)


def capabilities(stack, collection, version):
    content_type, body = wms(wms_url(stack, collection), REQUEST="GetCapabilities", VERSION=version)
    assert content_type in ("text/xml", "application/vnd.ogc.wms_xml"), body[:300]
    return ET.fromstring(body)


def in_crs(extent, crs, version):
    """The EPSG:3857 ``extent`` as a WMS ``version`` box in ``crs`` (its axis order in 1.3.0)."""
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(3857)
    target.SetFromUserInput(crs)
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    if version == "1.1.1":
        target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(source, target).TransformBounds(*extent, 21), target


def layer_boxes(root, version):
    """(layer name, CRSs listed with the parents', {CRS: box}) of every layer."""
    ns = WMS13 if version == "1.3.0" else ""
    crs_tag = f"{ns}CRS" if version == "1.3.0" else "SRS"

    def walk(layer, inherited):
        listed = inherited + [element.text for element in layer.findall(crs_tag)]
        boxes = {
            box.get("CRS") or box.get("SRS"): [float(box.get(k)) for k in CORNERS]
            for box in layer.findall(f"{ns}BoundingBox")
        }
        yield layer.findtext(f"{ns}Name"), set(listed), boxes
        for child in layer.findall(f"{ns}Layer"):
            yield from walk(child, listed)

    yield from walk(root.find(f"{ns}Capability/{ns}Layer"), [])


@pytest.mark.parametrize("version", ["1.3.0", "1.1.1"])
def test_every_bounding_box_is_within_a_metre_of_the_index_extent(collections, configured, version):
    """Every layer has a BoundingBox for every CRS it lists (MapServer 8.0 alone prints none in
    EPSG:3857 that is right: 6 significant digits), each within a metre of the index extent."""
    for collection in collections:
        expected = index_extent(configured, collection)
        layers = list(layer_boxes(capabilities(configured, collection, version), version))
        assert len(layers) == 3  # the map and both layers
        for name, listed, boxes in layers:
            assert {"EPSG:3857", "EPSG:4326", "EPSG:26913"} <= listed
            assert set(boxes) == listed, name
            for crs, box in boxes.items():
                wanted, srs = in_crs(expected, crs, version)
                tolerance = 1e-5 if srs.IsGeographic() else 1.0  # a metre, in degrees or metres
                assert box == pytest.approx(wanted, abs=tolerance), (name, crs)
        mercator = layers[0][2]["EPSG:3857"]
        assert mercator[2] - mercator[0] > 5  # the small collection is 9 m wide, not zero


@pytest.mark.parametrize("version", ["1.3.0", "1.1.1"])
def test_gdal_s_wms_driver_opens_each_collection_in_epsg_3857_with_its_extent(
    collections, configured, version
):
    """GDAL's WMS driver, from the capabilities alone, as a GDAL script would."""
    for collection in collections:
        url = f"{wms_url(configured, collection)}?SERVICE=WMS&VERSION={version}"
        listing = gdal.Open(f"WMS:{url}&REQUEST=GetCapabilities")
        (name,) = [
            sub for sub, _ in listing.GetSubDatasets() if f"LAYERS={collection.name}&" in sub
        ]
        dataset = gdal.Open(name)
        assert dataset.GetSpatialRef().GetAuthorityCode(None) == "3857", name
        x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
        found = (x0, y0 + dy * dataset.RasterYSize, x0 + dx * dataset.RasterXSize, y0)
        assert found == pytest.approx(index_extent(configured, collection), abs=1.0), name


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4326"])
def test_loadwms_loads_each_collection_with_its_extent(collections, configured, run_alg, crs):
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsProject,
    )

    for collection in collections:
        results = run_alg("loadwms", {"COLLECTION": collection.name, "CRS": crs})
        layer = QgsProject.instance().mapLayer(results["LAYER_ID"])
        assert layer is not None and layer.isValid()
        assert layer.crs().authid() == crs
        transform = QgsCoordinateTransform(
            layer.crs(), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
        )
        extent = transform.transformBoundingBox(layer.extent())
        found = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        expected = index_extent(configured, collection)
        assert found == pytest.approx(expected, abs=1.0), (collection.name, crs)
        assert extent.width() > 5  # the small collection is 9 m wide, not zero
        QgsProject.instance().removeMapLayer(layer.id())


def test_loadwms_titles_the_layer_as_published_in_the_user_s_spelling(
    configured, run_alg, tmp_path
):
    """Run from the modeler or qgis_process, with only the lower-case name to go on."""
    from qgis.core import QgsProject

    spelled = keys.Collection(band="bw", type="frames", agency="TxDOT", county="Otero", year="2015")
    frame = tmp_path / sample_collection.frame_name(1)
    source = sample_collection.DATA / sample_collection.SOURCES["bw"]
    gdal.Translate(str(frame), str(source), srcWin=[100, 50, 60, 60])
    fresh(configured, spelled)
    run_alg("publishcollection", {"INPUT": [str(frame)], **params(spelled)})
    results = run_alg("loadwms", {"COLLECTION": spelled.name})
    layer = QgsProject.instance().mapLayer(results["LAYER_ID"])
    try:
        assert layer.name() == "Otero County TxDOT 2015 frames (black and white)"
        wmts = run_alg("loadwms", {"COLLECTION": spelled.name, "SERVICE": 1})
        tiles = QgsProject.instance().mapLayer(wmts["LAYER_ID"])
        assert tiles.isValid() and "TxDOT" in tiles.name(), tiles.name()
    finally:
        QgsProject.instance().removeAllMapLayers()
        fresh(configured, spelled)


def test_loadwms_of_a_collection_the_wms_does_not_serve_fails_and_adds_no_layer(
    configured, run_alg
):
    """The layer is made on the main thread (postProcessAlgorithm): its failure still fails the
    algorithm, with the service named, and the project gets nothing."""
    from qgis.core import QgsProcessingException, QgsProject

    before = set(QgsProject.instance().mapLayers())
    with pytest.raises(QgsProcessingException, match="did not load layer no_such_usgs_2014_frames"):
        run_alg("loadwms", {"COLLECTION": "no_such_usgs_2014_frames"})
    assert set(QgsProject.instance().mapLayers()) == before


def default_identify_format(provider):
    """The format QgsMapToolIdentify asks for when the user picked none (QGIS's own order)."""
    from qgis.core import QgsRaster, QgsRasterDataProvider

    capabilities = provider.capabilities()
    for capability, format_ in (
        (QgsRasterDataProvider.IdentifyFeature, QgsRaster.IdentifyFormatFeature),
        (QgsRasterDataProvider.IdentifyValue, QgsRaster.IdentifyFormatValue),
        (QgsRasterDataProvider.IdentifyHtml, QgsRaster.IdentifyFormatHtml),
        (QgsRasterDataProvider.IdentifyText, QgsRaster.IdentifyFormatText),
    ):
        if capabilities & capability:
            return format_
    raise AssertionError("the WMS layer offers no identify format")


def a_frame(stack, collection):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        rows = tileindex.rows(conn, collection.table)
    return sorted(rows, key=lambda row: row["frame_num"])[-1]


def test_identify_with_the_default_format_returns_the_frame_fields(collections, configured):
    from qgis.core import QgsPointXY, QgsRaster, QgsRasterLayer, QgsRectangle

    from ls4.processing_provider.wms import wms_uri

    for collection in collections:
        layer = QgsRasterLayer(
            wms_uri(wms_url(configured, collection), collection.index_layer), "index", "wms"
        )
        assert layer.isValid(), layer.error().summary()
        provider = layer.dataProvider()
        format_ = default_identify_format(provider)
        assert format_ == QgsRaster.IdentifyFormatFeature
        row = a_frame(configured, collection)
        point = ogr.CreateGeometryFromWkt(row["footprint"]).PointOnSurface()
        x, y = point.GetX(), point.GetY()
        view = QgsRectangle(x - 50, y - 50, x + 50, y + 50)
        result = provider.identify(QgsPointXY(x, y), format_, view, 101, 101)
        assert result.isValid(), result.error().summary()
        features = [
            feature
            for sublayer in result.results().values()
            for store in sublayer
            for feature in store.features()
        ]
        values = [{name: feature[name] for name in ("roll", "frame_num")} for feature in features]
        assert {"roll": row["roll"], "frame_num": row["frame_num"]} in values
        (feature,) = [f for f in features if f["frame_num"] == row["frame_num"]]
        for link in ("dl_orig", "dl_georef", "dl_index"):
            assert feature[link] == row[link]


def info_formats(root):
    request = root.find(f"{WMS13}Capability/{WMS13}Request/{WMS13}GetFeatureInfo")
    return [element.text for element in request.findall(f"{WMS13}Format")]


def test_getfeatureinfo_answers_every_listed_format(collections, configured):
    collection = collections[0]
    formats = info_formats(capabilities(configured, collection, "1.3.0"))
    assert {"text/html", "application/vnd.ogc.gml", "application/json"} <= set(formats)
    row = a_frame(configured, collection)
    point = ogr.CreateGeometryFromWkt(row["footprint"]).PointOnSurface()
    x, y = point.GetX(), point.GetY()
    for format_ in formats:
        assert " " not in format_ and format_.count("/") == 1, format_
        content_type, body = wms(
            wms_url(configured, collection),
            REQUEST="GetFeatureInfo",
            LAYERS=collection.index_layer,
            QUERY_LAYERS=collection.index_layer,
            STYLES="",
            CRS="EPSG:3857",
            BBOX=f"{x - 50},{y - 50},{x + 50},{y + 50}",
            WIDTH=101,
            HEIGHT=101,
            I=50,
            J=50,
            INFO_FORMAT=format_,
        )
        assert content_type == format_, body[:300]
        text = body.decode()
        assert row["dl_orig"] in text, format_
        parse_info(format_, text, row)


def parse_info(format_, text, row):
    """The frame's fields read back from a GetFeatureInfo answer with a parser for its format."""
    if format_ == "application/json":
        features = json.loads(text)["features"]
        assert row["frame_num"] in [feature["properties"]["frame_num"] for feature in features]
    elif format_ == "application/vnd.ogc.gml":
        frames = [element.text for element in ET.fromstring(text).iter("frame_num")]
        assert row["frame_num"] in frames
    elif format_ == "text/html":
        from html.parser import HTMLParser

        cells = []

        class Cells(HTMLParser):
            def handle_data(self, data):
                if data.strip():
                    cells.append(data.strip())

        Cells().feed(text)
        assert row["frame_num"] in cells and row["dl_georef"] in cells
    else:
        assert f"frame_num = '{row['frame_num']}'" in text


# --- safe on the open internet -------------------------------------------------------------


class Listener:
    """A TCP port that records every connection made to it (the SSRF probe's target)."""

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


SLD_BODY = (
    '<StyledLayerDescriptor version="1.0.0"><NamedLayer><Name>{layer}</Name><UserStyle>'
    '<FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#00ff00'
    "</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle>"
    "</NamedLayer></StyledLayerDescriptor>"
)


def raw_get(url, **query):
    """(status, headers, body) of a GET, also when the status is an error."""
    import urllib.error
    import urllib.parse
    import urllib.request

    address = f"{url}?{urllib.parse.urlencode(query)}" if query else url
    try:
        with urllib.request.urlopen(address, timeout=60) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_sld_urls_are_never_fetched_and_every_target_answers_alike(collections, configured):
    collection = collections[0]
    url = wms_url(configured, collection)
    layers = f"{collection.name},{collection.index_layer}"
    base = getmap_query(layers, index_extent(configured, collection), 128, 128)
    listener = Listener()
    try:
        closed = Listener()
        closed_port = closed.port
        closed.close()  # nothing listens there any more
        targets = {
            "listener": listener.port,
            "closed port": closed_port,
            "PostgreSQL": configured["postgres"]["port"],
            "S3": configured["ports"]["s3"]["s3"],
        }
        plain = raw_get(url, **base)
        assert plain[0] == 200 and plain[2][:4] == b"\x89PNG"
        for name, port in targets.items():
            answer = raw_get(url, **base, SLD=f"http://127.0.0.1:{port}/x.sld")
            assert answer[0] == plain[0] and answer[2] == plain[2], name
        styled = raw_get(url, **base, SLD_BODY=SLD_BODY.format(layer=collection.index_layer))
        assert styled[2] == plain[2]
    finally:
        listener.close()
    assert listener.connections == 0


def test_an_unknown_collection_is_a_404_naming_no_path(configured):
    base = configured["mapserver"]["base_url"]
    status, _headers, body = raw_get(
        f"{base}/wms/no_such_county_usgs_1900_frames", SERVICE="WMS", REQUEST="GetCapabilities"
    )
    assert status == 404
    text = body.decode(errors="replace")
    for leak in (configured["mapserver"]["map_dir"], configured["root"], ".map", "msLoadMap"):
        assert leak not in text


def test_a_missing_cog_is_not_named_to_the_client(collections, configured):
    collection = collections[1]
    row = a_frame(configured, collection)
    gone = row["location"].replace(".tif", "_gone.tif")
    with tileindex.connect(configured["postgres"]["dsn"]) as conn:
        tileindex.upsert_frame(
            conn,
            collection.table,
            {
                **{k: row[k] for k in ("src_srs", "date", "roll", "dl_orig")},
                "location": gone,
                "frame_num": "999",
            },
            row["footprint"],
        )
    try:
        status, headers, body = raw_get(
            wms_url(configured, collection),
            **getmap_query(collection.name, index_extent(configured, collection), 64, 64),
        )
        assert status == 200 and headers.get_content_type() == "image/png"
        assert b"_gone" not in body and b"vsis3" not in body
    finally:
        with tileindex.connect(configured["postgres"]["dsn"]) as conn:
            tileindex.delete_rows(conn, collection.table, [gone])


def test_maps_larger_than_maxsize_are_refused(collections, configured):
    collection = collections[0]
    _status, _headers, body = raw_get(
        wms_url(configured, collection), **getmap_query(collection.name, (0, 0, 1, 1), 5000, 5000)
    )
    assert b"ServiceException" in body and b"4096" in body


def test_cors_headers_and_preflight_on_the_wms(collections, configured):
    import urllib.request

    url = wms_url(configured, collections[0])
    _status, headers, _body = raw_get(url, SERVICE="WMS", REQUEST="GetCapabilities")
    assert headers["Access-Control-Allow-Origin"] == "*"
    request = urllib.request.Request(
        f"{url}?SERVICE=WMS&REQUEST=GetMap",
        method="OPTIONS",
        headers={
            "Origin": "http://portal.example.org",
            "Access-Control-Request-Method": "GET",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status in (200, 204)
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in reply.headers["Access-Control-Allow-Methods"]


# --- downloads -------------------------------------------------------------------------------


def test_every_download_link_of_every_row_answers(collections, configured):
    import urllib.request

    for collection in collections:
        with tileindex.connect(configured["postgres"]["dsn"]) as conn:
            rows = tileindex.rows(conn, collection.table)
        assert rows
        links = {row[name] for row in rows for name in ("dl_orig", "dl_georef", "dl_index")}
        for link in links:
            # anonymous, as a member of the public downloads it
            with urllib.request.urlopen(link, timeout=30) as reply:
                assert reply.status == 200, link
                assert int(reply.headers["Content-Length"]) > 0, link


def test_dl_index_is_a_geopackage_of_the_collection_footprints(collections, configured, tmp_path):
    import urllib.request

    collection = collections[0]
    with tileindex.connect(configured["postgres"]["dsn"]) as conn:
        rows = {row["location"]: row for row in tileindex.rows(conn, collection.table)}
    (link,) = {row["dl_index"] for row in rows.values()}
    assert link.endswith(f"/tileindex/{collection.name}.gpkg")
    path = tmp_path / "index.gpkg"
    with urllib.request.urlopen(link, timeout=30) as reply:
        path.write_bytes(reply.read())
    dataset = ogr.Open(str(path))
    layer = dataset.GetLayerByName(collection.name)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "3857"
    found = {}
    for feature in layer:
        found[feature["location"]] = feature
    assert set(found) == set(rows)
    for location, row in rows.items():
        feature = found[location]
        assert (feature["roll"], feature["frame_num"]) == (row["roll"], row["frame_num"])
        assert feature["dl_orig"] == row["dl_orig"]
        footprint = ogr.CreateGeometryFromWkt(row["footprint"])
        assert feature.GetGeometryRef().SymDifference(footprint).GetArea() < 1e-3
