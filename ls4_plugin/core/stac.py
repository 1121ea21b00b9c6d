"""STAC for published collections: one Item per frame, a Collection per LS4 collection, a root
Catalog, all public under ``stac/`` beside the WMS (GUIDE §2), and the same in pgSTAC.

Layout (keys in the bucket, served at their public URLs)::

    stac/catalog.json                              the root Catalog: a child link per collection
    stac/<collection>/collection.json              the Collection
    stac/<collection>/items/<frame stem>.json      one Item per row of the tile index
    stac/<collection>/thumbnails/<frame stem>.png  the Item's thumbnail (its COG's smallest level)
    stac/extensions/ls4/v1.0.0/schema.json         the JSON Schema of the ``ls4:`` fields

The ``ls4:`` fields (the tile index fields as Item properties, the COG's transparency, the
Collection's summaries) are a STAC extension of LS4's own: its JSON Schema ships with the plugin
(``data/stac-extension-ls4-v1.0.0.json``, fields in ``docs/stac-extension-ls4.md``) and is
published beside the catalog, at the public URL every Item and Collection names in
``stac_extensions`` (as the state's own STAC tooling publishes its ``txgio:`` schema in its
bucket).

Everything is derived: an Item from its tile index row (footprint transformed to EPSG:4326 by
PostGIS, the fields), its COG (projection, bands, thumbnail) and the heads of its objects on S3
(size and SHA-256 of each asset); the Collection from the Items; the Catalog from the
collections under ``stac/``. An object is written only when its bytes change (a PUT replaces an
S3 object whole: readers see the old version or the new one, never a part), so publishing an
unchanged frame again rewrites nothing.

Dates: a frame's ``mm-dd-yy`` names a day (``datetime`` its start, ``start_datetime`` and
``end_datetime`` the whole day, UTC: the time of the flight is unknown). The century comes from
the collection's year (or the year in a mission code, ``AR-1963``): the frame's year must be that
year or next to it (a flight across New Year). A frame whose date cannot be read that way gets
no Item, and ``check_frame`` says so before anything is uploaded: publishing fails that frame
(the others go on), so the estate never holds a COG without its Item. Index sheets and mosaics
cover their collection's year (``start_datetime``/``end_datetime``; ``datetime`` null).
"""

import datetime
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pystac
from botocore.exceptions import ClientError
from osgeo import gdal
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension

from . import downloads, keys, storage, tileindex, tiles
from .errors import InputError, Ls4Error
from .feedback import FeedbackLike
from .gdalutil import Dataset
from .keys import Collection, CollectionName
from .pgstac import Document

if TYPE_CHECKING:
    from .publish import Target

PREFIX = "stac/"
CATALOG_KEY = "stac/catalog.json"
CATALOG_ID = "ls4"
WEB_MAP_LINKS = "https://stac-extensions.github.io/web-map-links/v1.2.0/schema.json"
EXTENSION_KEY = "stac/extensions/ls4/v1.0.0/schema.json"
EXTENSION_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "data", "stac-extension-ls4-v1.0.0.json"
)
SCHEMA_TYPE = "application/schema+json"
DEFAULT_LICENSE = "CC0-1.0"
DEFAULT_LICENSE_URL = "https://creativecommons.org/publicdomain/zero/1.0/legalcode"
# STAC 1.1: an SPDX license identifier or expression, or "other" (then a "license" link names the
# document); "various" and "proprietary" are STAC 1.0 words that 1.1 no longer has.
_SPDX = re.compile(r"[A-Za-z0-9.+-]+( +(AND|OR|WITH) +[A-Za-z0-9.+-]+)*", re.ASCII)
JSON_TYPE = "application/json"
GEOJSON_TYPE = "application/geo+json"
THUMBNAIL_SIZE = 256
READERS = 8  # Items read from S3 at once (within boto3's pool of 10 connections)
# A frame's year may be its collection's or next to it (flights across New Year).
YEAR_SLACK = 1
_YEAR_IN_MISSION = re.compile(r"(1[89][0-9]{2}|20[0-9]{2})")
GDAL_TYPES = {
    gdal.GDT_Byte: "uint8",
    gdal.GDT_UInt16: "uint16",
    gdal.GDT_Int16: "int16",
    gdal.GDT_UInt32: "uint32",
    gdal.GDT_Int32: "int32",
    gdal.GDT_Float32: "float32",
    gdal.GDT_Float64: "float64",
}
BAND_NAMES = {"bw": ["gray"], "nc": ["red", "green", "blue"]}


@dataclass(frozen=True)
class StacConfig:
    """What STAC publishing needs beyond a ``publish.Target``.

    ``enabled``: write the static catalog (off by default in the core, on in the plugin's
    settings: a caller of the core says what it wants).
    ``pgstac``: load into pgSTAC too; ``pgstac_dsn``: its database (empty: the tile index's).
    ``tile_links``: link the tile service LS4 writes beside the WMS (MapProxy, ``tiles.py``);
    ``wmts_url_template``/``xyz_url_template``: another tile service's URLs instead
    (``{collection}`` is replaced; the XYZ template keeps ``{z}``, ``{x}``, ``{y}``).
    ``license``: the collections' license as STAC 1.1 has it, an SPDX identifier (or
    expression) or ``other``; ``license_url``: the license's text, linked as ``rel=license``
    (required for ``other``; empty with an SPDX id: its page on spdx.org).
    ``publisher``/``publisher_url``: the host and processor named in ``providers``.
    """

    enabled: bool = False
    pgstac: bool = False
    pgstac_dsn: str = ""
    publisher: str = "Texas Natural Resources Information System (TNRIS)"
    publisher_url: str = ""
    license: str = DEFAULT_LICENSE
    license_url: str = DEFAULT_LICENSE_URL
    tile_links: bool = False
    wmts_url_template: str = ""
    xyz_url_template: str = ""

    def __post_init__(self) -> None:
        if not self.enabled:
            return
        license_link(self)  # a wrong license is refused before anything is published
        if self.publisher_url and not _is_web_address(self.publisher_url):
            raise InputError(f"STAC publisher URL {self.publisher_url!r} is not an http(s) address")


def _is_web_address(text: str | None) -> bool:
    return re.fullmatch(r"https?://[^\s/]+(/\S*)?", text or "") is not None


def license_link(config: StacConfig) -> tuple[str, str, str]:
    """``(license, href, title)`` of a ``StacConfig``: the collection's ``license`` field and
    its ``rel=license`` link. Raises ``InputError`` for what STAC 1.1 does not allow."""
    name = (config.license or "").strip()
    url = (config.license_url or "").strip()
    if name.lower() in ("various", "proprietary"):
        raise InputError(
            f"STAC license {name!r} is STAC 1.0's; STAC 1.1 wants an SPDX identifier or "
            "'other' with the license's URL"
        )
    if not _SPDX.fullmatch(name):
        raise InputError(
            f"STAC license {name!r} is neither an SPDX identifier (e.g. CC0-1.0, CC-BY-4.0) "
            "nor 'other'"
        )
    if url and not _is_web_address(url):
        raise InputError(f"STAC license URL {url!r} is not an http(s) address")
    if name == "other":
        if not url:
            raise InputError("STAC license 'other' needs the URL of the license's text")
        return name, url, "license"
    if not url and " " in name:
        raise InputError(f"STAC license {name!r} is an SPDX expression: give the URL of its text")
    return name, url or f"https://spdx.org/licenses/{name}.html", name


# --- keys and URLs -------------------------------------------------------------------------


def collection_key(name: str) -> str:
    return f"{PREFIX}{name}/collection.json"


def item_key(name: str, stem: str) -> str:
    return f"{PREFIX}{name}/items/{stem}.json"


def thumbnail_key(name: str, stem: str) -> str:
    return f"{PREFIX}{name}/thumbnails/{stem}.png"


def items_prefix(name: str) -> str:
    return f"{PREFIX}{name}/items/"


def extension_url(target: "Target") -> str:
    """The public URL of the ``ls4:`` extension's schema: its id in ``stac_extensions``."""
    return storage.public_url(target.s3, EXTENSION_KEY)


def item_extensions(target: "Target") -> list[str]:
    """The ``stac_extensions`` every Item LS4 writes names (an Item without one of them was
    written by an older LS4: maintenance rewrites it)."""
    return sorted(
        {
            FileExtension.get_schema_uri(),
            ProjectionExtension.get_schema_uri(),
            WEB_MAP_LINKS,
            extension_url(target),
        }
    )


def extension_schema(target: "Target") -> Document:
    """The ``ls4:`` extension's JSON Schema as published for ``target`` (its ``$id`` the URL)."""
    with open(EXTENSION_FILE, encoding="utf-8") as handle:
        text = handle.read()
    return json.loads(text.replace("{schema_url}", extension_url(target)))


def frame_stem(filename: str) -> str:
    """The Item id of a frame: its file name without the extension (identity ignores its case)."""
    return os.path.splitext(filename)[0]


# --- dates ---------------------------------------------------------------------------------


def reference_year(collection: CollectionName) -> int | None:
    """The year the collection's dates are read against: its year, or the one in its mission."""
    if collection.year:
        return int(collection.year)
    found = _YEAR_IN_MISSION.search(collection.mission or "")
    return int(found.group(1)) if found else None


def frame_dates(
    collection: CollectionName, filename: str
) -> tuple[datetime.datetime | None, datetime.datetime, datetime.datetime]:
    """``(datetime, start, end)`` of a file of ``collection`` (``datetime`` None for a range).

    Raises ``InputError`` saying why when the date cannot be read (see the module's notes).
    """
    name = keys.parse_filename(filename, collection.type)
    year = reference_year(collection)
    if name.kind != "frames":
        if year is None:
            raise InputError(
                f"{filename}: no STAC item: the collection {collection.name} has no year "
                "(its mission code names none), so its date range is unknown"
            )
        start = datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc)
        end = datetime.datetime(year, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
        return None, start, end
    day = _frame_day(collection, filename, cast(str, name.date), year)  # a frame has a date
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.timezone.utc)
    return start, start, start + datetime.timedelta(hours=23, minutes=59, seconds=59)


def _frame_day(
    collection: CollectionName, filename: str, text: str, year: int | None
) -> datetime.date:
    month, day, short = (int(part) for part in text.split("-"))
    candidates: list[datetime.date] = []
    for century in (1900, 2000):
        try:
            candidates.append(datetime.date(century + short, month, day))
        except ValueError:
            continue
    today = datetime.date.today()
    candidates = [c for c in candidates if c.year >= keys.FIRST_YEAR and c <= today]
    if year is not None:
        near = [c for c in candidates if abs(c.year - year) <= YEAR_SLACK]
        if near:
            return near[0]
        raise InputError(
            f"{filename}: no STAC item: its date {text} cannot be read as a day within a year "
            f"of the collection's {year}"
        )
    if len(candidates) == 1:
        return candidates[0]
    years = " or ".join(str(c.year) for c in candidates) or "no real day"
    raise InputError(
        f"{filename}: no STAC item: its date {text} could be {years} and the collection "
        f"{collection.name} names no year to decide"
    )


def check_frame(collection: CollectionName, filename: str) -> None:
    """Raise ``InputError`` when ``filename`` could not get an Item (before any upload)."""
    frame_dates(collection, filename)


# --- reading what publish knows ------------------------------------------------------------


@dataclass
class ObjectInfo:
    key: str
    href: str
    size: int
    checksum: str  # sha2-256 multihash, hex

    def apply(self, asset: pystac.Asset) -> None:
        extension = FileExtension.ext(asset, add_if_missing=True)
        extension.size = self.size
        extension.checksum = self.checksum


def multihash(sha256_hex: str) -> str:
    """The multihash of a SHA-256 digest (0x12, 32 bytes, the digest), as the file extension
    writes checksums."""
    return "1220" + sha256_hex


def object_info(
    config: storage.S3Config,
    key: str,
    s3: storage.S3Client | None = None,
    local_path: str | os.PathLike[str] | None = None,
) -> ObjectInfo | None:
    """``ObjectInfo`` of ``key``, or None when there is no such object.

    The SHA-256 is the one LS4 keeps with each upload; an object written by something else is
    hashed from ``local_path`` (the same bytes) or read once from S3.
    """
    s3 = s3 or storage.client(config)
    with storage.s3_errors(config, key):
        try:
            head = s3.head_object(Bucket=config.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in storage.NOT_FOUND:
                return None
            raise
    return object_info_of_head(config, key, head, local_path)


def object_info_of_head(
    config: storage.S3Config,
    key: str,
    head: Mapping[str, Any],
    local_path: str | os.PathLike[str] | None = None,
) -> ObjectInfo:
    """``object_info`` from the answer of a HEAD of ``key`` that the caller made already."""
    digest = head.get("Metadata", {}).get(storage.CHECKSUM_KEY)
    if not digest:
        digest = storage.file_sha256(local_path) if local_path else _sha256_of_object(config, key)
    return ObjectInfo(
        key, storage.public_url(config, key), head["ContentLength"], multihash(digest)
    )


def uploaded_info(
    config: storage.S3Config, key: str, path: str | os.PathLike[str], sha256: str
) -> ObjectInfo:
    """``ObjectInfo`` of the object just uploaded to ``key`` from ``path`` (SHA-256 ``sha256``),
    without asking S3 again: the object holds those bytes."""
    return ObjectInfo(
        key, storage.public_url(config, key), os.path.getsize(path), multihash(sha256)
    )


def scan_names(filename: str) -> list[str]:
    """The file names a frame's scan may have in ``scanned/``, in the order they are looked for."""
    stem, extension = os.path.splitext(filename)
    return list(dict.fromkeys((filename, stem + extension.lower(), stem + extension.upper())))


def _sha256_of_object(config: storage.S3Config, key: str) -> str:
    digest = hashlib.sha256()
    with storage.s3_errors(config, key):
        body = storage.client(config).get_object(Bucket=config.bucket, Key=key)["Body"]
        for block in iter(lambda: body.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class CogInfo:
    shape: list[int]
    transform: list[float]
    bbox: list[float]
    bands: list[dict[str, Any]]
    gsd: float
    transparency: str = ""  # "internal mask" or "alpha band" when no band has a nodata value


def cog_info(path: str | os.PathLike[str], dataset: Dataset | None = None) -> CogInfo:
    """Projection, bands and ground sample distance of a COG in EPSG:3857 (``dataset``: the
    COG at ``path``, when the caller has it open)."""
    if dataset is None:
        dataset = gdal.Open(os.fspath(path))
    if dataset is None:
        raise InputError(f"{path}: cannot be read as a raster")
    gt = dataset.GetGeoTransform()
    width, height = dataset.RasterXSize, dataset.RasterYSize
    xs = (gt[0], gt[0] + width * gt[1])
    ys = (gt[3], gt[3] + height * gt[5])
    bbox = [min(xs), min(ys), max(xs), max(ys)]
    bands: list[dict[str, Any]] = []
    for number in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(number)
        if band.GetColorInterpretation() == gdal.GCI_AlphaBand:
            continue
        entry: dict[str, Any] = {"data_type": GDAL_TYPES.get(band.DataType, "other")}
        nodata = band.GetNoDataValue()
        if nodata is not None:
            entry["nodata"] = nodata if math.isfinite(nodata) else "nan"
        bands.append(entry)
    # EPSG:3857 metres shrink by cos(latitude) on the ground: the gsd at the centre.
    centre_y = (bbox[1] + bbox[3]) / 2
    latitude = math.degrees(2 * math.atan(math.exp(centre_y / 6378137.0)) - math.pi / 2)
    gsd = abs(gt[1]) * math.cos(math.radians(latitude))
    transparency = ""
    if not any("nodata" in band for band in bands):
        alpha = dataset.RasterCount > len(bands)  # an alpha band's mask flags say per-dataset too
        transparency = "alpha band" if alpha else "internal mask" if has_mask(dataset) else ""
    return CogInfo(
        shape=[height, width],
        transform=[gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]],
        bbox=bbox,
        bands=bands,
        gsd=round(gsd, 3),
        transparency=transparency,
    )


def has_mask(dataset: Dataset) -> bool:
    """Whether the COG's transparency is an internal mask (shared by its bands)."""
    flags = dataset.GetRasterBand(1).GetMaskFlags()
    return bool(flags & gdal.GMF_PER_DATASET) and not flags & gdal.GMF_ALL_VALID


def thumbnail_png(
    cog_path: str | os.PathLike[str], folder: str, dataset: Dataset | None = None
) -> str:
    """A PNG at most ``THUMBNAIL_SIZE`` wide or high from the COG's smallest overview that is
    still at least that size, the collar transparent (the mask as alpha); returns its path.
    ``dataset``: the COG at ``cog_path``, when the caller has it open."""
    if dataset is None:
        dataset = gdal.Open(os.fspath(cog_path))
    width, height = dataset.RasterXSize, dataset.RasterYSize
    band = dataset.GetRasterBand(1)
    level = None
    for number in range(band.GetOverviewCount()):
        overview = band.GetOverview(number)
        if max(overview.XSize, overview.YSize) >= THUMBNAIL_SIZE:
            level = number  # overviews come largest first: keep the last that is big enough
    masked = has_mask(dataset)
    count = sum(
        1
        for n in range(1, dataset.RasterCount + 1)
        if dataset.GetRasterBand(n).GetColorInterpretation() != gdal.GCI_AlphaBand
    )
    if level is not None:
        dataset = gdal.OpenEx(os.fspath(cog_path), open_options=[f"OVERVIEW_LEVEL={level}"])
    scale = max(1.0, max(width, height) / THUMBNAIL_SIZE)  # never larger than the COG
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    options = ["-of", "PNG", "-outsize", str(size[0]), str(size[1]), "-r", "average"]
    options += [part for number in range(1, count + 1) for part in ("-b", str(number))]
    options += ["-b", "mask"] if masked else []
    path = os.path.join(folder, "thumbnail.png")
    gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO")  # no .aux.xml
    try:
        done = gdal.Translate(path, dataset, options=options)
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", None)
    if done is None:
        raise Ls4Error(f"{cog_path}: the thumbnail could not be written: {gdal.GetLastErrorMsg()}")
    done = None  # noqa: F841  (closes the PNG)
    return path


# --- building ------------------------------------------------------------------------------


def _link(
    rel: str, href: str, media_type: str = JSON_TYPE, title: str | None = None, **extra: Any
) -> pystac.Link:
    return pystac.Link(rel, href, media_type=media_type, title=title, extra_fields=extra or None)


def _urls(target: "Target", name: str) -> dict[str, str]:
    config = target.s3
    return {
        "root": storage.public_url(config, CATALOG_KEY),
        "collection": storage.public_url(config, collection_key(name)),
    }


def web_map_links(target: "Target", collection: Collection) -> list[pystac.Link]:
    """The web-map-links of a collection: its WMS, and its WMTS and XYZ when configured."""
    links = [
        pystac.Link(
            "wms",
            target.wms_url(collection),
            media_type="text/xml",
            title=f"{collection.title} (WMS)",
            extra_fields={"wms:layers": [collection.name]},
        )
    ]
    wmts, xyz = _tile_urls(target, collection)
    if wmts:
        links.append(
            pystac.Link(
                "wmts",
                wmts,
                media_type="application/xml",
                title=f"{collection.title} (WMTS)",
                extra_fields={"wmts:layer": collection.name},
            )
        )
    if xyz:
        links.append(
            pystac.Link("xyz", xyz, media_type="image/png", title=f"{collection.title} (XYZ)")
        )
    return links


def _tile_urls(target: "Target", collection: Collection) -> tuple[str, str]:
    """``(WMTS capabilities URL, XYZ template)`` of the collection's tile service, or ""."""
    config = stac_settings(target)
    wmts = config.wmts_url_template.replace("{collection}", collection.name)
    xyz = config.xyz_url_template.replace("{collection}", collection.name)
    if config.tile_links and not (wmts or xyz):
        urls = tiles.service_urls(target.wms_url(collection), collection.name)
        wmts, xyz = urls["wmts_capabilities"], urls["xyz"]
    return wmts, xyz


def stac_settings(target: "Target") -> StacConfig:
    return getattr(target, "stac", None) or StacConfig()


def build_item(
    target: "Target",
    collection: Collection,
    filename: str,
    geometry: Document,
    fields: Mapping[str, Any],
    cog: CogInfo,
    assets: Mapping[str, ObjectInfo],
) -> Document:
    """The Item of one frame as a dict. ``assets``: role name -> ``ObjectInfo`` (``image``,
    ``georef``, ``scan``, ``thumbnail``; missing ones are left out)."""
    stem = frame_stem(filename)
    moment, start, end = frame_dates(collection, filename)
    properties: dict[str, Any] = {
        "start_datetime": pystac.utils.datetime_to_str(start),
        "end_datetime": pystac.utils.datetime_to_str(end),
        "gsd": cog.gsd,
        "ls4:collection_type": collection.type,
        "ls4:band_layout": collection.band,
        "ls4:agency": collection.agency,
        "ls4:date": fields["date"],
        "ls4:roll": fields["roll"],
        "ls4:frame_num": fields["frame_num"],
    }
    if collection.is_multi:
        properties["ls4:mission"] = collection.mission
    else:
        properties["ls4:county"] = collection.county
    item = pystac.Item(
        id=stem,
        geometry=geometry,
        bbox=_bbox(geometry),
        datetime=moment,
        properties=properties,
        collection=collection.name,
    )
    _add_assets(item, collection, assets, cog)
    urls = _urls(target, collection.name)
    item.add_link(
        _link("self", storage.public_url(target.s3, item_key(collection.name, stem)), GEOJSON_TYPE)
    )
    item.add_link(_link("parent", urls["collection"], title=collection.title))
    item.add_link(_link("collection", urls["collection"], title=collection.title))
    item.add_link(_link("root", urls["root"], title="LS4 historical imagery"))
    for link in web_map_links(target, collection):
        item.add_link(link)
    item.stac_extensions = sorted(set(item.stac_extensions) | set(item_extensions(target)))
    return item.to_dict(include_self_link=True, transform_hrefs=False)


def _add_assets(
    item: pystac.Item, collection: Collection, assets: Mapping[str, ObjectInfo], cog: CogInfo
) -> None:
    image = assets["image"]
    asset = pystac.Asset(
        image.href,
        title=f"{collection.title}: Cloud Optimized GeoTIFF",
        media_type=pystac.MediaType.COG,
        roles=["data", "visual"],
    )
    item.add_asset("image", asset)
    image.apply(asset)
    projection = ProjectionExtension.ext(asset, add_if_missing=True)
    projection.code = "EPSG:3857"
    projection.shape = cog.shape
    projection.transform = cog.transform
    projection.bbox = cog.bbox
    bands: list[dict[str, Any]] = []
    for name, band in zip(BAND_NAMES[collection.band], cog.bands, strict=False):
        bands.append({"name": name, **band})
    asset.extra_fields["bands"] = bands
    if cog.transparency:
        asset.extra_fields["ls4:transparency"] = cog.transparency
    for role, title in (("georef", "georeferenced upload"), ("scan", "scan")):
        info = assets.get(role)
        if info is None:
            continue
        source = pystac.Asset(
            info.href, title=f"{title}", media_type=pystac.MediaType.GEOTIFF, roles=["source"]
        )
        item.add_asset(role, source)
        info.apply(source)
    thumbnail = assets.get("thumbnail")
    if thumbnail is not None:
        small = pystac.Asset(
            thumbnail.href, title="thumbnail", media_type=pystac.MediaType.PNG, roles=["thumbnail"]
        )
        item.add_asset("thumbnail", small)
        thumbnail.apply(small)


def _bbox(geometry: Document) -> list[float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(part: Any) -> None:
        if part and isinstance(part[0], (int, float)):
            xs.append(part[0])
            ys.append(part[1])
        else:
            for sub in part:
                walk(sub)

    walk(geometry["coordinates"])
    return [min(xs), min(ys), max(xs), max(ys)]


def build_collection(
    target: "Target", collection: Collection, items: Sequence[Document], tile_index: bool = False
) -> Document:
    """The Collection of ``items`` (dicts) as a dict: extents exact, summaries, item_assets;
    with ``tile_index`` (its GeoPackage download is on S3) that download as an asset."""
    config = stac_settings(target)
    boxes = [item["bbox"] for item in items]
    spatial = [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    starts = [pystac.utils.str_to_datetime(i["properties"]["start_datetime"]) for i in items]
    ends = [pystac.utils.str_to_datetime(i["properties"]["end_datetime"]) for i in items]
    gsds = [item["properties"]["gsd"] for item in items]
    providers = [
        pystac.Provider(collection.agency, roles=[pystac.ProviderRole.PRODUCER]),
        pystac.Provider(
            config.publisher,
            roles=[pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.HOST],
            url=config.publisher_url or None,
        ),
    ]
    license_name, license_href, license_title = license_link(config)
    place = (
        {"ls4:mission": [collection.mission]}
        if collection.is_multi
        else {"ls4:county": [collection.county]}
    )
    result = pystac.Collection(
        id=collection.name,
        title=collection.title,
        description=(
            f"{collection.title}: {len(items)} georeferenced historical aerial "
            f"{keys.TYPE_WORDS[collection.type]} published as Cloud Optimized GeoTIFFs, "
            "with the scans and georeferenced uploads they were made from."
        ),
        extent=pystac.Extent(
            pystac.SpatialExtent([spatial]),
            pystac.TemporalExtent([[min(starts), max(ends)]]),
        ),
        license=license_name,
        providers=providers,
        keywords=["historical imagery", "aerial photography", collection.agency],
        summaries=pystac.Summaries(
            {
                "ls4:band_layout": [collection.band],
                "ls4:collection_type": [collection.type],
                "ls4:agency": [collection.agency],
                **place,
                "gsd": {"minimum": min(gsds), "maximum": max(gsds)},
            }
        ),
    )
    result.extra_fields["item_assets"] = _item_assets(collection)
    if tile_index:
        result.add_asset(
            "tile_index",
            pystac.Asset(
                downloads.index_url(target.s3, collection.name),
                title="tile index: every frame's footprint (EPSG:3857) and fields (GeoPackage)",
                media_type=pystac.MediaType.GEOPACKAGE,
                roles=["metadata"],
            ),
        )
    result.remove_links(pystac.RelType.ROOT)  # pystac's own, to itself: ours is the catalog
    urls = _urls(target, collection.name)
    result.add_link(_link("self", urls["collection"]))
    result.add_link(_link("root", urls["root"], title="LS4 historical imagery"))
    result.add_link(_link("parent", urls["root"], title="LS4 historical imagery"))
    result.add_link(_link("license", license_href, "text/html", title=license_title))
    for item in sorted(items, key=lambda i: i["id"]):
        href = storage.public_url(target.s3, item_key(collection.name, item["id"]))
        result.add_link(_link("item", href, GEOJSON_TYPE))
    for link in web_map_links(target, collection):
        result.add_link(link)
    result.stac_extensions = sorted([WEB_MAP_LINKS, extension_url(target)])
    return result.to_dict(include_self_link=True, transform_hrefs=False)


def _item_assets(collection: Collection) -> dict[str, dict[str, Any]]:
    return {
        "image": {
            "title": "Cloud Optimized GeoTIFF",
            "type": pystac.MediaType.COG,
            "roles": ["data", "visual"],
        },
        "georef": {
            "title": "georeferenced upload",
            "type": pystac.MediaType.GEOTIFF,
            "roles": ["source"],
        },
        "scan": {"title": "scan", "type": pystac.MediaType.GEOTIFF, "roles": ["source"]},
        "thumbnail": {"title": "thumbnail", "type": pystac.MediaType.PNG, "roles": ["thumbnail"]},
    }


def build_catalog(target: "Target", names: Iterable[str]) -> Document:
    """The root Catalog: a child link per collection name."""
    catalog = pystac.Catalog(
        id=CATALOG_ID,
        title="LS4 historical imagery",
        description="Historical aerial photographs published by LS4: one collection per county "
        "(or multi-county mission), agency, year, type and band layout.",
    )
    root = storage.public_url(target.s3, CATALOG_KEY)
    catalog.remove_links(pystac.RelType.ROOT)  # pystac's own, without an href yet
    catalog.add_link(_link("self", root))
    catalog.add_link(_link("root", root, title="LS4 historical imagery"))
    for name in sorted(names):
        catalog.add_link(
            _link("child", storage.public_url(target.s3, collection_key(name)), title=_words(name))
        )
    return catalog.to_dict(include_self_link=True, transform_hrefs=False)


def _words(name: str) -> str:
    try:
        return keys.words(name)
    except InputError:
        return name


# --- writing -------------------------------------------------------------------------------


def encode(document: object) -> bytes:
    """The bytes written for a STAC document: stable, so equal content gives equal bytes."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def put_if_changed(
    config: storage.S3Config,
    key: str,
    data: bytes,
    content_type: str,
    s3: storage.S3Client | None = None,
) -> str:
    """Write ``data`` to ``key`` unless the object holds these bytes: "written" or "unchanged".

    The SHA-256 kept with the object decides, so an unchanged object costs one HEAD.
    """
    s3 = s3 or storage.client(config)
    digest = hashlib.sha256(data).hexdigest()
    current = storage.object_metadata(config, key, s3)
    if current is not None and current.get(storage.CHECKSUM_KEY) == digest:
        return "unchanged"
    extra = {"ACL": "public-read"} if config.legacy_acl else {}
    with storage.s3_errors(config, key):
        s3.put_object(
            Bucket=config.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={storage.CHECKSUM_KEY: digest},
            **extra,
        )
    return "written"


def read_json(
    config: storage.S3Config, key: str, s3: storage.S3Client | None = None
) -> Document | None:
    """The JSON document at ``key``, or None when there is none."""
    if storage.object_metadata(config, key, s3) is None:
        return None
    return json.loads(storage.get_bytes(config, key, s3))


def write_item(
    target: "Target",
    collection: Collection,
    filename: str,
    cog_path: str | os.PathLike[str],
    conn: tileindex.Connection | None = None,
    known: Mapping[str, ObjectInfo | None] | None = None,
) -> str:
    """Build and write the Item (and thumbnail) of a frame whose row is in the tile index and
    whose COG is on S3; ``cog_path`` is a local copy of that COG. Returns "written",
    "unchanged", or raises ``InputError`` (no row, unreadable date).

    ``known``: ``{key: ObjectInfo, or None for no object}`` of the frame's objects (COG, georef,
    scan) that the caller has just uploaded or looked up; the keys it lacks are asked of S3.
    """
    config = target.s3
    s3 = storage.client(config)
    known = known or {}

    def info(key: str, local_path: str | os.PathLike[str] | None = None) -> ObjectInfo | None:
        return known[key] if key in known else object_info(config, key, s3, local_path)

    cog_key = collection.key("cog", filename)
    location = storage.vsis3_path(config, cog_key)
    own = conn is None
    conn = conn or target.connect()
    try:
        found = tileindex.row_geojson(conn, collection.table, location)
    finally:
        if own:
            conn.close()
    if found is None:
        raise InputError(f"{filename}: no row of {collection.table} holds {location}: no item")
    geometry, fields = found
    stem = frame_stem(filename)
    image = info(cog_key, cog_path)
    if image is None:
        raise InputError(f"{filename}: its COG s3://{config.bucket}/{cog_key} is gone: no item")
    assets = {"image": image}
    georef = info(collection.key("georef", filename))
    if georef is not None:
        assets["georef"] = georef
    if collection.type != "mosaic":
        scans = (info(collection.key("scanned", name)) for name in scan_names(filename))
        scan = next((found for found in scans if found is not None), None)
        if scan is not None:
            assets["scan"] = scan
    dataset = gdal.Open(os.fspath(cog_path))  # once, for the thumbnail and the projection
    if dataset is None:
        raise InputError(f"{cog_path}: cannot be read as a raster")
    with tempfile.TemporaryDirectory(prefix="ls4-stac-") as folder:
        data = _read(thumbnail_png(cog_path, folder, dataset))
    key = thumbnail_key(collection.name, stem)
    put_if_changed(config, key, data, "image/png", s3)
    digest = hashlib.sha256(data).hexdigest()
    assets["thumbnail"] = ObjectInfo(
        key, storage.public_url(config, key), len(data), multihash(digest)
    )
    projection = cog_info(cog_path, dataset)
    dataset = None  # closes the COG
    item = build_item(target, collection, filename, geometry, fields, projection, assets)
    return put_if_changed(config, item_key(collection.name, stem), encode(item), GEOJSON_TYPE, s3)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def item_exists(target: "Target", collection: CollectionName, filename: str) -> bool:
    key = item_key(collection.name, frame_stem(filename))
    return storage.object_metadata(target.s3, key) is not None


def delete_item(target: "Target", name: str, stem: str) -> None:
    """Remove a frame's Item and thumbnail from the static catalog (and nothing else)."""
    storage.delete_keys(target.s3, [item_key(name, stem), thumbnail_key(name, stem)])


def read_items(target: "Target", name: str) -> dict[str, Document]:
    """Every Item of collection ``name`` in the static catalog, by id (read ``READERS`` at a
    time: a collection of thousands of frames is read back at every publish)."""
    s3 = storage.client(target.s3)
    item_keys = [
        k for k in storage.list_keys(target.s3, items_prefix(name), s3) if k.endswith(".json")
    ]

    def read(key: str) -> Document:
        return json.loads(storage.get_bytes(target.s3, key, s3))

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        items = list(pool.map(read, item_keys))
    return {item["id"]: item for item in items}


def collection_names(target: "Target") -> list[str]:
    """The collections that have a ``collection.json`` under ``stac/``."""
    s3 = storage.client(target.s3)
    names: list[str] = []
    with storage.s3_errors(target.s3, PREFIX):
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=target.s3.bucket, Prefix=PREFIX, Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(PREFIX) : -1]
                if storage.object_metadata(target.s3, collection_key(name), s3) is not None:
                    names.append(name)
    return sorted(names)


def write_collection(
    target: "Target", collection: Collection, items: Mapping[str, Document] | None = None
) -> dict[str, str]:
    """Write the Collection from its Items (read from S3 unless given) and the root Catalog;
    with no Item left, the Collection is deleted. Mirrors pgSTAC when configured.

    Returns ``{"collection": written|unchanged|deleted, "catalog": ..., "pgstac": ...}``.
    """
    items = read_items(target, collection.name) if items is None else items
    config = target.s3
    key = collection_key(collection.name)
    outcome: dict[str, str] = {}
    document: Document | None = None
    if items:
        tile_index = storage.object_metadata(config, downloads.index_key(collection.name))
        document = build_collection(
            target, collection, list(items.values()), tile_index=tile_index is not None
        )
        outcome["collection"] = put_if_changed(config, key, encode(document), JSON_TYPE)
    elif storage.object_metadata(config, key) is not None:
        storage.delete_keys(config, [key])
        outcome["collection"] = "deleted"
    else:
        outcome["collection"] = "absent"
    outcome["catalog"] = write_catalog(target)
    if stac_settings(target).pgstac:
        from . import pgstac

        outcome["pgstac"] = pgstac.mirror(pgstac_dsn(target), collection.name, document, items)
    return outcome


def write_catalog(target: "Target") -> str:
    """Write the root Catalog (and the ``ls4:`` extension's schema the Items name)."""
    write_extension_schema(target)
    document = build_catalog(target, collection_names(target))
    return put_if_changed(target.s3, CATALOG_KEY, encode(document), JSON_TYPE)


def write_extension_schema(target: "Target") -> str:
    """Publish the ``ls4:`` extension's schema at ``extension_url``: "written" or "unchanged"."""
    data = encode(extension_schema(target))
    return put_if_changed(target.s3, EXTENSION_KEY, data, SCHEMA_TYPE)


def pgstac_dsn(target: "Target") -> str:
    return stac_settings(target).pgstac_dsn or target.dsn


def public_item_url(target: "Target", collection: CollectionName, filename: str) -> str:
    return storage.public_url(target.s3, item_key(collection.name, frame_stem(filename)))


# --- rebuilding from the tile index --------------------------------------------------------


def collection_of_table(conn: tileindex.Connection, table: str) -> Collection:
    """The ``keys.Collection`` a tile index table holds (from its first row's COG key)."""
    location = tileindex.first_location(conn, table)
    if location is None:
        raise InputError(f"Tile index {table} is empty or missing: no STAC to write")
    return keys.parse_key(keys.split_location(location)[1]).collection


def rebuild(
    target: "Target", table: str, feedback: FeedbackLike | None = None
) -> tuple[Collection, dict[str, int], dict[str, str]]:
    """Write the STAC of the collection in ``table`` from its rows, for estates published before
    STAC: an Item per row (its COG downloaded once), Items of no row removed, then the
    Collection, root Catalog and pgSTAC. Returns counts by outcome and the collection's URL."""
    from .feedback import SubFeedback, check_canceled, ensure

    feedback = ensure(feedback)
    with target.connect() as conn:
        collection = collection_of_table(conn, table)
        rows = tileindex.rows(conn, table)
        counts = {"written": 0, "unchanged": 0, "failed": 0, "removed": 0}
        wanted: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="ls4-writestac-") as folder:
            for number, row in enumerate(rows):
                check_canceled(feedback)
                _bucket, key = keys.split_location(row["location"])
                filename = key.rsplit("/", 1)[-1]
                wanted.add(frame_stem(filename))
                path = os.path.join(folder, filename)
                try:
                    storage.download_file(target.s3, key, path)
                    counts[write_item(target, collection, filename, path, conn)] += 1
                except (InputError, Ls4Error) as error:
                    counts["failed"] += 1
                    feedback.pushWarning(f"{filename}: {error}")
                finally:
                    if os.path.exists(path):
                        os.remove(path)
                SubFeedback(feedback, 0, 90).setProgress(100.0 * (number + 1) / len(rows))
        for key in storage.list_keys(target.s3, items_prefix(collection.name)):
            stem = key.rsplit("/", 1)[-1][: -len(".json")]
            if key.endswith(".json") and stem not in wanted:
                delete_item(target, collection.name, stem)
                counts["removed"] += 1
        with tileindex.derived_lock(conn, table):
            outcome = write_collection(target, collection)
    feedback.setProgress(100)
    return collection, counts, outcome
