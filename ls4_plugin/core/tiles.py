"""Tiles of a collection (WMTS 1.0, XYZ, TMS) through MapProxy in front of its WMS.

LS4 writes one MapProxy configuration per collection, ``<map dir>/tiles/<collection>.yaml``
and ``mapproxy/<collection>.yaml`` in the bucket, from the same collection data as the
mapfile (name, title, extent, WMS URL); MapProxy's multi-project application serves every
file of that folder under ``/tiles/<collection>/``.
The tile cache is a file cache in ``<map dir>/tiles/cache/<collection>/<z>/<x>/<y>.png``
(x from the west, y from the north, as XYZ), or, where the publishers are not the tile server
(georeferencers publish from their desktops), MapProxy's S3 cache at
``s3://<bucket>/mapproxy/cache/<collection>/<z>/<x>/<y>.png``: then every publisher reaches the
cache the server draws from. Publishing a frame deletes the cached tiles over that frame's
footprint at every level, nothing else; ``seed`` asks for the tiles of chosen zoom levels so
that they are cached.

The configuration is a dict written as JSON, which is YAML (MapProxy reads it with a YAML
parser); it is checked with MapProxy's own validator when MapProxy is importable (the server,
the local stack) and replaced whole.
"""

import json
import math
import os
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypedDict

from . import storage
from .errors import InputError, Ls4Error
from .feedback import FeedbackLike, check_canceled, ensure
from .outputs import replaced_whole

if TYPE_CHECKING:
    from .tileindex import Extent

TILES_FOLDER = "tiles"
CACHE_FOLDER = "cache"
GRID = "webmercator"
NUM_LEVELS = 23  # zoom 0..22: 0.04 m per pixel, finer than any scan
TILE_SIZE = 256
ORIGIN = math.pi * 6378137.0  # half the width of the EPSG:3857 world square
TILE_FORMAT = "png"
CONFIG_PREFIX = "mapproxy/"
# Where the tiles are cached: "file" (the map folder of the tile server, which must then be the
# publishing machine) or "s3" (the bucket, beside the configurations; private).
TILE_CACHES = ("file", "s3")
S3_CACHE_PREFIX = f"{CONFIG_PREFIX}cache/"

# A MapProxy configuration (the YAML document) as a dict.
Config = dict[str, Any]


class Seeded(TypedDict):
    """What ``seed`` did: how many tiles it asked for, how many of them failed."""

    tiles: int
    failed: int


def tiles_dir(map_dir: str) -> str:
    """The folder of MapProxy's configurations (and their cache) beside the mapfiles."""
    return os.path.join(map_dir, TILES_FOLDER)


def cache_dir(map_dir: str, collection_name: str) -> str:
    return os.path.join(tiles_dir(map_dir), CACHE_FOLDER, collection_name)


def tiles_url(wms_url: str) -> str:
    """The tile service base of a collection from its WMS URL: ``…/wms/<c>`` → ``…/tiles/<c>``."""
    base, _, name = wms_url.rstrip("/?").rpartition("/wms/")
    if not base or not name:
        raise InputError(f"{wms_url}: not a /wms/<collection> URL; the tiles are beside it")
    return f"{base}/tiles/{name}"


def service_urls(wms_url: str, collection_name: str) -> dict[str, str]:
    """The WMTS capabilities URL, the XYZ template and the TMS template of a collection."""
    base = tiles_url(wms_url)
    layer = f"{base}/wmts/{collection_name}/{GRID}"
    return {
        "wmts_capabilities": f"{base}/wmts/1.0.0/WMTSCapabilities.xml",
        "wmts_kvp": f"{base}/service?SERVICE=WMTS&REQUEST=GetCapabilities",
        "xyz": f"{layer}/{{z}}/{{x}}/{{y}}.{TILE_FORMAT}",
        "tms": f"{base}/tiles/1.0.0/{collection_name}/{GRID}/{{z}}/{{x}}/{{y}}.{TILE_FORMAT}",
    }


def config_key(collection_name: str) -> str:
    """Where the configuration is kept in the bucket (private), beside ``mapfiles/``."""
    return f"{CONFIG_PREFIX}{collection_name}.yaml"


def s3_cache_dir(collection_name: str) -> str:
    """The prefix of a collection's tiles in MapProxy's S3 cache (no trailing slash)."""
    return f"{S3_CACHE_PREFIX}{collection_name}"


def build_config(
    collection_name: str,
    title: str,
    extent: Iterable[float],
    wms_url: str,
    s3_cache: storage.S3Config | None = None,
) -> Config:
    """MapProxy's configuration of one collection as a dict. Its paths are relative to the
    file's folder (MapProxy resolves them so), so the same text serves on any machine whose
    ``<map dir>/tiles/`` holds it. With ``s3_cache`` the tiles are kept in that bucket (the
    server's MapProxy reads its credentials from its own environment, AWS's standard chain)."""
    source = f"{collection_name}_wms"
    cache = f"{collection_name}_cache"
    bbox = [float(value) for value in extent]
    return {
        "services": {
            "wmts": {"restful": True, "kvp": True},
            "tms": {"use_grid_names": True, "origin": "sw"},
        },
        "layers": [{"name": collection_name, "title": title, "sources": [cache]}],
        "caches": {
            cache: {
                "grids": [GRID],
                "sources": [source],
                "format": f"image/{TILE_FORMAT}",
                # One WMS request per tile, of exactly the tile: a cached tile is the GetMap of
                # its bounding box, and publishing a frame changes exactly the tiles over it.
                "meta_size": [1, 1],
                "meta_buffer": 0,
                "cache": _cache(collection_name, s3_cache),
            }
        },
        "sources": {
            source: {
                "type": "wms",
                "req": {"url": wms_url, "layers": collection_name, "transparent": True},
                "wms_opts": {"version": "1.3.0"},
                "supported_srs": ["EPSG:3857"],
                "coverage": {"bbox": bbox, "srs": "EPSG:3857"},
            }
        },
        "grids": {GRID: {"base": "GLOBAL_WEBMERCATOR", "num_levels": NUM_LEVELS}},
        "globals": {
            "cache": {"base_dir": CACHE_FOLDER, "lock_dir": f"{CACHE_FOLDER}/locks"},
            # RGBA PNG as MapServer draws it (no palette): the collar stays transparent.
            "image": {"paletted": False},
            # lighttpd adds CORS to every answer; a second Access-Control-Allow-Origin header
            # would make browsers refuse the tiles.
            "http": {"access_control_allow_origin": ""},
        },
    }


def _cache(collection_name: str, s3_cache: storage.S3Config | None) -> dict[str, str]:
    if s3_cache is None:
        return {
            "type": "file",
            "directory_layout": "tms",
            "directory": f"{CACHE_FOLDER}/{collection_name}",
        }
    where = {"bucket_name": s3_cache.bucket, "region_name": s3_cache.region}
    if s3_cache.endpoint_url:
        where["endpoint_url"] = s3_cache.endpoint_url
    return {
        "type": "s3",
        "directory_layout": "tms",
        "directory": s3_cache_dir(collection_name),
    } | where


def validate(config: Config) -> list[str]:
    """Problems of a MapProxy configuration; MapProxy's own checks when it is installed."""
    problems: list[str] = []
    for key in ("services", "layers", "caches", "sources", "grids"):
        if not config.get(key):
            problems.append(f"no {key}")
    try:
        from mapproxy.config.loader import ConfigurationError, load_configuration
        from mapproxy.config.validator import validate as mapproxy_validate
    except ImportError:  # a QGIS without MapProxy: the server checks it when it loads it
        return problems
    problems += [str(message) for message in mapproxy_validate(config)]
    if problems:
        return problems
    text = dumps(config)
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    try:
        load_configuration(handle.name)
    except ConfigurationError as error:
        problems.append(str(error))
    finally:
        os.remove(handle.name)
    return problems


def dumps(config: Config) -> str:
    """The configuration's text: JSON, which YAML parsers (MapProxy's) read as it is."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def render_config(
    collection_name: str,
    title: str,
    extent: Iterable[float],
    wms_url: str,
    s3_cache: storage.S3Config | None = None,
) -> str:
    """The validated configuration text; raises ``Ls4Error`` naming the problems."""
    config = build_config(collection_name, title, extent, wms_url, s3_cache)
    problems = validate(config)
    if problems:
        raise Ls4Error(f"MapProxy configuration of {collection_name}: " + "; ".join(problems))
    return dumps(config)


def write_config(map_dir: str, collection_name: str, text: str) -> str:
    """Write ``<map dir>/tiles/<collection>.yaml`` (replaced whole); returns the path."""
    folder = tiles_dir(map_dir)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{collection_name}.yaml")
    with replaced_whole(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
    return path


# --- the tile grid -----------------------------------------------------------------------------


def tile_span(zoom: int) -> float:
    """The width of one tile at ``zoom`` in EPSG:3857 metres."""
    return 2 * ORIGIN / (2**zoom)


def tile_range(bbox: Sequence[float], zoom: int) -> tuple[int, int, int, int]:
    """``(x0, x1, y0, y1)``, inclusive, of the XYZ tiles that intersect ``bbox`` at ``zoom``."""
    minx, miny, maxx, maxy = bbox
    span = tile_span(zoom)
    last = 2**zoom - 1

    def clamp(value: int) -> int:
        return min(max(value, 0), last)

    x0 = clamp(math.floor((minx + ORIGIN) / span))
    x1 = clamp(math.ceil((maxx + ORIGIN) / span) - 1)
    y0 = clamp(math.floor((ORIGIN - maxy) / span))
    y1 = clamp(math.ceil((ORIGIN - miny) / span) - 1)
    return x0, max(x0, x1), y0, max(y0, y1)


def tile_bbox(zoom: int, x: int, y: int) -> "Extent":
    """The EPSG:3857 bounding box of the XYZ tile ``zoom/x/y``."""
    span = tile_span(zoom)
    minx = -ORIGIN + x * span
    maxy = ORIGIN - y * span
    return (minx, maxy - span, minx + span, maxy)


def invalidate(map_dir: str, collection_name: str, bbox: Sequence[float]) -> int:
    """Delete the cached tiles that intersect ``bbox`` (EPSG:3857) at every level; returns how
    many were deleted. Only folders that exist are read."""
    root = cache_dir(map_dir, collection_name)
    deleted = 0
    for zoom in range(NUM_LEVELS):
        zoom_dir = os.path.join(root, str(zoom))
        if not os.path.isdir(zoom_dir):
            continue
        x0, x1, y0, y1 = tile_range(bbox, zoom)
        for column in _numbered(zoom_dir, x0, x1):
            for row in _numbered(column.path, y0, y1, suffix=f".{TILE_FORMAT}"):
                os.remove(row.path)
                deleted += 1
    return deleted


def invalidate_s3(
    config: storage.S3Config, collection_name: str, boxes: Sequence[Sequence[float]]
) -> int:
    """``invalidate`` for MapProxy's S3 cache, over each of ``boxes`` at once: one listing finds
    the levels that hold tiles, then each of those is listed once and its tiles over any box
    deleted (a publish costs a few requests, not one per level and footprint)."""
    root = f"{s3_cache_dir(collection_name)}/"
    stale = []
    for level in storage.list_folders(config, root):
        if not level.isdigit():
            continue
        ranges = [tile_range(box, int(level)) for box in boxes]
        for key in storage.list_keys(config, f"{root}{level}/"):
            *_, column, name = key.split("/")
            row = name.removesuffix(f".{TILE_FORMAT}")
            if column.isdigit() and row.isdigit() and _over(int(column), int(row), ranges):
                stale.append(key)
    storage.delete_keys(config, stale)
    return len(stale)


def _over(x: int, y: int, ranges: Iterable[tuple[int, int, int, int]]) -> bool:
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, x1, y0, y1 in ranges)


def invalidate_footprints(
    map_dir: str | None,
    collection_name: str,
    footprints_wkt: Iterable[str],
    s3_cache: storage.S3Config | None = None,
) -> int:
    """``invalidate`` over the bounding boxes of frames' footprints (WKT, EPSG:3857), in the
    S3 cache when ``s3_cache`` is given, else in the map folder's."""
    from osgeo import ogr

    boxes = []
    for wkt in footprints_wkt:
        minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(wkt).GetEnvelope()
        boxes.append((minx, miny, maxx, maxy))
    if not boxes:
        return 0
    if s3_cache is not None:
        return invalidate_s3(s3_cache, collection_name, boxes)
    if not map_dir:
        return 0
    return sum(invalidate(map_dir, collection_name, box) for box in boxes)


def _numbered(folder: str, first: int, last: int, suffix: str = "") -> Iterator[os.DirEntry[str]]:
    """Entries of ``folder`` named by a number in ``[first, last]``."""
    with os.scandir(folder) as entries:
        for entry in entries:
            stem = entry.name[: -len(suffix)] if suffix else entry.name
            if suffix and not entry.name.endswith(suffix):
                continue
            if stem.isdigit() and first <= int(stem) <= last:
                yield entry


def cached_tile(map_dir: str, collection_name: str, zoom: int, x: int, y: int) -> str:
    """The path the cache keeps tile ``zoom/x/y`` at (it may not exist)."""
    return os.path.join(
        cache_dir(map_dir, collection_name), str(zoom), str(x), f"{y}.{TILE_FORMAT}"
    )


# --- seeding -----------------------------------------------------------------------------------


def seed(
    xyz_template: str,
    extent: Sequence[float],
    zooms: Iterable[int],
    feedback: FeedbackLike | None = None,
    workers: int = 4,
    timeout: float = 60,
) -> Seeded:
    """Ask the tile service for every tile over ``extent`` at each zoom of ``zooms`` (so that it
    is cached); progress and cancel through ``feedback``. Returns ``{"tiles": n, "failed": m}``."""
    feedback = ensure(feedback)
    tiles = [
        (zoom, x, y)
        for zoom in sorted(set(zooms))
        for x0, x1, y0, y1 in [tile_range(extent, zoom)]
        for x in range(x0, x1 + 1)
        for y in range(y0, y1 + 1)
    ]
    if not tiles:
        raise InputError("no zoom level to seed")
    failed: list[str] = []

    def fetch(tile: tuple[int, int, int]) -> None:
        zoom, x, y = tile
        url = xyz_template.format(z=zoom, x=x, y=y)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as reply:
                reply.read()
        except OSError as error:
            failed.append(f"{zoom}/{x}/{y}: {error}")

    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(tiles), workers * 4):
            check_canceled(feedback)
            batch = tiles[start : start + workers * 4]
            list(pool.map(fetch, batch))
            done += len(batch)
            feedback.setProgress(100.0 * done / len(tiles))
    for message in failed[:10]:
        feedback.pushWarning(message)
    return {"tiles": len(tiles), "failed": len(failed)}
