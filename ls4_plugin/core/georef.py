"""Georeference a scan from a QGIS Georeferencer ``.points`` file.

A ``.points`` file holds an optional ``#CRS: <WKT>`` line, the header
``mapX,mapY,sourceX,sourceY,enable,dX,dY,residual`` (QGIS before 3.26 says ``pixelX,pixelY``)
and one GCP per row. Source coordinates are pixels with the image's top-left corner at (0, 0);
QGIS writes rows as negative ``sourceY`` (its canvas shows the scan with y pointing up), so the
pixel row is ``-sourceY``. Rows with ``enable`` 0 are ignored, as in QGIS.

Polynomial 1 writes the fitted affine transform as the output's geotransform: no resampling, the
pixels stay exactly as scanned. Polynomial 2 and 3 and thin plate spline warp with GDAL; the
collar the warp creates becomes an internal mask, so a 1-band scan stays 1 band for the COG step.
"""

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from osgeo import gdal, osr

from .errors import InputError, Ls4Error
from .feedback import FeedbackLike, check_canceled, ensure, gdal_progress
from .gdalutil import Dataset, SpatialReference, gdal_errors, open_raster
from .outputs import partial_output

ORDERS = {"polynomial1": 1, "polynomial2": 2, "polynomial3": 3, "tps": None}
MIN_GCPS = {"polynomial1": 3, "polynomial2": 6, "polynomial3": 10, "tps": 3}
RESAMPLINGS = ("near", "bilinear", "cubic", "lanczos")
HEADER = "mapX,mapY,sourceX,sourceY,enable,dX,dY,residual"
COLUMN_ALIASES = {"pixelX": "sourceX", "pixelY": "sourceY"}
REQUIRED_COLUMNS = ("mapX", "mapY", "sourceX", "sourceY")
CREATION_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]
# GDAL's six affine coefficients: x0, x per pixel, x per row, y0, y per pixel, y per row.
GeoTransform = tuple[float, ...]
FilePath = str | os.PathLike[str]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Gcp:
    """One enabled ground control point: map coordinates, pixel position, line in its file."""

    map_x: float
    map_y: float
    pixel: float
    row: float
    lineno: int


@dataclass
class GcpSet:
    """The content of a ``.points`` file: the GCPs' CRS (WKT, may be empty) and enabled GCPs."""

    path: str
    crs_wkt: str
    gcps: list[Gcp] = field(default_factory=list)
    crs_lineno: int = 0


@dataclass(frozen=True)
class Residual:
    """How far the fitted transform puts a GCP from where it was clicked, in pixels."""

    lineno: int
    pixel: float
    row: float
    dx: float
    dy: float

    @property
    def residual(self) -> float:
        return math.hypot(self.dx, self.dy)


@dataclass
class GeorefResult:
    path: str
    crs_wkt: str
    transform: str
    residuals: list[Residual]
    rms_px: float
    warped: bool


def read_points(path: FilePath) -> GcpSet:
    """Parse a QGIS Georeferencer ``.points`` file into a ``GcpSet`` (enabled GCPs only)."""
    text = _read_text(path)
    points = GcpSet(str(path), "")
    columns = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line[:5].upper() == "#CRS:":
                points.crs_wkt, points.crs_lineno = line[5:].strip(), lineno
            continue
        if columns is None:
            columns = _header(path, lineno, line)
            continue
        gcp = _gcp(path, lineno, line, columns)
        if gcp is not None:
            points.gcps.append(gcp)
    if columns is None:
        raise InputError(f"{path}: no GCPs: the header line '{HEADER}' is missing")
    return points


def _read_text(path: FilePath) -> str:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: the GCP file does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a GCP text file (it is not UTF-8 text)") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the GCP file: {error.strerror}") from None


def _header(path: FilePath, lineno: int, line: str) -> list[str]:
    columns = [COLUMN_ALIASES.get(name.strip(), name.strip()) for name in line.split(",")]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InputError(
            f"{path}, line {lineno}: expected the header '{HEADER}', found '{line[:80]}' "
            f"(no column {', '.join(missing)})"
        )
    return columns


def _gcp(path: FilePath, lineno: int, line: str, columns: list[str]) -> Gcp | None:
    """The GCP on one data line, or None when it is disabled."""
    fields = [value.strip() for value in line.split(",")]
    if len(fields) != len(columns):
        raise InputError(
            f"{path}, line {lineno}: expected {len(columns)} comma-separated values "
            f"({','.join(columns)}), found {len(fields)}"
        )
    row = dict(zip(columns, fields, strict=True))
    if "enable" in row:
        enable = _number(path, lineno, row, "enable")
        if enable not in (0, 1):
            raise InputError(f"{path}, line {lineno}: enable is '{row['enable']}', expected 0 or 1")
        if enable == 0:
            return None
    values = {name: _number(path, lineno, row, name) for name in REQUIRED_COLUMNS}
    return Gcp(values["mapX"], values["mapY"], values["sourceX"], -values["sourceY"], lineno)


def _number(path: FilePath, lineno: int, row: dict[str, str], name: str) -> float:
    try:
        value = float(row[name])
    except ValueError:
        raise InputError(f"{path}, line {lineno}: {name} '{row[name]}' is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{path}, line {lineno}: {name} '{row[name]}' is not a finite number")
    return value


def georeference(
    src: FilePath,
    points: FilePath | GcpSet,
    dst: FilePath,
    transform: str = "polynomial1",
    target_crs: str | None = None,
    resampling: str = "near",
    feedback: FeedbackLike | None = None,
) -> GeorefResult:
    """Georeference the raster ``src`` with the GCPs of ``points`` (a path or a ``GcpSet``).

    Writes a GeoTIFF at ``dst`` in ``target_crs`` (any CRS string GDAL reads; default: the GCPs'
    CRS). Without a ``#CRS`` line the GCPs are taken to be in ``target_crs``. Returns a
    ``GeorefResult``; raises ``InputError`` for unusable input and ``Canceled`` on cancel, in
    both cases leaving nothing at ``dst``.
    """
    feedback = ensure(feedback)
    _check_choices(transform, resampling)
    dataset = open_source(src)
    points = points if isinstance(points, GcpSet) else read_points(points)
    _check_gcps(points, transform, dataset, src)
    gcp_srs, out_srs = _crs_pair(points, target_crs)
    geotransform: GeoTransform | None
    if transform == "polynomial1":
        geotransform = affine_geotransform(points, (dataset.RasterXSize, dataset.RasterYSize))
        residuals = affine_residuals(points.gcps, geotransform)
        base = _vrt_with_geotransform(dataset, geotransform, gcp_srs)
    else:
        geotransform = None
        residuals = polynomial_residuals(points, ORDERS[transform])
        base = _vrt_with_gcps(dataset, points.gcps, gcp_srs)
    warped = geotransform is None or not gcp_srs.IsSame(out_srs)
    if warped:
        base = _warped_vrt(base, transform, out_srs, resampling)
    feedback.pushInfo(f"Georeferencing {src} ({transform}, {len(points.gcps)} GCPs)")
    with partial_output(dst, src) as partial:
        _write(base, partial, warped, feedback, dst)
    rms = math.sqrt(sum(r.residual**2 for r in residuals) / len(residuals))
    return GeorefResult(str(dst), out_srs.ExportToWkt(), transform, residuals, rms, warped)


def _check_choices(transform: str, resampling: str) -> None:
    if transform not in ORDERS:
        raise InputError(f"unknown transform '{transform}': use one of {', '.join(ORDERS)}")
    if resampling not in RESAMPLINGS:
        raise InputError(f"unknown resampling '{resampling}': use one of {', '.join(RESAMPLINGS)}")


def open_source(src: FilePath) -> Dataset:
    """The GDAL dataset of the scan; ``InputError`` naming the file when it is not a raster."""
    dataset, messages = open_raster(src)
    if dataset is None or dataset.RasterCount == 0:
        if not os.path.exists(str(src)):
            reason = "the file does not exist"
        else:
            reason = "not a raster GDAL can read" + (f" ({messages[-1]})" if messages else "")
        raise InputError(f"{src}: cannot georeference it: {reason}")
    return dataset


def _check_gcps(points: GcpSet, transform: str, dataset: Dataset, src: FilePath) -> None:
    needed = MIN_GCPS[transform]
    if len(points.gcps) < needed:
        raise InputError(
            f"{points.path}: {len(points.gcps)} enabled GCPs, but {transform} needs at least "
            f"{needed}"
        )
    width, height = dataset.RasterXSize, dataset.RasterYSize
    for number, gcp in enumerate(points.gcps, start=1):
        if 0 <= gcp.pixel <= width and 0 <= gcp.row <= height:
            continue
        hint = " (QGIS writes rows as negative sourceY)" if gcp.row < 0 else ""
        raise InputError(
            f"{points.path}, line {gcp.lineno}: GCP {number} at sourceX {gcp.pixel:g}, "
            f"sourceY {-gcp.row:g} is outside the image {src} ({width} x {height} pixels){hint}"
        )
    if transform == "tps":
        _check_distinct(points)


def _check_distinct(points: GcpSet) -> None:
    seen: dict[tuple[float, float], int] = {}
    for gcp in points.gcps:
        for key in ((gcp.pixel, gcp.row), (gcp.map_x, gcp.map_y)):
            if key in seen:
                raise InputError(
                    f"{points.path}, line {gcp.lineno}: GCP repeats the position of line "
                    f"{seen[key]}: a thin plate spline needs distinct GCPs"
                )
            seen[key] = gcp.lineno


def _crs_pair(points: GcpSet, target_crs: str | None) -> tuple[SpatialReference, SpatialReference]:
    """The GCPs' spatial reference and the output's."""
    target = _srs(target_crs, "the target CRS") if target_crs else None
    if points.crs_wkt:
        where = f"{points.path}, line {points.crs_lineno}: the #CRS"
        gcp_srs = _srs(points.crs_wkt, where)
    elif target is not None:
        gcp_srs = target
    else:
        raise InputError(
            f"{points.path}: no '#CRS:' line says which CRS the GCPs are in: set a target CRS"
        )
    return gcp_srs, target or gcp_srs


def _srs(text: object, what: str) -> SpatialReference:
    srs = osr.SpatialReference()
    with gdal_errors():
        try:
            ok = srs.SetFromUserInput(str(text)) == 0
        except RuntimeError:
            ok = False
    if not ok:
        raise InputError(f"{what} '{str(text)[:60]}' is not a CRS GDAL understands")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _arrays(gcps: Sequence[Gcp]) -> tuple[Floats, ...]:
    return tuple(np.array([getattr(g, name) for g in gcps]) for name in Gcp.__annotations__)


def affine_geotransform(points: GcpSet, size: tuple[int, int]) -> GeoTransform:
    """The least-squares affine map from pixels to map coordinates, as a GDAL geotransform.

    ``size`` is the image's (width, height): rotation terms that move no pixel of it by more
    than a thousandth of a pixel are least-squares noise and are set to zero, so a north-up
    georeferencing gives a north-up file.
    """
    map_x, map_y, pixel, row, _ = _arrays(points.gcps)
    ones = np.ones_like(pixel)
    if np.linalg.matrix_rank(np.column_stack([ones, pixel, row])) < 3:
        raise InputError(f"{points.path}: the GCPs lie on one line in the image: cannot fit")
    if np.linalg.matrix_rank(np.column_stack([ones, _normalized(map_x), _normalized(map_y)])) < 3:
        raise InputError(f"{points.path}: the GCPs lie on one line on the map: cannot fit")
    design = np.column_stack([ones, pixel, row])
    coef, *_ = np.linalg.lstsq(design, np.column_stack([map_x, map_y]), rcond=None)
    gt = [float(value) for value in (*coef[:, 0], *coef[:, 1])]
    width, height = size
    if abs(gt[2]) * height < 1e-3 * abs(gt[1]) and abs(gt[4]) * width < 1e-3 * abs(gt[5]):
        gt[2] = gt[4] = 0.0
    return tuple(gt)


def affine_residuals(gcps: Sequence[Gcp], geotransform: GeoTransform) -> list[Residual]:
    """Where the inverse of ``geotransform`` puts each GCP, minus where it was clicked."""
    inverse = gdal.InvGeoTransform(geotransform)
    residuals: list[Residual] = []
    for gcp in gcps:
        pixel, row = gdal.ApplyGeoTransform(inverse, gcp.map_x, gcp.map_y)
        residuals.append(Residual(gcp.lineno, gcp.pixel, gcp.row, pixel - gcp.pixel, row - gcp.row))
    return residuals


def polynomial_residuals(points: GcpSet, order: int | None) -> list[Residual]:
    """Residuals of the least-squares polynomial from map to pixel coordinates.

    That direction is the one GDAL's warper uses (for each output pixel, where to read the
    scan), so these are the errors the output carries. A thin plate spline (``order`` None)
    passes through every GCP: its residuals are zero.
    """
    map_x, map_y, pixel, row, _ = _arrays(points.gcps)
    design = _monomials(_normalized(map_x), _normalized(map_y), order or 1)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise InputError(
            f"{points.path}: too few GCPs in distinct places for a polynomial of order "
            f"{order or 1} (some lie on one line): spread them over the image"
        )
    clicked = np.column_stack([pixel, row])
    if order is None:
        predicted = clicked
    else:
        coef, *_ = np.linalg.lstsq(design, clicked, rcond=None)
        predicted = design @ coef
    return [
        Residual(g.lineno, g.pixel, g.row, float(p[0] - g.pixel), float(p[1] - g.row))
        for g, p in zip(points.gcps, predicted, strict=True)
    ]


def _normalized(values: Floats) -> Floats:
    # Map coordinates are large (UTM northings ~4e6): centre and scale them so the powers in a
    # polynomial of order 3 stay well conditioned.
    centred = values - values.mean()
    scale = np.abs(centred).max()
    return centred / scale if scale > 0 else centred


def _monomials(x: Floats, y: Floats, order: int) -> Floats:
    return np.column_stack(
        [x ** (n - j) * y**j for n in range(order + 1) for j in range(n + 1)],
    )


def _vrt_with_geotransform(
    dataset: Dataset, geotransform: GeoTransform, srs: SpatialReference
) -> Dataset:
    vrt = gdal.Translate("", dataset, format="VRT")
    vrt.SetGeoTransform(geotransform)
    vrt.SetProjection(srs.ExportToWkt())
    return vrt


def _vrt_with_gcps(dataset: Dataset, gcps: Sequence[Gcp], srs: SpatialReference) -> Dataset:
    vrt = gdal.Translate("", dataset, format="VRT")
    vrt.SetGCPs([gdal.GCP(g.map_x, g.map_y, 0, g.pixel, g.row) for g in gcps], srs.ExportToWkt())
    return vrt


def _warped_vrt(
    base: Dataset, transform: str, out_srs: SpatialReference, resampling: str
) -> Dataset:
    options: dict[str, Any] = {
        "format": "VRT",
        "dstSRS": out_srs.ExportToWkt(),
        "resampleAlg": resampling,
    }
    options["dstAlpha"] = True
    # The method is named so that a scan that already has a geotransform (a wrong one, or the
    # one to replace) is warped by its GCPs: GDAL would otherwise prefer the geotransform.
    if transform == "tps":
        options["transformerOptions"] = ["METHOD=GCP_TPS"]
    elif transform != "polynomial1":  # polynomial 1 is already the base's geotransform
        options["polynomialOrder"] = ORDERS[transform]
        options["transformerOptions"] = ["METHOD=GCP_POLYNOMIAL"]
    with gdal_errors() as messages:
        try:
            warped = gdal.Warp("", base, **options)
        except RuntimeError as error:
            warped, messages = None, [*messages, str(error)]
    if warped is None:
        reason = messages[-1] if messages else "GDAL refused the transform"
        raise Ls4Error(f"cannot set up the {transform} warp: {reason}")
    return warped


def _write(
    dataset: Dataset, partial: str, warped: bool, feedback: FeedbackLike, dst: FilePath
) -> None:
    options: dict[str, Any] = {
        "format": "GTiff",
        "creationOptions": CREATION_OPTIONS,
        "callback": gdal_progress(feedback),
    }
    if warped:
        # The warp's alpha band becomes a 1-bit internal mask: the band count stays that of the
        # scan, which is how the COG step recognises a bw or nc layout.
        count = dataset.RasterCount
        options.update(bandList=list(range(1, count)), maskBand=count, noData="none")
    with gdal_errors() as messages, _internal_mask():
        try:
            written = gdal.Translate(partial, dataset, **options)
            ok = written is not None
            written = None  # closes the file so it can be renamed
        except RuntimeError as error:
            ok, messages = False, [*messages, str(error)]
    check_canceled(feedback)
    if not ok:
        reason = messages[-1] if messages else "unknown GDAL error"
        raise Ls4Error(f"{dst}: writing the georeferenced GeoTIFF failed: {reason}")


@contextmanager
def _internal_mask() -> Iterator[None]:
    gdal.SetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", None)


def residual_table(result: GeorefResult) -> str:
    """The residuals as a text table, the way the Georeferencer's GCP table shows them."""
    lines = [
        f"GCP residuals in pixels ({result.transform}; predicted minus clicked):",
        f"{'GCP':>4} {'line':>5} {'sourceX':>10} {'sourceY':>10} {'dX':>8} {'dY':>8} "
        f"{'residual':>9}",
    ]
    for number, r in enumerate(result.residuals, start=1):
        values = (r.pixel, -r.row, r.dx, -r.dy, r.residual)
        tidy = [round(value, 3) + 0.0 for value in values]  # no "-0.000"
        lines.append(
            f"{number:>4} {r.lineno:>5} {tidy[0]:>10.2f} {tidy[1]:>10.2f} {tidy[2]:>8.3f} "
            f"{tidy[3]:>8.3f} {tidy[4]:>9.3f}"
        )
    lines.append(f"RMS error: {result.rms_px:.4f} px")
    return "\n".join(lines)
