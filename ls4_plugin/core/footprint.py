"""The footprint of a raster: the outline of its valid pixels (collar excluded), in EPSG:3857.

The mask is read at a few hundred pixels wide (GDAL takes an overview when there is one), so a
10000 × 10000 COG costs no more than a thumbnail. Outlines are polygonized with GDAL, specks and
small holes are dropped, and the result is simplified by about one pixel of the level read.
"""

from typing import Any

from osgeo import gdal, ogr, osr

from .errors import InputError
from .gdalutil import gdal_errors, open_raster
from .profile import TARGET_EPSG

WORK_WIDTH = 512
# Parts and holes smaller than this share of the valid area are specks of the scan, not shape.
MIN_PART_SHARE = 0.001


def valid_footprint(
    path: object, simplify_px: float = 1.0, dataset: Any = None
) -> tuple[str, float]:
    """``(wkt, area)``: the valid pixels of ``path`` as a MultiPolygon WKT in EPSG:3857.

    ``path`` is anything GDAL opens (a local file, ``/vsis3/...``). ``area`` is the area of the
    footprint in square EPSG:3857 units. Raises ``InputError`` when the file cannot be read, has
    no georeferencing or no valid pixel. ``dataset``: ``path`` already open with GDAL.
    """
    dataset = _open(path, dataset)
    mask, pixel = _reduced_mask(dataset, path)
    geometry = _polygonize(mask)
    if geometry.IsEmpty():
        raise InputError(f"{path}: no valid pixel (the whole raster is masked or NoData)")
    geometry = _drop_specks(geometry)
    geometry = geometry.SimplifyPreserveTopology(simplify_px * pixel)
    geometry = _to_3857(geometry, dataset, path)
    if not geometry.IsValid():
        geometry = geometry.MakeValid()
    geometry = ogr.ForceToMultiPolygon(geometry)
    return geometry.ExportToWkt(), geometry.GetArea()


def _open(path: object, dataset: Any = None) -> Any:
    messages: list[str] = []
    if dataset is None:
        dataset, messages = open_raster(path)
    if dataset is None:
        reason = messages[-1] if messages else "GDAL cannot open it"
        raise InputError(f"{path}: cannot be read as a raster ({reason})")
    transform = dataset.GetGeoTransform(can_return_null=True)
    if transform is None or not dataset.GetSpatialRef():
        raise InputError(f"{path}: has no georeferencing (no geotransform or no CRS)")
    if transform[2] or transform[4]:
        raise InputError(f"{path}: is rotated; warp it to a north-up grid first")
    return dataset


def _reduced_mask(dataset: Any, path: object) -> tuple[Any, float]:
    """The mask of band 1 as a MEM dataset at most ``WORK_WIDTH`` wide; and its pixel size."""
    width, height = dataset.RasterXSize, dataset.RasterYSize
    scale = max(1.0, max(width, height) / WORK_WIDTH)
    out_w, out_h = max(1, round(width / scale)), max(1, round(height / scale))
    with gdal_errors() as messages:
        try:
            band = dataset.GetRasterBand(1).GetMaskBand()
            data = band.ReadRaster(0, 0, width, height, out_w, out_h, gdal.GDT_Byte)
        except RuntimeError as error:  # when some other code turned on gdal.UseExceptions()
            messages.append(str(error))
            data = None
    if data is None:
        reason = messages[-1] if messages else "read error"
        raise InputError(f"{path}: its mask cannot be read ({reason})")
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    dx, dy = dx * width / out_w, dy * height / out_h
    mask = gdal.GetDriverByName("MEM").Create("", out_w, out_h, 1, gdal.GDT_Byte)
    mask.SetGeoTransform((x0, dx, 0.0, y0, 0.0, dy))
    mask.GetRasterBand(1).WriteRaster(0, 0, out_w, out_h, data)
    return mask, max(abs(dx), abs(dy))


def _polygonize(mask: Any) -> Any:
    """The union of the mask's non-zero regions, in the mask's coordinates."""
    source = ogr.GetDriverByName("Memory").CreateDataSource("")  # must outlive the layer
    layer = source.CreateLayer("mask")
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    band = mask.GetRasterBand(1)
    gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"])
    union = ogr.Geometry(ogr.wkbMultiPolygon)
    for feature in layer:
        union.AddGeometry(feature.GetGeometryRef())
    source = None
    return union.UnionCascaded() if union.GetGeometryCount() else union


def _drop_specks(geometry: Any) -> Any:
    """Keep the outer outlines: parts and holes below ``MIN_PART_SHARE`` of the area go."""
    minimum = geometry.GetArea() * MIN_PART_SHARE
    kept = ogr.Geometry(ogr.wkbMultiPolygon)
    for polygon in _polygons(geometry):
        if polygon.GetArea() < minimum:
            continue
        clean = ogr.Geometry(ogr.wkbPolygon)
        clean.AddGeometry(polygon.GetGeometryRef(0))
        for index in range(1, polygon.GetGeometryCount()):
            ring = polygon.GetGeometryRef(index)
            if _ring_area(ring) >= minimum:
                clean.AddGeometry(ring)
        kept.AddGeometry(clean)
    return kept


def _polygons(geometry: Any) -> list[Any]:
    if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbPolygon:
        return [geometry]
    return [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]


def _ring_area(ring: Any) -> float:
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    return polygon.GetArea()


def _to_3857(geometry: Any, dataset: Any, path: object) -> Any:
    source = dataset.GetSpatialRef()
    target = osr.SpatialReference()
    target.ImportFromEPSG(TARGET_EPSG)
    if source.IsSame(target):
        return geometry
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    # Densify first so long straight edges follow the curvature of the reprojection.
    geometry = geometry.Clone()
    envelope = geometry.GetEnvelope()
    geometry.Segmentize(max(envelope[1] - envelope[0], envelope[3] - envelope[2]) / 64)
    try:
        failed = geometry.Transform(osr.CoordinateTransformation(source, target))
    except RuntimeError:
        failed = True
    if failed:
        raise InputError(f"{path}: its footprint cannot be reprojected to EPSG:3857")
    return geometry
