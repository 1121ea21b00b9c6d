"""Masked EPSG:3857 rasters made from the sample imagery, like the COGs the pipeline publishes.

Test helpers (no fixtures, no conftest): the collar is an internal per-dataset mask, JPEG in
YCbCr with overviews, as ``make_cog`` writes them.
"""

import numpy as np
from osgeo import gdal


def masked_cog(source, target, width=None):
    """Warp ``source`` to EPSG:3857 and write a JPEG COG whose collar is a per-dataset mask.

    The COG driver turns the warp's alpha band into the mask when compressing with JPEG.
    ``width`` resizes the output (a larger frame from a small sample).
    """
    warped = gdal.Warp(
        "",
        str(source),
        format="VRT",
        dstSRS="EPSG:3857",
        dstAlpha=True,
        resampleAlg="near",
        width=width or 0,
        height=0,
    )
    result = gdal.Translate(
        str(target),
        warped,
        format="COG",
        creationOptions=["COMPRESS=JPEG", "QUALITY=90", "BLOCKSIZE=256", "RESAMPLING=AVERAGE"],
    )
    result = None  # noqa: F841  (closing writes the file)
    return target


def mask_array(path):
    """The full-resolution per-dataset mask of ``path`` as a boolean array."""
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0


def pixel_area(path):
    """The ground area of one pixel of ``path`` (square CRS units)."""
    transform = gdal.Open(str(path)).GetGeoTransform()
    return abs(transform[1] * transform[5])


def bbox(path):
    """``(minx, miny, maxx, maxy)`` of ``path``."""
    dataset = gdal.Open(str(path))
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    x1, y1 = x0 + dx * dataset.RasterXSize, y0 + dy * dataset.RasterYSize
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def valid_area(path):
    """The area of the valid (unmasked) pixels of ``path``, counted pixel by pixel."""
    return float(np.count_nonzero(mask_array(path))) * pixel_area(path)
