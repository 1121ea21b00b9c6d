"""What a raster is, in the terms LS4 publishes by: band layout, CRS, georeferencing, NoData, COG.

``inspect_raster(path)`` answers with a ``RasterReport``, or raises ``InputError`` naming the file
and the problem when it is not a readable raster (missing, empty, not a raster, truncated).
"""

import html
import json
import math
import os
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from osgeo import gdal

from .cogcheck import dataset_layout_problems
from .errors import InputError
from .gdalutil import Band, Dataset, SpatialReference, gdal_errors, open_raster

LAYOUT_RULE = "LS4 publishes 1-band grayscale (bw) or 3-band colour (nc)"
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


@dataclass
class RasterReport:
    """The facts about one raster; ``to_dict`` for models and JSON, ``to_text`` for people."""

    path: str
    driver: str
    width: int
    height: int
    band_count: int
    data_type: str
    band_layout: str | None = None
    band_layout_reason: str = ""
    crs: str | None = None
    epsg: int | None = None
    georeferencing: str = "none"
    geotransform: list[float] | None = None
    gcp_count: int = 0
    nodata: list[float | None] = field(default_factory=list)
    nodata_problems: list[str] = field(default_factory=list)
    mask: str = "none"
    alpha_band: int | None = None
    compression: str = "none"
    block_size: list[int] = field(default_factory=list)
    overviews: list[list[int]] = field(default_factory=list)
    is_cog: bool = False
    cog_errors: list[str] = field(default_factory=list)
    cog_warnings: list[str] = field(default_factory=list)

    @property
    def authid(self) -> str:
        """``EPSG:<code>`` when the CRS has an EPSG code, else ``""``."""
        return f"EPSG:{self.epsg}" if self.epsg else ""

    @property
    def nodata_problem(self) -> str:
        """The NoData problems in one line, ``""`` when there are none."""
        return "; ".join(self.nodata_problems)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # JSON has no NaN: a NaN NoData is written as the string GDAL itself prints
        data["nodata"] = [_json_number(value) for value in self.nodata]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        return "\n".join(f"{label}: {value}" for label, value in self._lines())

    def to_html(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value))}</td></tr>"
            for label, value in self._lines()
        )
        title = html.escape(os.path.basename(self.path))
        return f"<html><body><h1>{title}</h1><table>{rows}</table></body></html>\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the report to ``path``: JSON for ``.json``, HTML for ``.html``, else text."""
        extension = os.path.splitext(str(path))[1].lower()
        if extension == ".json":
            text = self.to_json() + "\n"
        elif extension in (".html", ".htm"):
            text = self.to_html()
        else:
            text = self.to_text() + "\n"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)

    def _lines(self) -> list[tuple[str, object]]:
        layout = self.band_layout or f"none ({self.band_layout_reason})"
        georef = self.georeferencing
        if self.geotransform:
            georef += f" {self.geotransform}"
        elif self.gcp_count:
            georef += f" ({self.gcp_count} GCPs)"
        cog = "yes" if self.is_cog else "no: " + "; ".join(self.cog_errors)
        nodata = ", ".join("none" if v is None else _format_number(v) for v in self.nodata)
        return [
            ("File", self.path),
            ("Format", self.driver),
            ("Size", f"{self.width} x {self.height} pixels, {self.band_count} band(s)"),
            ("Data type", self.data_type),
            ("Band layout", layout),
            ("CRS", self.authid or (self.crs and "custom (WKT)") or "none"),
            ("Georeferencing", georef),
            ("NoData", nodata),
            ("NoData problems", self.nodata_problem or "none"),
            ("Mask", self.mask),
            ("Compression", self.compression),
            ("Block size", " x ".join(str(n) for n in self.block_size)),
            ("Overviews", ", ".join(f"{w}x{h}" for w, h in self.overviews) or "none"),
            ("Cloud Optimized GeoTIFF", cog),
            ("COG warnings", "; ".join(self.cog_warnings) or "none"),
        ]


def inspect_raster(path: object) -> RasterReport:
    """Inspect the raster at ``path``; raises ``InputError`` when it is not a readable raster."""
    return open_and_inspect(path)[0]


def open_and_inspect(path: object) -> tuple[RasterReport, Dataset]:
    """``(RasterReport, the open GDAL dataset)``: for a caller that goes on reading the file
    (validation, footprint) without opening it again. Raises as ``inspect_raster`` does."""
    path = str(path)
    _check_file(path)
    dataset, messages = open_raster(path)
    if dataset is None:
        raise InputError(_unreadable_message(path, messages))
    try:
        return _report(path, dataset), dataset
    except BaseException as error:
        # The exception's frames would keep the file open until the garbage collector, which
        # may run after GDAL has shut down (a SIGSEGV at exit, seen on QGIS 3.40).
        dataset = None
        traceback.clear_frames(error.__traceback__)
        raise


def _report(path: str, dataset: Dataset) -> RasterReport:
    if dataset.RasterCount == 0:
        raise InputError(f"{path}: has no raster bands (a container of subdatasets?)")
    _check_complete(path, dataset)
    band = dataset.GetRasterBand(1)
    report = RasterReport(
        path=path,
        driver=dataset.GetDriver().ShortName,
        width=dataset.RasterXSize,
        height=dataset.RasterYSize,
        band_count=dataset.RasterCount,
        data_type=_data_type(dataset),
        compression=dataset.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or "none",
        block_size=list(band.GetBlockSize()),
        overviews=[_size(band.GetOverview(i)) for i in range(band.GetOverviewCount())],
    )
    report.alpha_band = _alpha_band(dataset)
    report.band_layout, report.band_layout_reason = _band_layout(dataset, report.alpha_band)
    report.epsg, report.crs = _crs(dataset)
    report.georeferencing, report.geotransform, report.gcp_count = _georeferencing(dataset)
    report.nodata, report.nodata_problems = _nodata(dataset)
    report.mask = _mask(dataset)
    report.cog_errors, report.cog_warnings, _ = dataset_layout_problems(dataset)
    report.is_cog = not report.cog_errors
    return report


# --- the file itself -----------------------------------------------------------------------------


def _check_file(path: str) -> None:
    stat = gdal.VSIStatL(path)
    if stat is None:
        raise InputError(f"{path}: the file does not exist")
    if stat.IsDirectory():
        raise InputError(f"{path}: this is a folder, not a raster file")
    if stat.size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")


def _unreadable_message(path: str, messages: list[str]) -> str:
    gdal_says = f" (GDAL: {messages[-1]})" if messages else ""
    if _first_bytes(path, 4) in TIFF_SIGNATURES:
        return f"{path}: a damaged or truncated TIFF that GDAL cannot open{gdal_says}"
    return f"{path}: not a raster file GDAL can read{gdal_says}"


def _first_bytes(path: str, count: int) -> bytes:
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        return b""
    try:
        return gdal.VSIFReadL(1, count, handle) or b""
    finally:
        gdal.VSIFCloseL(handle)


def _check_complete(path: str, dataset: Dataset) -> None:
    """Raise when the image data is cut short: GDAL opens such files and fails only on reading."""
    size = gdal.VSIStatL(path).size
    end = max((_last_block_end(level) for level in _levels(dataset)), default=0)
    if end > size:
        raise InputError(
            f"{path}: the file is truncated: it has {size} bytes but its image data "
            f"runs to byte {end} (an interrupted copy or download?)"
        )
    for index in range(1, dataset.RasterCount + 1):
        problem = _last_block_problem(dataset.GetRasterBand(index))
        if problem:
            raise InputError(f"{path}: band {index} cannot be read to its end: {problem}")


def _levels(dataset: Dataset) -> Iterator[Band]:
    """Every band, overview and per-dataset mask whose blocks this file (not a side file) stores."""
    side_files = {os.path.splitext(name)[1].lower() for name in dataset.GetFileList() or []}
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        levels = [band]
        if ".ovr" not in side_files:
            levels += [band.GetOverview(i) for i in range(band.GetOverviewCount())]
        for level in levels:
            yield level
            if index == 1 and ".msk" not in side_files and _has_own_mask(level):
                yield level.GetMaskBand()


def _has_own_mask(band: Band) -> bool:
    return band.GetMaskFlags() == gdal.GMF_PER_DATASET


def _last_block_end(band: Band) -> int:
    width, height = band.GetBlockSize()
    x = (band.XSize + width - 1) // width - 1
    y = (band.YSize + height - 1) // height - 1
    offset = band.GetMetadataItem(f"BLOCK_OFFSET_{x}_{y}", "TIFF")
    count = band.GetMetadataItem(f"BLOCK_SIZE_{x}_{y}", "TIFF")
    return int(offset) + int(count) if offset and count else 0


def _last_block_problem(band: Band) -> str:
    """Read the bottom-right block, the last one written in most layouts; GDAL's error or ""."""
    width, height = band.GetBlockSize()
    x = (band.XSize - 1) // width * width
    y = (band.YSize - 1) // height * height
    with gdal_errors() as messages:
        try:
            data = band.ReadRaster(x, y, band.XSize - x, band.YSize - y)
        except RuntimeError as error:
            messages.append(str(error))
            data = None
    if data is None or messages:
        return messages[-1] if messages else "GDAL could not read it"
    return ""


# --- bands ---------------------------------------------------------------------------------------


def _bands(dataset: Dataset) -> list[Band]:
    return [dataset.GetRasterBand(i) for i in range(1, dataset.RasterCount + 1)]


def _data_type(dataset: Dataset) -> str:
    names = [gdal.GetDataTypeName(band.DataType) for band in _bands(dataset)]
    return names[0] if len(set(names)) == 1 else ", ".join(names)


def _alpha_band(dataset: Dataset) -> int | None:
    for index, band in enumerate(_bands(dataset), start=1):
        if band.GetColorInterpretation() == gdal.GCI_AlphaBand:
            return index
    return None


def _band_layout(dataset: Dataset, alpha_band: int | None) -> tuple[str | None, str]:
    """``("bw" | "nc", "")`` or ``(None, reason)``. An alpha band rides along with either."""
    count = dataset.RasterCount - (1 if alpha_band else 0)
    plus_alpha = " plus an alpha band" if alpha_band else ""
    reasons: list[str] = []
    if count == 1 and dataset.GetRasterBand(1).GetColorTable() is not None:
        reasons.append(
            f"1 band with a colour table (paletted){plus_alpha}: {LAYOUT_RULE}; "
            "expand it to RGB first (gdal_translate -expand rgb)"
        )
    elif count not in (1, 3):
        reasons.append(f"{count} band{'s' if count != 1 else ''}{plus_alpha}: {LAYOUT_RULE}")
    for data_type in sorted({band.DataType for band in _bands(dataset)}):
        if data_type != gdal.GDT_Byte:
            bits = gdal.GetDataTypeSize(data_type)
            name = gdal.GetDataTypeName(data_type)
            reasons.append(f"{bits}-bit ({name}) data: LS4 publishes 8-bit (Byte)")
    if reasons:
        return None, "; ".join(reasons)
    return ("bw" if count == 1 else "nc"), ""


def _nodata(dataset: Dataset) -> tuple[list[float | None], list[str]]:
    values: list[float | None] = []
    problems: list[str] = []
    for index, band in enumerate(_bands(dataset), start=1):
        value = band.GetNoDataValue()
        values.append(value)
        if value is not None and not _fits(value, band.DataType):
            name = gdal.GetDataTypeName(band.DataType)
            problems.append(
                f"band {index}: NoData {_format_number(value)} cannot be stored in a {name} band; "
                "it will be ignored"
            )
    return values, problems


def _fits(value: float, data_type: int) -> bool:
    """Whether a band of ``data_type`` can hold the value ``value``."""
    if data_type in (gdal.GDT_Float64, gdal.GDT_CFloat64):
        return True
    if math.isnan(value) or math.isinf(value):
        return data_type in (gdal.GDT_Float32, gdal.GDT_CFloat32)
    if data_type in (gdal.GDT_Float32, gdal.GDT_CFloat32):
        return abs(value) <= 3.4028234663852886e38
    limits = {
        gdal.GDT_Byte: (0, 255),
        gdal.GDT_UInt16: (0, 65535),
        gdal.GDT_Int16: (-32768, 32767),
        gdal.GDT_CInt16: (-32768, 32767),
        gdal.GDT_UInt32: (0, 2**32 - 1),
        gdal.GDT_Int32: (-(2**31), 2**31 - 1),
        gdal.GDT_CInt32: (-(2**31), 2**31 - 1),
    }
    low, high = limits.get(data_type, (-math.inf, math.inf))
    return value == int(value) and low <= value <= high


def _mask(dataset: Dataset) -> str:
    flags = dataset.GetRasterBand(1).GetMaskFlags()
    if flags & gdal.GMF_ALPHA:
        return "alpha band"
    if flags & gdal.GMF_NODATA:
        return "NoData value"
    if flags & gdal.GMF_PER_DATASET:
        external = any(name.lower().endswith(".msk") for name in dataset.GetFileList() or [])
        return "per-dataset mask" + (" (external .msk file)" if external else "")
    return "none"


# --- where it is ---------------------------------------------------------------------------------


def _crs(dataset: Dataset) -> tuple[int | None, str | None]:
    """``(EPSG code or None, the CRS as WKT or None)``."""
    srs = dataset.GetSpatialRef() or dataset.GetGCPSpatialRef()
    if srs is None:
        return None, None
    return _epsg(srs), srs.ExportToWkt()


def _epsg(srs: SpatialReference) -> int | None:
    if srs.GetAuthorityName(None) != "EPSG":
        srs = srs.Clone()
        with gdal_errors():
            try:
                srs.AutoIdentifyEPSG()
            except RuntimeError:
                return None
    if srs.GetAuthorityName(None) == "EPSG":
        return int(srs.GetAuthorityCode(None))
    return None


def _georeferencing(dataset: Dataset) -> tuple[str, list[float] | None, int]:
    """``(kind, geotransform or None, GCP count)``."""
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    if geotransform is not None:
        return "geotransform", list(geotransform), 0
    if dataset.GetGCPCount():
        return "gcps", None, dataset.GetGCPCount()
    return "none", None, 0


# --- formatting ----------------------------------------------------------------------------------


def _size(band: Band) -> list[int]:
    return [band.XSize, band.YSize]


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)
