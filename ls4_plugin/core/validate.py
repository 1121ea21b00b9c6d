"""Is a file a COG LS4 can publish? GDAL's layout rules plus the bucket's own.

GDAL's rules (``cogcheck``, through ``rasterinfo.inspect_raster``): tiled, overviews by
decreasing size, IFDs before the imagery, no external overviews. LS4's rules (GUIDE §2):
EPSG:3857 north up, tiles of 512, overviews down to one tile, 8-bit, ``bw`` = 1 band in lossless
DEFLATE with a predictor, ``nc`` = 3 bands in JPEG YCbCr, and a collar marked by a 1-bit internal
mask with overviews of its own (never a colour that JPEG smears, never alpha with JPEG), so that
it stays transparent at every zoom.
"""

from dataclasses import dataclass, field
from typing import Any

from osgeo import gdal

from .gdalutil import gdal_errors
from .profile import BAND_COUNTS, BLOCK_SIZE, DEFAULT_COMPRESSION, LOSSLESS, TARGET_EPSG
from .rasterinfo import RasterReport, open_and_inspect


@dataclass
class Validation:
    """The verdict on one file: ``valid`` when ``errors`` is empty; ``details`` for scripts."""

    valid: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"Valid LS4 COG: {'yes' if self.valid else 'no'}"]
        lines += [f"ERROR: {error}" for error in self.errors]
        lines += [f"WARNING: {warning}" for warning in self.warnings]
        lines += [f"{key}: {value}" for key, value in sorted(self.details.items())]
        return "\n".join(lines)


def validate_cog(
    path: object,
    band_layout: str | None = None,
    compression: str | None = None,
    opened: tuple[RasterReport, Any] | None = None,
) -> Validation:
    """Check ``path`` against GDAL's COG rules and LS4's.

    ``band_layout`` ``bw``/``nc`` is what the file must be (``None`` or ``"auto"``: what its
    bands say); ``compression`` the one it must use (``None`` or ``"auto"``: the layout's, DEFLATE
    for bw and JPEG for nc). ``opened``: ``rasterinfo.open_and_inspect(path)`` when the caller
    has it. Raises ``InputError`` when the file is not a readable raster.
    """
    report, dataset = opened or open_and_inspect(path)
    checks = _Checks(report, dataset)
    layout = checks.band_layout(band_layout)
    checks.placement()
    checks.compression(layout, compression)
    checks.tiles()
    checks.mask()
    checks.details["band_layout"] = layout
    return Validation(not checks.errors, checks.errors, checks.warnings, checks.details)


class _Checks:
    """LS4's rules on top of the inspection, each adding to the lists of errors and warnings."""

    def __init__(self, report: RasterReport, dataset: Any) -> None:
        self.report = report
        self.dataset = dataset
        self.band = dataset.GetRasterBand(1)
        self.errors = list(report.cog_errors)
        self.warnings = list(report.cog_warnings)
        self.details = {
            "data_type": report.data_type,
            "epsg": report.epsg,
            "size": [report.width, report.height],
            "overviews": report.overviews,
            "block_size": report.block_size,
            "mask": report.mask,
        }

    def band_layout(self, expected: str | None) -> str | None:
        found = self.report.band_layout
        if expected in (None, "", "auto"):
            if found is None:
                self.errors.append(f"not a bw or nc image: {self.report.band_layout_reason}")
            return found
        count = self.report.band_count - (1 if self.report.alpha_band else 0)
        if count != BAND_COUNTS[expected]:
            self.errors.append(f"{count} band(s), but a {expected} COG has {BAND_COUNTS[expected]}")
        if self.band.DataType != gdal.GDT_Byte:
            self.errors.append(f"{self.report.data_type} data: LS4 publishes 8-bit (Byte) images")
        return expected

    def placement(self) -> None:
        if self.report.epsg != TARGET_EPSG:
            epsg, crs = self.report.epsg, self.report.crs
            found = f"EPSG:{epsg}" if epsg else ("a CRS without EPSG code" if crs else "none")
            self.errors.append(f"the CRS is {found}, not EPSG:{TARGET_EPSG}")
        transform = self.report.geotransform
        if transform is None:
            self.errors.append("no geotransform: the image is not placed on the map")
        elif transform[2] or transform[4]:
            self.errors.append("the geotransform is rotated: a web-mercator COG is north up")

    def compression(self, layout: str | None, expected: str | None) -> None:
        found = self.report.compression.upper()
        ycbcr = found == "YCBCR JPEG"
        found = "JPEG" if ycbcr else found
        predictor = self.dataset.GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE") or "1"
        self.details.update(compression=found, predictor=predictor)
        if expected in (None, "", "auto"):
            expected = DEFAULT_COMPRESSION.get(layout or "")
        if expected is None:
            return
        if found != expected.upper():
            self.errors.append(f"compressed with {found}: this {layout} COG must use {expected}")
        elif found == "JPEG" and layout == "nc" and not ycbcr:
            self.errors.append("JPEG in RGB: an nc COG is JPEG in YCbCr (PHOTOMETRIC=YCBCR)")
        elif found in LOSSLESS and predictor == "1":
            self.errors.append(f"{found} without a predictor: LS4 uses the horizontal predictor")

    def tiles(self) -> None:
        band = self.band
        levels = [band] + [band.GetOverview(i) for i in range(band.GetOverviewCount())]
        for index, level in enumerate(levels):
            width, height = level.GetBlockSize()
            if (width, height) != (BLOCK_SIZE, BLOCK_SIZE):
                name = "the main image" if index == 0 else f"overview {index}"
                self.errors.append(f"{name} has blocks of {width}x{height}, not {BLOCK_SIZE}")
                break
        smallest = levels[-1]
        if max(smallest.XSize, smallest.YSize) > BLOCK_SIZE:
            self.errors.append(
                f"the smallest level is {smallest.XSize}x{smallest.YSize} pixels: overviews "
                f"must go down to one tile of {BLOCK_SIZE}"
            )

    def mask(self) -> None:
        has_mask = self.report.mask == "per-dataset mask"
        self.details["has_mask"] = has_mask
        if self.report.alpha_band:
            problem = f"band {self.report.alpha_band} is alpha: LS4 marks the collar with a mask"
            jpeg = self.details["compression"] == "JPEG"
            (self.errors if jpeg else self.warnings).append(problem)
        nodata = self.band.GetNoDataValue()
        if nodata is not None:
            self.warnings.append(f"NoData {nodata:g} is set: LS4 marks the collar with a mask")
        if self.report.mask.startswith("per-dataset mask ("):
            self.errors.append(f"the mask is a side file ({self.report.mask}): it must be inside")
        if has_mask:
            self._mask_overviews()
        elif not self.report.alpha_band and _has_collar(self.dataset, nodata):
            self.errors.append(
                "the corners are filled with one value (a collar) but there is no mask: the "
                "collar would not be transparent in the WMS"
            )

    def _mask_overviews(self) -> None:
        mask = self.band.GetMaskBand()
        if mask.GetOverviewCount() < self.band.GetOverviewCount():
            self.errors.append(
                f"the mask has {mask.GetOverviewCount()} overviews, the image "
                f"{self.band.GetOverviewCount()}: the collar would show when zoomed out"
            )


def _has_collar(dataset: Any, nodata: float | None) -> bool:
    """Whether two or more corner pixels hold 0 (or the NoData value) in every band.

    A warped frame written without a mask has such corners; a photograph very rarely does.
    """
    width, height = dataset.RasterXSize, dataset.RasterYSize
    corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
    fills = {0.0} if nodata is None else {0.0, float(nodata)}
    bands = [dataset.GetRasterBand(i) for i in range(1, dataset.RasterCount + 1)]
    filled = 0
    for x, y in corners:
        values = {_pixel(band, x, y) for band in bands}
        filled += len(values) == 1 and values <= fills
    return filled >= 2


def _pixel(band: Any, x: int, y: int) -> float | None:
    with gdal_errors():
        try:
            data = band.ReadAsArray(x, y, 1, 1)
        except RuntimeError:
            return None
    return None if data is None else float(data[0][0])
