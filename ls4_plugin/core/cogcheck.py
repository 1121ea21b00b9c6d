"""Is a GeoTIFF laid out as a Cloud Optimized GeoTIFF?

The rules are GDAL's own (``validate_cloud_optimized_geotiff.py``, shipped with the GDAL Python
bindings as ``osgeo_utils.samples``): tiled main image and overviews, overviews by decreasing
size, IFDs before the imagery, no external ``.ovr``, and, in a full check, the ghost header's
promises (block order, leader and trailer bytes, mask interleaving). LS4 adds one rule: GDAL only
calls a striped file "not tiled" when it is wider than 1024 pixels, but LS4 publishes tiles of
512, so any striped image is reported.
"""

import os
from typing import Any

from .errors import InputError
from .gdalutil import gdal_errors, open_raster


def layout_problems(path: object) -> tuple[list[str], list[str], dict[str, Any]]:
    """The COG layout check of the GeoTIFF at ``path``: ``(errors, warnings, details)``.

    ``errors`` empty means a valid COG. Raises ``InputError`` when the file cannot be opened.
    """
    dataset, messages = open_raster(path)
    if dataset is None:
        reason = messages[-1] if messages else "GDAL cannot open it"
        if not os.path.exists(str(path)):
            reason = "the file does not exist"
        raise InputError(f"{path}: cannot check the COG layout: {reason}")
    return dataset_layout_problems(dataset)


def dataset_layout_problems(dataset: Any) -> tuple[list[str], list[str], dict[str, Any]]:
    """``layout_problems`` for a dataset that is already open."""
    driver = dataset.GetDriver().ShortName
    if driver != "GTiff":
        return [f"not a GeoTIFF (GDAL reads it as {driver}): a COG is a GeoTIFF"], [], {}
    try:
        from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate
    except ImportError:
        return [], ["GDAL's COG validator (osgeo_utils) is not installed: layout not checked"], {}
    with gdal_errors() as messages:
        try:
            warnings, errors, details = validate(dataset, full_check=True)
        except Exception as error:  # GDAL's sample script raises whatever its reads hit
            return [f"the TIFF structure cannot be read: {error}"], [], {}
    if messages:
        errors = errors + [f"GDAL reported while checking the layout: {messages[-1]}"]
    errors = errors + _striped_problems(dataset, errors)
    details["block_size"] = list(dataset.GetRasterBand(1).GetBlockSize())
    return errors, warnings, details


def _striped_problems(dataset: Any, errors: list[str]) -> list[str]:
    if any("not tiled" in error for error in errors):
        return []
    problems = []
    band = dataset.GetRasterBand(1)
    levels = [("main image", band)]
    levels += [
        (f"overview of index {i}", band.GetOverview(i)) for i in range(band.GetOverviewCount())
    ]
    for name, level in levels:
        width, height = level.GetBlockSize()
        if width == level.XSize and height < level.YSize:
            problems.append(
                f"The {name} is stored in strips of {width}x{height} pixels, not tiled "
                "(LS4 publishes tiles of 512)"
            )
    return problems
