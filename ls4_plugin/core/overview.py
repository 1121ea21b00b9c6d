"""The low-resolution overview of a whole collection, drawn at small scales instead of its frames.

A map of a large collection at full extent would make MapServer open every frame of the tile
index. Once a collection has ``MIN_FRAMES`` frames, publishing also writes one COG of the whole
collection, ``overview/<collection>.tif`` (private, read by MapServer like the frames), built
from the frames' own overview levels: GDAL's warp reads, over HTTP, only the overview level of
each public COG that is nearest the overview's resolution. The mapfile then carries a second
raster layer of the same name, hidden from the capabilities, that draws the overview above the
switch scale while the tile index layer draws the frames below it (MAXSCALEDENOM and
MINSCALEDENOM at the same value: no gap, no double drawing). The overview is rebuilt whole at
every publish of the collection (it reads a few kilobytes of each frame).
"""

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from osgeo import gdal

from . import cog, storage, tileindex
from .errors import Ls4Error
from .feedback import FeedbackLike
from .keys import CollectionName
from .tileindex import Extent

if TYPE_CHECKING:
    from .publish import Target

PREFIX = "overview/"
MIN_FRAMES = 16  # below this a full-extent map opens few enough frames
SIZE = 2048  # pixels along the longer side of the collection's extent
# MapServer's scale denominator of a map at ``resolution`` metres per pixel (72 dpi).
METRES_PER_INCH = 0.0254
MAPSERVER_DPI = 72.0


def overview_key(collection_name: str) -> str:
    return f"{PREFIX}{collection_name}.tif"


def resolution(extent: Extent) -> float:
    """The overview's resolution (metres per pixel) for a collection extent."""
    minx, miny, maxx, maxy = extent
    return max(maxx - minx, maxy - miny) / SIZE


def switch_scale(extent: Extent) -> float:
    """The scale denominator above which the overview is drawn instead of the frames: where a
    map pixel is one overview pixel (above it the overview is only ever downsampled)."""
    return resolution(extent) * MAPSERVER_DPI / METRES_PER_INCH


def wanted(frame_count: int) -> bool:
    return frame_count >= MIN_FRAMES


def build(
    rows: Sequence[Mapping[str, object]],
    extent: Extent,
    band_layout: str,
    dst: str,
    feedback: FeedbackLike | None = None,
) -> float:
    """Write the overview COG of the frames ``rows`` (tileindex.rows dicts) at ``dst``."""
    res = resolution(extent)
    sources = [f"/vsicurl/{row['dl_georef']}" for row in rows if row.get("dl_georef")]
    if not sources:
        raise Ls4Error("no frame has a public COG URL (dl_georef) to build the overview from")
    minx, miny, maxx, maxy = extent
    with tempfile.TemporaryDirectory(prefix="ls4-overview-") as folder:
        mosaic = os.path.join(folder, "mosaic.tif")
        options = gdal.WarpOptions(
            format="GTiff",
            outputBounds=(minx, miny, maxx, maxy),
            xRes=res,
            yRes=res,
            dstSRS="EPSG:3857",
            resampleAlg="average",
            dstAlpha=True,  # the frames' collars (their masks) stay transparent
            creationOptions=["TILED=YES", "COMPRESS=DEFLATE"],
            multithread=True,
        )
        config = {
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF",
            "GDAL_HTTP_MULTIPLEX": "YES",
        }
        with _GdalConfig(config):
            done = gdal.Warp(mosaic, sources, options=options)
        if done is None:
            raise Ls4Error(f"the overview could not be warped: {gdal.GetLastErrorMsg()}")
        done = None
        cog.make_cog(mosaic, dst, band_layout=band_layout, feedback=feedback)
    return res


class _GdalConfig:
    """GDAL configuration options for this thread, restored afterwards."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = values

    def __enter__(self) -> None:
        self.before = {key: gdal.GetThreadLocalConfigOption(key, None) for key in self.values}
        for key, value in self.values.items():
            gdal.SetThreadLocalConfigOption(key, value)

    def __exit__(self, *exc_info: object) -> None:
        for key, value in self.before.items():
            gdal.SetThreadLocalConfigOption(key, value)


def publish_overview(
    target: "Target", collection: CollectionName, conn: tileindex.Connection, extent: Extent
) -> tuple[str, float] | None:
    """Build and upload the collection's overview when it has enough frames; returns
    ``(location, switch scale)`` for the mapfile, or None (no overview layer)."""
    rows = tileindex.rows(conn, collection.table)
    if not wanted(len(rows)):
        return None
    with tempfile.TemporaryDirectory(prefix="ls4-overview-") as folder:
        path = os.path.join(folder, f"{collection.name}.tif")
        try:
            build(rows, extent, "auto", path)
        except (Ls4Error, RuntimeError):
            # An overview is an optimisation: without one (the frames' COGs not readable over
            # their public URLs) the mapfile draws the tile index at every scale, as before.
            return None
        storage.upload_file(target.s3, path, overview_key(collection.name))
    return storage.vsis3_path(target.s3, overview_key(collection.name)), switch_scale(extent)
