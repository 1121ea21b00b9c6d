"""The MapServer mapfile of a collection, built as data and written with mappyfile.

One raster layer named after the collection draws the COGs listed in a second, PostGIS polygon
layer ``<collection>_index`` (its tile index), which also draws the frame outlines and answers
GetFeatureInfo. No password, key or secret is ever written: the server's PostgreSQL service file
and MapServer's config file carry them.
"""

import functools
import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import mappyfile
from mappyfile.parser import Parser
from mappyfile.transformer import MapfileToDict

from . import keys
from .errors import InputError, Ls4Error
from .profile import TARGET_EPSG
from .tileindex import check_table_name

MAPSERVER_VERSION = 8.0
# EPSG:4326 first: MapServer 8.0 prints a layer's one BoundingBox in the first CRS of its
# wms_srs, and prints projected coordinates with 6 significant digits (%g: tens of metres in
# EPSG:3857) but geographic ones with 6 decimals (about 0.1 m). So every BoundingBox MapServer
# writes is geographic and exact to a decimetre; the web app in front of it (webapp.py) adds
# the projected ones from it (capabilities.py).
DEFAULT_SRS = ("EPSG:4326", "EPSG:3857", "EPSG:4269", "EPSG:26913")
EARTH_RADIUS = 6378137.0  # the sphere of EPSG:3857
MAXSIZE = 4096
# GetFeatureInfo answers, one MIME type each: the HTML template below, MapServer's own GML and
# text, and GeoJSON through OGR. QGIS's Identify asks for a feature format (GML) by default.
FEATURE_INFO_FORMATS = ("text/html", "application/vnd.ogc.gml", "text/plain", "application/json")
# The HTML GetFeatureInfo templates, written beside the mapfiles (MapServer reads templates from
# files only; the paths in the mapfile are relative to it).
TEMPLATE_DIR = "templates"
QUERY_TEMPLATES = {
    "template": "ls4_frame.html",
    "header": "ls4_frame_header.html",
    "footer": "ls4_frame_footer.html",
}
# The tile index fields shown in the HTML answer, with their labels; links are clickable.
HTML_FIELDS = (
    ("date", "Date", False),
    ("roll", "Roll", False),
    ("frame_num", "Frame", False),
    ("dl_orig", "Scan", True),
    ("dl_georef", "Georeferenced COG", True),
    ("dl_index", "Index", True),
)
OUTLINE_RGB = [255, 0, 0]
# MapServer's own waits on PostgreSQL, added to the mapfile's connection (libpq keywords) unless
# it sets them: a hung database costs a WMS request seconds and an exception, instead of holding
# one of the server's few mapserv processes until the client gives up (every collection's WMS
# then stops answering). MapServer opens a connection per request, so connect_timeout is the
# bound for a hung server; statement_timeout for a slow query or a lock a publisher holds.
SERVER_PG_WAITS = (("connect_timeout", "5"), ("options", "'-c statement_timeout=30000'"))
SECRET_PATTERNS = (
    re.compile(r"password\s*=", re.IGNORECASE),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"aws_secret_access_key|aws_session_token|secret_key", re.IGNORECASE),
    re.compile(r"://[^/\s:@\"']+:[^/\s@\"']+@"),  # user:password@host in a URL
)
# mappyfile writes strings between double quotes without escaping what is inside them.
UNSAFE_TEXT = re.compile(r'["\\\x00-\x1f]')
DATA_TABLE = re.compile(r"\bfrom\s+\"?([a-z][a-z0-9_]*)\"?", re.IGNORECASE)

# A mapfile, or one of its blocks (a layer, a class, an output format), as mappyfile's dict.
MapDict = dict[str, Any]


def build_mapfile(
    collection: str,
    title: str,
    table: str,
    extent: Sequence[float] | None,
    wms_url: str,
    pg_connection: str = "service=ls4",
    srs_list: Iterable[str] = DEFAULT_SRS,
    overview: tuple[str, float] | None = None,
) -> MapDict:
    """The mapfile of ``collection`` as a mappyfile dict.

    ``extent`` is the tile index extent ``(minx, miny, maxx, maxy)`` in EPSG:3857 (see
    ``tileindex.extent``); ``wms_url`` is the service's public address; ``pg_connection`` names a
    PostgreSQL service (it must carry no password).
    """
    check_table_name(collection)
    check_table_name(table)
    for what, text in (("title", title), ("WMS URL", wms_url), ("connection", pg_connection)):
        if not text or UNSAFE_TEXT.search(text):
            raise InputError(
                f"Mapfile {collection}: the {what} {text!r} is empty or holds a double quote, "
                "a backslash or a control character"
            )
    if extent is None or len(extent) != 4 or extent[0] >= extent[2] or extent[1] >= extent[3]:
        raise InputError(
            f"Mapfile {collection}: the tile index {table} has no usable extent ({extent}); "
            "add frames before publishing the mapfile"
        )
    if contains_secret(pg_connection):
        raise InputError(
            f"Mapfile {collection}: the PostgreSQL connection carries a password; "
            "use a service name (service=ls4) whose service file is on the server"
        )
    extent = [float(value) for value in extent]
    srs = " ".join(_geographic_first(srs_list))
    # The map (the root layer of the capabilities) is in EPSG:4326 for the same reason as
    # DEFAULT_SRS: its BoundingBox is printed in the map's projection. Every request names its
    # own CRS, so this changes no answer; the layers stay in EPSG:3857.
    return {
        "__type__": "map",
        "name": f"{collection}_map",
        "status": "ON",
        # A COG the index names but S3 lacks is left out and logged on the server, not named
        # to the client in an exception (maintenance reports such rows).
        "config": {"ON_MISSING_DATA": "LOG"},
        "extent": geographic_extent(extent),
        "size": [512, 512],
        # The largest map one request may ask for (WIDTH/HEIGHT above it: an exception).
        "maxsize": MAXSIZE,
        "units": "dd",
        "imagetype": "png",
        "projection": ["init=epsg:4326"],
        "outputformats": [_png_format(), _geojson_format()],
        "web": {"__type__": "web", "metadata": _web_metadata(title, wms_url, srs)},
        "layers": [
            *_raster_layers(collection, title, extent, srs, overview),
            _index_layer(collection, title, table, extent, bounded_connection(pg_connection), srs),
        ],
    }


def _raster_layers(
    collection: str,
    title: str,
    extent: list[float],
    srs: str,
    overview: tuple[str, float] | None,
) -> list[MapDict]:
    """The collection's raster layer; with ``overview`` ``(location, scale)`` (overview.py) the
    frames are drawn up to that scale and a second layer, ``<collection>_overview`` in the GROUP
    ``<collection>`` and left out of the capabilities, draws the collection's overview COG above
    it. GetMap LAYERS=<collection> turns on both (MapServer matches names and groups) and draws
    the one whose scale range holds the map's. (Two layers of one name do not work: MapServer
    8 renames them <name>_01, <name>_02.)"""
    frames = _raster_layer(collection, title, extent, srs)
    if overview is None:
        return [frames]
    location, scale = overview
    frames["maxscaledenom"] = scale
    whole = {
        "__type__": "layer",
        "name": f"{collection}_overview",
        "group": collection,
        "type": "RASTER",
        "status": "ON",
        "data": location,
        "minscaledenom": scale,
        "processing": ["RESAMPLE=AVERAGE"],
        "extent": extent,
        "projection": [f"init=epsg:{TARGET_EPSG}"],
        "metadata": {
            "wms_title": f"{title} (overview)",
            "wms_srs": srs,
            "wms_enable_request": "GetMap !GetCapabilities !GetFeatureInfo !GetLegendGraphic",
        },
    }
    return [frames, whole]


def _geographic_first(srs_list: Iterable[str]) -> list[str]:
    srs_list = list(dict.fromkeys(srs_list))
    return ["EPSG:4326"] + [srs for srs in srs_list if srs != "EPSG:4326"]


def geographic_extent(extent: Sequence[float]) -> list[float]:
    """An EPSG:3857 ``(minx, miny, maxx, maxy)`` in degrees (EPSG:4326, longitude first).

    Web Mercator maps x to longitude and y to latitude separately, so the corners suffice.
    """
    minx, miny, maxx, maxy = extent
    return [
        math.degrees(minx / EARTH_RADIUS),
        math.degrees(math.atan(math.sinh(miny / EARTH_RADIUS))),
        math.degrees(maxx / EARTH_RADIUS),
        math.degrees(math.atan(math.sinh(maxy / EARTH_RADIUS))),
    ]


def _png_format() -> MapDict:
    # RGBA with a transparent background: the collar (masked pixels) stays see-through.
    return {
        "__type__": "outputformat",
        "name": "png",
        "driver": "AGG/PNG",
        "mimetype": "image/png",
        "imagemode": "RGBA",
        "extension": "png",
        "transparent": "ON",
    }


def _geojson_format() -> MapDict:
    # GetFeatureInfo as GeoJSON (wms_getfeatureinfo_formatlist names it by its MIME type).
    return {
        "__type__": "outputformat",
        "name": "geojson",
        "driver": "OGR/GEOJSON",
        "mimetype": "application/json",
        "formatoption": ["STORAGE=memory", "FORM=SIMPLE", "FILENAME=features.json"],
    }


def _web_metadata(title: str, wms_url: str, srs: str) -> dict[str, str]:
    separator = "" if wms_url.endswith(("?", "&")) else "?"
    return {
        "wms_title": title,
        "wms_abstract": f"Historical aerial photographs: {title}",
        "wms_onlineresource": f"{wms_url}{separator}",
        "wms_srs": srs,
        "wms_enable_request": "GetCapabilities GetMap GetFeatureInfo GetLegendGraphic",
        # One MIME type: the one the HTML template answers (wms_feature_info_mime_type is a
        # single format, not a list); the list clients see is the formatlist.
        "wms_feature_info_mime_type": "text/html",
        "wms_getfeatureinfo_formatlist": ",".join(FEATURE_INFO_FORMATS),
        "wms_allow_getmap_without_styles": "true",
        # SLD=<url> would make the server fetch any URL (and answer differently by target);
        # SLD_BODY would let a client restyle and query the layers at will.
        "wms_sld_enabled": "false",
        "wms_getmap_formatlist": "image/png,image/jpeg",
    }


def _raster_layer(collection: str, title: str, extent: list[float], srs: str) -> MapDict:
    return {
        "__type__": "layer",
        "name": collection,
        "type": "RASTER",
        "status": "ON",
        "tileindex": keys.index_layer(collection),
        "tileitem": "location",
        "tilesrs": "src_srs",
        "processing": ["RESAMPLE=AVERAGE"],
        "extent": extent,
        "projection": [f"init=epsg:{TARGET_EPSG}"],
        "metadata": {"wms_title": title, "wms_srs": srs},
    }


def bounded_connection(conninfo: str) -> str:
    """``conninfo`` with SERVER_PG_WAITS for the keywords it does not set (a URI is kept)."""
    if "://" in conninfo:
        return conninfo
    present = {word.split("=", 1)[0].strip().lower() for word in conninfo.split() if "=" in word}
    extra = [f"{key}={value}" for key, value in SERVER_PG_WAITS if key not in present]
    return " ".join([conninfo.strip(), *extra])


def _index_layer(
    collection: str, title: str, table: str, extent: list[float], pg_connection: str, srs: str
) -> MapDict:
    return {
        "__type__": "layer",
        "name": keys.index_layer(collection),
        "type": "POLYGON",
        "status": "ON",
        "connectiontype": "POSTGIS",
        "connection": pg_connection,
        "data": f"geom from {table} using unique id using srid={TARGET_EPSG}",
        "extent": extent,
        "projection": [f"init=epsg:{TARGET_EPSG}"],
        # The TEMPLATE makes the layer queryable and writes the text/html answer.
        **{part: f"{TEMPLATE_DIR}/{name}" for part, name in QUERY_TEMPLATES.items()},
        "metadata": {
            "wms_title": f"{title} (frame outlines)",
            "wms_srs": srs,
            "wms_include_items": "all",
            "gml_include_items": "all",
            "gml_featureid": "id",
        },
        "classes": [
            {
                "__type__": "class",
                "name": "frame",
                "styles": [{"__type__": "style", "outlinecolor": OUTLINE_RGB, "width": 1}],
            }
        ],
    }


def query_templates() -> dict[str, str]:
    """{file name: text} of the HTML GetFeatureInfo templates, rendered with jinja2.

    MapServer fills ``[item]`` with the frame's fields; it only reads a template whose first
    line says ``MapServer Template``.
    """
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(__file__), "templates")),
        # The fields are MapServer tags ([item ... escape="html"]): they must reach it unescaped.
        autoescape=False,
        keep_trailing_newline=True,
    )
    return {
        name: environment.get_template(f"{part}.html.j2").render(fields=HTML_FIELDS)
        for part, name in QUERY_TEMPLATES.items()
    }


def write_templates(map_dir: str) -> None:
    """Write the GetFeatureInfo templates into ``<map_dir>/templates/`` (whole files)."""
    from .outputs import replaced_whole

    folder = os.path.join(map_dir, TEMPLATE_DIR)
    os.makedirs(folder, exist_ok=True)
    for name, text in query_templates().items():
        path = os.path.join(folder, name)
        if _read_text(path) == text:
            continue
        with replaced_whole(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
            out.write(text)


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def validate(mapdict: MapDict) -> list[str]:
    """Problems of ``mapdict``: mappyfile's schema check for MapServer 8 plus LS4's rules.

    An empty list means the mapfile may be published.
    """
    problems = [
        f"{error.get('message', 'ERROR')}: {error.get('error', '')}".strip()
        for error in mappyfile.validate(mapdict, version=MAPSERVER_VERSION)
    ]
    layers = [layer.get("name") for layer in mapdict.get("layers", [])]
    if mapdict.get("name") in layers:
        problems.append(f"MAP NAME {mapdict.get('name')} is also a layer name")
    for layer in mapdict.get("layers", []):
        index = layer.get("tileindex")
        if index and index not in layers:
            problems.append(f"layer {layer.get('name')}: TILEINDEX {index} is not a layer")
    if contains_secret(mappyfile.dumps(mapdict)):
        problems.append("the mapfile contains a password, key or secret")
    return problems


def dumps(mapdict: MapDict) -> str:
    """The mapfile text of ``mapdict``; raises ``Ls4Error`` when ``validate`` finds a problem."""
    problems = validate(mapdict)
    if problems:
        raise Ls4Error(f"Mapfile {mapdict.get('name')} is not valid: " + "; ".join(problems))
    return mappyfile.dumps(mapdict, indent=2)


def contains_secret(text: str, secrets: Iterable[str] = ()) -> bool:
    """Whether ``text`` holds a password, an AWS key or any of the given ``secrets`` strings."""
    if any(secret and secret in text for secret in secrets):
        return True
    return any(pattern.search(text) for pattern in SECRET_PATTERNS)


@functools.cache
def _parser() -> Parser:
    # mappyfile builds its grammar for every loads() (about a second): here once per process.
    # INCLUDE is not expanded: a mapfile from the bucket must not make this machine read files.
    return Parser(expand_includes=False)


def parse(text: str) -> MapDict:
    """The mappyfile dict of a mapfile's text; raises ``InputError`` when it does not parse."""
    try:
        return MapfileToDict().transform(_parser().parse(text))
    except Exception as error:  # mappyfile raises lark's and its own errors
        # lark lists every token it expected: the first line says where the text breaks
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise InputError(f"Mapfile cannot be read: {first_line}") from error


def index_table(mapdict: MapDict) -> str | None:
    """The PostGIS table the mapfile's tile index layer reads, or None when there is none."""
    for layer in mapdict.get("layers", []):
        if str(layer.get("connectiontype", "")).upper() != "POSTGIS":
            continue
        match = DATA_TABLE.search(str(layer.get("data", "")))
        if match:
            return match.group(1)
    return None
