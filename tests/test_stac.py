"""STAC on the real stack: the static catalog under stac/, pgSTAC, and the STAC API over it."""

import dataclasses
import hashlib
import json
import math
import shutil
import threading
import urllib.error
import urllib.request
import uuid

import pystac
import pytest
import stac_validation
from osgeo import gdal
from psycopg2 import sql
from publish_support import fresh, index_rows, objects, s3_config, target
from pystac_client import Client

from ls4.ls4_plugin.core import keys, maintenance, pgstac, publish, stac, storage, tileindex
from ls4.ls4_plugin.core.errors import InputError, Ls4Error
from ls4.ls4_plugin.core.feedback import Feedback
from tools import sample_collection

pytestmark = pytest.mark.stack

COLLECTION = keys.Collection(band="bw", type="frames", agency="USGS", county="Stac", year="2014")
CANCELED = dataclasses.replace(COLLECTION, county="Stac Cancel")
BAD_DATE = "04-15-87_1-009.tif"  # 1987 or 2087: neither is within a year of 2014


def stac_target(stack):
    config = stac.StacConfig(enabled=True, pgstac=True, tile_links=True)
    return dataclasses.replace(target(stack), stac=config)


def forget(stack, collection):
    """``fresh`` plus the collection's STAC, static and in pgSTAC."""
    fresh(stack, collection)
    config = s3_config(stack)
    storage.delete_keys(config, list(objects(stack, f"stac/{collection.name}/")))
    pgstac.mirror(stack["postgres"]["dsn"], collection.name, None, {})
    stac.write_catalog(stac_target(stack))


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stac_frames")
    paths = sample_collection.build("bw", folder, count=2)
    bad = folder / BAD_DATE
    shutil.copy(paths[-1], bad)
    return paths, bad


@pytest.fixture(scope="module")
def published(stack, frames):
    """Three bw frames and their scans published with pgSTAC on; a fourth whose date is bad."""
    good, bad = frames
    where = stac_target(stack)
    storage.apply_public_policy(where.s3)
    forget(stack, COLLECTION)
    publish.upload_stage(where.s3, COLLECTION, "scanned", good)
    result = publish.publish_collection(where, COLLECTION, [*good, bad])
    return {"result": result, "target": where, "good": good, "bad": bad}


@pytest.fixture(scope="module")
def ls4_schema(published, stack):
    """{URI: schema} of the ls4 extension, as anyone reads it from the bucket."""
    url = stac.extension_url(published["target"])
    with urllib.request.urlopen(url, timeout=30) as reply:
        return {url: json.loads(reply.read())}


def static_items(stack):
    return stac.read_items(stac_target(stack), COLLECTION.name)


def public(stack, key):
    return storage.public_url(s3_config(stack), key)


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())


def etags(stack, prefixes):
    s3 = storage.client(s3_config(stack))
    found = {}
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack["s3"]["bucket"], Prefix=prefix
        ):
            for item in page.get("Contents", []):
                found[item["Key"]] = (item["ETag"], item["LastModified"])
    return found


# --- publishing ----------------------------------------------------------------------------


def test_a_frame_whose_date_cannot_be_read_fails_alone_with_no_item(published, stack):
    by_name = {frame.source.rsplit("/", 1)[-1]: frame for frame in published["result"].frames}
    bad = by_name.pop(BAD_DATE)
    assert bad.status == "failed"
    assert "no STAC item" in bad.message and "04-15-87" in bad.message and "2014" in bad.message
    assert {frame.status for frame in by_name.values()} == {"published"}
    # failed before any upload: no COG, no row, no item
    assert not storage.exists(s3_config(stack), COLLECTION.key("cog", BAD_DATE))
    assert "04-15-87_1-009" not in static_items(stack)
    assert len(index_rows(stack, COLLECTION.table)) == 3


def test_every_item_the_collection_and_the_catalog_validate_offline(published, stack, ls4_schema):
    items = static_items(stack)
    assert len(items) == 3
    collection = get_json(public(stack, stac.collection_key(COLLECTION.name)))
    catalog = get_json(public(stack, stac.CATALOG_KEY))
    for document in [*items.values(), collection, catalog]:
        assert stac_validation.errors(document, ls4_schema) == [], document["id"]
        rels = [link["rel"] for link in document["links"]]
        for rel in ("self", "root", "parent", "collection"):
            assert rels.count(rel) <= 1, (document["id"], rels)
        assert rels.count("root") == 1 and rels.count("self") == 1, (document["id"], rels)
    extensions = set().union(*(item["stac_extensions"] for item in items.values()))
    assert extensions == {
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/file/v2.1.0/schema.json",
        stac.WEB_MAP_LINKS,
        *ls4_schema,
    }
    assert set(collection["stac_extensions"]) == {stac.WEB_MAP_LINKS, *ls4_schema}
    children = [link["href"] for link in catalog["links"] if link["rel"] == "child"]
    assert public(stack, stac.collection_key(COLLECTION.name)) in children


def test_the_validator_rejects_what_the_schemas_forbid(published, stack):
    item = next(iter(static_items(stack).values()))
    broken = json.loads(json.dumps(item))
    broken["assets"]["image"]["proj:shape"] = ["tall", "wide"]
    broken["links"] = [link for link in broken["links"] if link["rel"] != "wms"] + [
        {"rel": "wms", "href": "http://x/wms"}  # wms:layers is required
    ]
    problems = stac_validation.errors(broken)
    assert any("projection" in problem for problem in problems), problems
    assert any("web-map-links" in problem for problem in problems), problems


def test_the_ls4_extension_schema_is_published_and_every_item_meets_it(
    published, stack, ls4_schema
):
    ((url, schema),) = ls4_schema.items()
    assert url == public(stack, "stac/extensions/ls4/v1.0.0/schema.json")
    # the schema is the plugin's file, its $id where it is published
    with open(stac.EXTENSION_FILE, encoding="utf-8") as handle:
        assert schema == json.loads(handle.read().replace("{schema_url}", url))
    assert schema["$id"] == url
    items = static_items(stack)
    collection = get_json(public(stack, stac.collection_key(COLLECTION.name)))
    validator = stac_validation.OfflineValidator(ls4_schema)
    for document in [*items.values(), collection]:
        checked = pystac.validation.validate_dict(document, validator=validator)
        assert url in checked, document["id"]
    item = items["04-15-14_1-002"]
    assert item["properties"]["ls4:county"] == "Stac"
    assert item["assets"]["image"]["ls4:transparency"] == "internal mask"
    assert collection["summaries"]["ls4:agency"] == ["USGS"]

    def broken(document, change):
        copy = json.loads(json.dumps(document))
        change(copy)
        return copy

    props = "properties"
    wrong_items = {
        "band layout not bw/nc": lambda d: d[props].update({"ls4:band_layout": "color"}),
        "unknown type": lambda d: d[props].update({"ls4:collection_type": "photo"}),
        "frame number with a space": lambda d: d[props].update({"ls4:frame_num": "00 2"}),
        "date not mm-dd-yy": lambda d: d[props].update({"ls4:date": "2014-04-15"}),
        "roll empty": lambda d: d[props].update({"ls4:roll": ""}),
        "county and mission": lambda d: d[props].update({"ls4:mission": "AR-1963"}),
        "no agency": lambda d: d[props].pop("ls4:agency"),
        "a field the extension has not": lambda d: d[props].update({"ls4:colour": "gray"}),
        "transparency unknown": lambda d: d["assets"]["image"].update({"ls4:transparency": "none"}),
        "a mosaic's date": lambda d: d[props].update({"ls4:collection_type": "mosaic"}),
    }
    wrong_collections = {
        "summary band layout": lambda d: d["summaries"].update({"ls4:band_layout": ["cir"]}),
        "summaries without the type": lambda d: d["summaries"].pop("ls4:collection_type"),
    }
    cases = [(item, name, change) for name, change in wrong_items.items()]
    cases += [(collection, name, change) for name, change in wrong_collections.items()]
    for document, name, change in cases:
        wrong = broken(document, change)
        with pytest.raises(pystac.errors.STACValidationError, match="ls4") as raised:
            pystac.validation.validate_dict(wrong, validator=validator)
        assert url in str(raised.value), name
        assert any(p.startswith(url) for p in stac_validation.errors(wrong, ls4_schema)), name
    # without the extension named in stac_extensions its schema does not apply: it must be named
    unnamed = broken(item, lambda d: d["stac_extensions"].remove(url))
    assert not any(p.startswith(url) for p in stac_validation.errors(unnamed, ls4_schema))


def test_the_collection_names_its_license_and_links_its_text(published, stack, ls4_schema):
    collection = get_json(public(stack, stac.collection_key(COLLECTION.name)))
    assert collection["license"] == "CC0-1.0"
    licenses = [link for link in collection["links"] if link["rel"] == "license"]
    assert [link["href"] for link in licenses] == [stac.DEFAULT_LICENSE_URL]
    api = Client.open(stack["stacapi"]["url"]).get_collection(COLLECTION.name)
    assert api.license == "CC0-1.0"
    assert [link.href for link in api.links if link.rel == "license"] == [stac.DEFAULT_LICENSE_URL]
    # what STAC 1.1 does not allow is refused before anything is published
    for wrong, words in (
        ({"license": "other", "license_url": ""}, "needs the URL"),
        ({"license": "various"}, "STAC 1.0"),
        ({"license": "public domain"}, "neither an SPDX"),
        ({"license": "CC-BY-4.0", "license_url": "ftp://x/license"}, "not an http"),
    ):
        with pytest.raises(InputError, match=words):
            stac.StacConfig(enabled=True, **wrong)
    items = list(static_items(stack).values())
    for config, license_name, href in (
        (
            {"license": "other", "license_url": "https://example.org/terms.html"},
            "other",
            "https://example.org/terms.html",
        ),
        (
            {"license": "CC-BY-4.0", "license_url": ""},
            "CC-BY-4.0",
            "https://spdx.org/licenses/CC-BY-4.0.html",
        ),
    ):
        where = dataclasses.replace(
            published["target"],
            stac=dataclasses.replace(published["target"].stac, **config),
        )
        document = stac.build_collection(where, COLLECTION, items)
        assert document["license"] == license_name
        assert [link["href"] for link in document["links"] if link["rel"] == "license"] == [href]
        assert stac_validation.errors(document, ls4_schema) == []


def test_one_item_per_row_with_the_footprint_postgis_transforms(published, stack):
    items = static_items(stack)
    rows = index_rows(stack, COLLECTION.table)
    stems = {stac.frame_stem(row["location"].rsplit("/", 1)[-1]) for row in rows}
    assert stems == set(items)
    query = (
        "SELECT ST_Area(ST_Transform(geom, 4326)), "
        "ST_Area(ST_SymDifference(ST_Transform(geom, 4326), ST_GeomFromGeoJSON(%s))) "
        f"FROM {COLLECTION.table} WHERE location = %s"
    )
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        for row in rows:
            item = items[stac.frame_stem(row["location"].rsplit("/", 1)[-1])]
            cur.execute(query, (json.dumps(item["geometry"]), row["location"]))
            area, difference = cur.fetchone()
            assert difference / area < 0.005, item["id"]
            assert item["properties"]["ls4:roll"] == row["roll"]
            assert item["properties"]["ls4:frame_num"] == row["frame_num"]
            assert item["assets"]["image"]["href"] == row["dl_georef"]
            assert item["assets"]["scan"]["href"] == row["dl_orig"]


def test_items_carry_dates_links_projection_and_bands(published, stack):
    item = static_items(stack)["04-15-14_1-002"]
    assert item["properties"]["datetime"] == "2014-04-15T00:00:00Z"
    assert item["properties"]["end_datetime"] == "2014-04-15T23:59:59Z"
    rels = {link["rel"]: link for link in item["links"]}
    assert rels["self"]["href"] == public(stack, stac.item_key(COLLECTION.name, item["id"]))
    assert rels["collection"]["href"] == public(stack, stac.collection_key(COLLECTION.name))
    assert rels["root"]["href"] == public(stack, stac.CATALOG_KEY)
    assert rels["wms"]["href"] == published["target"].wms_url(COLLECTION)
    assert rels["wms"]["wms:layers"] == [COLLECTION.name]
    assert rels["wmts"]["wmts:layer"] == COLLECTION.name
    with urllib.request.urlopen(rels["wmts"]["href"], timeout=30) as reply:
        assert COLLECTION.name.encode() in reply.read()
    # the XYZ tile over the frame's centre answers with a PNG
    lon = (item["bbox"][0] + item["bbox"][2]) / 2
    lat = (item["bbox"][1] + item["bbox"][3]) / 2
    zoom = 17
    x = int((lon + 180) / 360 * 2**zoom)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**zoom)
    tile = rels["xyz"]["href"].format(z=zoom, x=x, y=y)
    with urllib.request.urlopen(tile, timeout=60) as reply:
        assert reply.headers["Content-Type"] == "image/png", tile
    image = item["assets"]["image"]
    assert image["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert image["roles"] == ["data", "visual"]
    assert image["proj:code"] == "EPSG:3857" and len(image["proj:transform"]) == 6
    assert image["bands"] == [{"name": "gray", "data_type": "uint8"}]
    assert {"georef", "scan", "thumbnail"} <= set(item["assets"])
    with urllib.request.urlopen(item["assets"]["thumbnail"]["href"], timeout=30) as reply:
        assert reply.headers["Content-Type"] == "image/png"
        thumbnail = reply.read()
    path = f"/vsimem/{item['id']}.png"
    gdal.FileFromMemBuffer(path, thumbnail)
    try:
        small = gdal.Open(path)
        width, height = image["proj:shape"][1], image["proj:shape"][0]
        assert max(small.RasterXSize, small.RasterYSize) == min(256, max(width, height))
        assert small.RasterCount == 2  # gray and the mask as alpha: the collar is transparent
    finally:
        small = None
        gdal.Unlink(path)
    assert 0 < item["properties"]["gsd"] < 10


def test_every_asset_answers_anonymously_with_the_bytes_its_checksum_names(published, stack):
    for item in static_items(stack).values():
        urls = [asset["href"] for asset in item["assets"].values()]
        for name, asset in item["assets"].items():
            with urllib.request.urlopen(asset["href"], timeout=30) as reply:
                data = reply.read()
            assert len(data) == asset["file:size"], (item["id"], name)
            assert asset["file:checksum"] == "1220" + hashlib.sha256(data).hexdigest()
        for link in item["links"]:
            if link["rel"] in ("self", "parent", "collection", "root"):
                urls.append(link["href"])
        for url in urls:
            with urllib.request.urlopen(url, timeout=30) as reply:
                assert reply.status == 200, url


def test_the_collection_extent_is_exact_and_lists_every_item(published, stack):
    collection = get_json(public(stack, stac.collection_key(COLLECTION.name)))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            f"ST_Extent(ST_Transform(geom, 4326)) AS e FROM {COLLECTION.table}) AS x"
        )
        expected = cur.fetchone()
    assert collection["extent"]["spatial"]["bbox"][0] == pytest.approx(expected, abs=1e-7)
    assert collection["extent"]["temporal"]["interval"] == [
        ["2014-04-15T00:00:00Z", "2014-04-15T23:59:59Z"]
    ]
    hrefs = {link["href"] for link in collection["links"] if link["rel"] == "item"}
    assert hrefs == {public(stack, stac.item_key(COLLECTION.name, i)) for i in static_items(stack)}
    assert collection["summaries"]["ls4:band_layout"] == ["bw"]
    assert set(collection["item_assets"]) == {"image", "georef", "scan", "thumbnail"}
    roles = {p["name"]: p["roles"] for p in collection["providers"]}
    assert roles["USGS"] == ["producer"]
    # the tile index download (every row's dl_index) is the collection's asset, and answers
    rows = index_rows(stack, COLLECTION.table)
    index = collection["assets"]["tile_index"]
    assert {row["dl_index"] for row in rows} == {index["href"]}
    assert index["type"] == "application/geopackage+sqlite3" and index["roles"] == ["metadata"]
    with urllib.request.urlopen(index["href"], timeout=30) as reply:
        path = f"/vsimem/{COLLECTION.name}.gpkg"
        gdal.FileFromMemBuffer(path, reply.read())
    try:
        geopackage = gdal.OpenEx(path, gdal.OF_VECTOR)
        assert geopackage.GetLayerByName(COLLECTION.name).GetFeatureCount() == len(rows)
    finally:
        geopackage = None
        gdal.Unlink(path)


# --- pgSTAC and the STAC API ---------------------------------------------------------------


def test_pgstac_holds_what_the_static_catalog_holds(published, stack):
    collection, items = pgstac.state(stack["postgres"]["dsn"], COLLECTION.name)
    static = static_items(stack)
    assert set(items) == set(static)
    for item_id, item in items.items():
        for part in ("properties", "assets", "geometry", "bbox", "stac_extensions"):
            assert item[part] == static[item_id][part], (item_id, part)
    assert (
        collection["extent"]
        == get_json(public(stack, stac.collection_key(COLLECTION.name)))["extent"]
    )


def test_the_stac_api_searches_by_bbox_and_datetime(published, stack, ls4_schema):
    client = Client.open(stack["stacapi"]["url"])
    static = static_items(stack)
    listed = {collection.id: collection for collection in client.get_collections()}
    assert COLLECTION.name in listed
    api_collection = listed[COLLECTION.name]
    expected = get_json(public(stack, stac.collection_key(COLLECTION.name)))["extent"]
    assert api_collection.extent.spatial.bboxes[0] == pytest.approx(
        expected["spatial"]["bbox"][0], abs=1e-9
    )
    minx, miny, maxx, maxy = expected["spatial"]["bbox"][0]
    west = [minx, miny, minx + (maxx - minx) * 0.2, maxy]
    inside = {
        item_id
        for item_id, item in static.items()
        if item["bbox"][0] <= west[2] and item["bbox"][2] >= west[0]
    }
    assert 0 < len(inside) < len(static)  # the box really selects

    def ids(**query):
        search = client.search(collections=[COLLECTION.name], max_items=100, **query)
        return {item.id for item in search.items()}

    assert ids(bbox=west, datetime="2014-04-01/2014-04-30") == _intersecting(stack, west)
    assert _intersecting(stack, west) <= inside  # footprints meet the box only where bboxes do
    assert ids(bbox=west, datetime="2013-01-01/2013-12-31") == set()
    assert ids(datetime="2014-04-15") == set(static)
    # what the API returns meets the same schemas, the ls4 extension's included
    validator = stac_validation.OfflineValidator(ls4_schema)
    search = client.search(collections=[COLLECTION.name], max_items=100)
    for document in [api_collection.to_dict(), *(i.to_dict() for i in search.items())]:
        checked = pystac.validation.validate_dict(document, validator=validator)
        assert set(ls4_schema) <= set(checked), document["id"]


def _intersecting(stack, box):
    """The frames whose footprint (as PostGIS transforms it) meets ``box``."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT location FROM {COLLECTION.table} WHERE ST_Intersects("
            "ST_Transform(geom, 4326), ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            box,
        )
        return {stac.frame_stem(row[0].rsplit("/", 1)[-1]) for row in cur.fetchall()}


# --- consistency ---------------------------------------------------------------------------


def test_publishing_again_rewrites_no_stac_object(published, stack):
    prefixes = [f"stac/{COLLECTION.name}/", stac.CATALOG_KEY, stac.EXTENSION_KEY]
    before = etags(stack, prefixes)
    dsn = stack["postgres"]["dsn"]
    with tileindex.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, xmin::text FROM pgstac.items WHERE collection = %s", (COLLECTION.name,)
        )
        rows_before = dict(cur.fetchall())
    again = publish.publish_collection(published["target"], COLLECTION, published["good"])
    assert {frame.status for frame in again.frames} == {"unchanged"}
    assert again.stac == {"collection": "unchanged", "catalog": "unchanged", "pgstac": "unchanged"}
    assert etags(stack, prefixes) == before
    with tileindex.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, xmin::text FROM pgstac.items WHERE collection = %s", (COLLECTION.name,)
        )
        assert dict(cur.fetchall()) == rows_before


def test_an_item_waits_for_another_frames_transaction_on_the_shared_connection(
    published, stack, tmp_path
):
    """The frames of a run share one connection (LocalExecutor threads): writing an Item reads
    the frame's row only when no other frame's transaction is open on it, and never commits that
    transaction (here: one that then fails and is rolled back)."""
    where = published["target"]
    name = published["good"][0].name
    cog_path = tmp_path / name
    storage.download_file(where.s3, COLLECTION.key("cog", name), str(cog_path))
    stray = f"stray_{uuid.uuid4().hex[:10]}"
    outcome = []
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:

        def write():
            try:
                outcome.append(stac.write_item(where, COLLECTION, name, cog_path, conn))
            except Exception as error:  # reported below, in the test's thread
                outcome.append(error)

        writer = threading.Thread(target=write)
        with (
            pytest.raises(RuntimeError, match="the other frame"),
            tileindex._transaction(conn) as cur,  # another frame's, still open
        ):
            cur.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(stray)))
            writer.start()
            writer.join(3)
            waited = writer.is_alive()
            raise RuntimeError("the other frame failed")
        writer.join(120)
        assert not tileindex.table_exists(conn, stray)  # rolled back, not committed by the item
        assert waited
        assert outcome == ["unchanged"]


def test_a_database_error_while_writing_an_item_is_the_cores_and_leaves_the_connection_usable(
    published, stack, tmp_path
):
    where = published["target"]
    name = published["good"][0].name
    cog_path = tmp_path / name
    storage.download_file(where.s3, COLLECTION.key("cog", name), str(cog_path))
    missing = dataclasses.replace(COLLECTION, county="Stac Missing")  # no table
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        with pytest.raises(Ls4Error, match=f"PostgreSQL .*{missing.table}") as caught:
            stac.write_item(where, missing, name, cog_path, conn)
        assert not isinstance(caught.value, InputError)
        # the failed statement was rolled back: the next frame's statements run
        assert tileindex.count(conn, COLLECTION.table) == 3


def test_collection_info_links_each_frame_to_its_item_and_says_the_bucket_is_public(
    published, stack
):
    where = published["target"]
    dsn = stack["postgres"]["dsn"]
    template = stack["mapserver"]["wms_url_template"]

    class Infos(Feedback):
        def __init__(self):
            super().__init__()
            self.infos = []

        def pushInfo(self, text):
            self.infos.append(text)

    feedback = Infos()
    info = publish.collection_info(dsn, COLLECTION, lambda: where.s3, True, template, feedback)
    assert (info.exists, info.band_layout, info.public_read) == (True, "bw", "yes")
    assert info.wms_url == template.format(collection=COLLECTION.name)
    assert len(info.frames) == 3
    for frame in info.frames:
        item = get_json(frame["stac_item"])
        assert item["id"] == stac.frame_stem(frame["file"])
        assert item["assets"]["image"]["href"] == frame["dl_georef"]

    def no_s3():
        raise Ls4Error("no bucket in LS4 settings")

    info = publish.collection_info(dsn, COLLECTION, no_s3, True, "http://x/wms", feedback)
    assert {frame["stac_item"] for frame in info.frames} == {""}
    assert (info.public_read, info.wms_url) == ("", "")
    assert feedback.infos[-1] == "Public read of the bucket not checked: no bucket in LS4 settings"
    assert feedback.infos[0] == f"{COLLECTION.name}: 3 frame(s) in the index"
    off = publish.collection_info(dsn, COLLECTION, lambda: where.s3, False, template)
    assert {frame["stac_item"] for frame in off.frames} == {""}


def test_a_canceled_run_has_items_for_exactly_the_frames_that_finished(stack, frames):
    good, _bad = frames
    where = stac_target(stack)
    forget(stack, CANCELED)

    class CancelAfterFirstUpload(Feedback):
        def pushInfo(self, text):
            if "uploaded to" in text:
                self.cancel()

    feedback = CancelAfterFirstUpload()
    with pytest.raises(Exception, match="[Cc]ancel"):
        publish.publish_collection(where, CANCELED, good, feedback=feedback)
    rows = index_rows(stack, CANCELED.table)
    finished = {stac.frame_stem(row["location"].rsplit("/", 1)[-1]) for row in rows}
    assert 0 < len(finished) < len(good)
    assert set(stac.read_items(where, CANCELED.name)) == finished
    _collection, in_pgstac = pgstac.state(stack["postgres"]["dsn"], CANCELED.name)
    assert set(in_pgstac) == finished
    forget(stack, CANCELED)


def test_publishing_and_writestac_take_pgstac_as_a_parameter_with_help(ls4_provider):
    for name in ("publishcollection", "writestac"):
        definition = ls4_provider.algorithm(name).parameterDefinition("PGSTAC")
        assert definition is not None and "pgstac" in definition.help(), name


def test_writestac_rebuilds_the_same_catalog_from_the_tile_index(
    published, stack, run_alg, qgis_app
):
    from ls4.ls4_plugin import settings
    from tools import qgis_env

    qgis_env.configure(stack)
    settings.set_value("stac/tile_links", True)  # as the published items have them
    prefix = f"stac/{COLLECTION.name}/"
    config = s3_config(stack)
    before = {key: storage.get_bytes(config, key) for key in objects(stack, prefix)}
    storage.delete_keys(config, list(before))
    pgstac.mirror(stack["postgres"]["dsn"], COLLECTION.name, None, {})
    results = run_alg(
        "writestac",
        {"COUNTY": "Stac", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "PGSTAC": True},
    )
    assert (results["WRITTEN"], results["UNCHANGED"], results["FAILED"]) == (3, 0, 0)
    assert results["COLLECTION_URL"] == public(stack, stac.collection_key(COLLECTION.name))
    after = {key: storage.get_bytes(config, key) for key in objects(stack, prefix)}
    assert after == before
    _collection, in_pgstac = pgstac.state(stack["postgres"]["dsn"], COLLECTION.name)
    assert set(in_pgstac) == set(static_items(stack))
    again = run_alg(
        "writestac",
        {"COUNTY": "Stac", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "PGSTAC": True},
    )
    assert (again["WRITTEN"], again["UNCHANGED"]) == (0, 3)
    settings.set_value("stac/tile_links", False)


def test_the_license_and_publisher_settings_reach_the_catalog_and_the_api(
    published, stack, run_alg, qgis_app
):
    from ls4.ls4_plugin import settings
    from tools import qgis_env

    qgis_env.configure(stack)
    key = stac.collection_key(COLLECTION.name)
    config = s3_config(stack)
    before = storage.get_bytes(config, key)
    parameters = {"COUNTY": "Stac", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "PGSTAC": True}
    chosen = {
        "stac/license": "other",
        "stac/license_url": "https://example.org/ls4-terms.html",
        "stac/publisher": "Example Archive",
        "stac/publisher_url": "https://example.org/",
        "stac/tile_links": True,  # as the published items have them
    }
    try:
        for name, value in chosen.items():
            settings.set_value(name, value)
        run_alg("writestac", parameters)
        collection = get_json(public(stack, key))
        api = Client.open(stack["stacapi"]["url"]).get_collection(COLLECTION.name)
        for license_name, links, providers in (
            (collection["license"], collection["links"], collection["providers"]),
            (api.license, [link.to_dict() for link in api.links], api.to_dict()["providers"]),
        ):
            assert license_name == "other"
            hrefs = [link["href"] for link in links if link["rel"] == "license"]
            assert hrefs == ["https://example.org/ls4-terms.html"]
            host = [p for p in providers if "host" in p["roles"]]
            assert [(p["name"], p.get("url")) for p in host] == [
                ("Example Archive", "https://example.org/")
            ]
        settings.set_value("stac/license", "various")
        with pytest.raises(Exception, match="STAC 1.0"):
            run_alg("writestac", parameters)
    finally:
        for name in chosen:
            settings.set_value(name, settings.DEFAULTS[name])
        settings.set_value("stac/tile_links", True)
        run_alg("writestac", parameters)
        settings.set_value("stac/tile_links", False)
    assert storage.get_bytes(config, key) == before


def test_maintenance_reports_and_repairs_stac_out_of_step(published, stack):
    where = published["target"]
    dsn = stack["postgres"]["dsn"]
    items = static_items(stack)
    # the frame reaching furthest east loses its COG, and pgSTAC loses another item
    by_east = sorted(items, key=lambda item_id: items[item_id]["bbox"][2])
    gone, lost, unlisted = by_east[-1], by_east[0], by_east[1]
    assert items[gone]["bbox"][2] > items[by_east[-2]]["bbox"][2]
    with tileindex.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "DELETE FROM pgstac.items WHERE collection = %s AND id = %s", (COLLECTION.name, lost)
        )
        conn.commit()
    before = get_json(public(stack, stac.collection_key(COLLECTION.name)))["extent"]
    storage.delete_keys(where.s3, [COLLECTION.key("cog", gone + ".tif")])
    unlisted_item = stac.item_key(COLLECTION.name, unlisted)
    unlisted_bytes = storage.get_bytes(where.s3, unlisted_item)
    stac.delete_item(where, COLLECTION.name, unlisted)  # its COG and row stay
    schema = storage.get_bytes(where.s3, stac.EXTENSION_KEY)
    storage.delete_keys(where.s3, [stac.EXTENSION_KEY])  # the items name it: it must be there
    report = maintenance.check(where, [COLLECTION.name])
    assert stac.EXTENSION_KEY in {finding.subject for finding in report.findings}
    kinds = {finding.kind for finding in report.findings}
    assert {
        "row_without_cog",
        "stac_item_without_cog",
        "stac_cog_without_item",
        "stac_collection_stale",
        "stac_pgstac_out_of_step",
    } <= kinds
    maintenance.repair(where, report)
    assert set(static_items(stack)) == set(items) - {gone}
    assert storage.get_bytes(where.s3, unlisted_item) == unlisted_bytes  # written back the same
    assert storage.get_bytes(where.s3, stac.EXTENSION_KEY) == schema
    _collection, in_pgstac = pgstac.state(dsn, COLLECTION.name)
    assert set(in_pgstac) == set(items) - {gone}
    after = get_json(public(stack, stac.collection_key(COLLECTION.name)))["extent"]
    assert after["spatial"]["bbox"][0] != before["spatial"]["bbox"][0]
    old, new = before["spatial"]["bbox"][0], after["spatial"]["bbox"][0]
    assert new[0] >= old[0] and new[1] >= old[1] and new[2] <= old[2] and new[3] <= old[3]
    client = Client.open(stack["stacapi"]["url"])
    api = client.get_collection(COLLECTION.name)
    assert api.extent.spatial.bboxes[0] == pytest.approx(new, abs=1e-9)
    assert {item.id for item in api.get_items()} == set(items) - {gone}
    assert not [f for f in maintenance.check(where, [COLLECTION.name]).findings]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(public(stack, stac.item_key(COLLECTION.name, gone)), timeout=10)
    # pgSTAC's footprint of an item moved (its properties unchanged): found and put back
    with tileindex.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE pgstac.items SET geometry = ST_Translate(geometry, 0.001, 0) "
            "WHERE collection = %s AND id = %s",
            (COLLECTION.name, lost),
        )
        conn.commit()
    report = maintenance.check(where, [COLLECTION.name])
    assert [(f.kind, lost in f.detail) for f in report.findings] == [
        ("stac_pgstac_out_of_step", True)
    ]
    maintenance.repair(where, report)
    _collection, in_pgstac = pgstac.state(dsn, COLLECTION.name)
    assert in_pgstac[lost]["geometry"] == static_items(stack)[lost]["geometry"]
    assert not maintenance.check(where, [COLLECTION.name]).findings


def test_maintenance_rewrites_an_item_an_older_ls4_wrote(published, stack, ls4_schema):
    where = published["target"]
    items = static_items(stack)
    stem = sorted(items)[0]
    key = stac.item_key(COLLECTION.name, stem)
    current = storage.get_bytes(where.s3, key)
    old = json.loads(current)
    old["stac_extensions"].remove(stac.extension_url(where))  # as LS4 wrote items before v1.0.0
    stac.put_if_changed(where.s3, key, stac.encode(old), stac.GEOJSON_TYPE)
    report = maintenance.check(where, [COLLECTION.name])
    outdated = [f for f in report.findings if f.kind == "stac_item_outdated"]
    assert [f.subject for f in outdated] == [COLLECTION.key("cog", stem + ".tif")]
    assert key in outdated[0].detail and "ls4" in outdated[0].detail
    maintenance.repair(where, report)
    assert storage.get_bytes(where.s3, key) == current
    assert stac_validation.errors(json.loads(current), ls4_schema) == []
    _collection, in_pgstac = pgstac.state(stack["postgres"]["dsn"], COLLECTION.name)
    assert in_pgstac[stem]["stac_extensions"] == json.loads(current)["stac_extensions"]
    assert not maintenance.check(where, [COLLECTION.name]).findings
