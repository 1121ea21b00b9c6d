"""A georeferenced image to an EPSG:3857 Cloud Optimized GeoTIFF, in one pass.

A warped input goes through ``strips.py``: gdalwarp's own warp (the same pixels), on every core,
a strip of one row of tiles at a time, while a second thread computes the overview rows each
finished strip completes (``overviews.py``: GDAL's own averaging) and encodes its tiles with
GDAL's GTiff driver and the COG's options; GDAL's COG driver then writes the headers and the
overviews, and the full-resolution tiles are appended. The full image is never held in memory:
a few strips, the overview levels (a third of the image; on a temporary file when they exceed
``memory_limit``) and GDAL's caches. An input already in EPSG:3857 (north up) is not warped: the
COG driver reads it through a VRT and builds its overviews. The output is written under a
temporary name and renamed when done. The warp's alpha band becomes a 1-bit internal mask, so
the collar (outside the image, and the input's NoData or alpha) is transparent; overviews go
down to one tile of 512. For JPEG and WEBP, the masked pixels of the compression blocks cut by
the image's edge take the colour of the image in the block: transparent either way, and fewer
bytes than a hard step to black.

Measured choices (benchmarks/README.md): DEFLATE level 1 (libdeflate) is both faster and smaller
than the default level 6 on aerial imagery; nearest neighbour is the default warp resampling, as
in the old chain, because it keeps the scan's pixels and costs a third of bilinear.
"""

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from osgeo import gdal

from . import gdalutil, strips
from .errors import Canceled, InputError, Ls4Error
from .feedback import FeedbackLike, check_canceled, ensure, gdal_progress
from .footprint import valid_footprint
from .gdalutil import Dataset, gdal_errors, open_raster
from .outputs import partial_output
from .profile import BAND_COUNTS, BLOCK_SIZE, DEFAULT_COMPRESSION, JPEG_QUALITY, TARGET_EPSG
from .rasterinfo import RasterReport, inspect_raster, open_and_inspect
from .validate import Validation, validate_cog

BAND_LAYOUTS = ("auto", "bw", "nc")
COMPRESSIONS = ("auto", "DEFLATE", "ZSTD", "JPEG", "WEBP")
RESAMPLINGS = ("nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode")
WITH_QUALITY = ("JPEG", "WEBP")
DEFLATE_LEVEL = "1"
COG_TEMP_FILES = (".ovr.tmp", ".msk.ovr.tmp", strips.TILES_SUFFIX, strips.LEVELS_SUFFIX)
MEMORY_SHARE = 0.25  # of the machine's memory: the default memory_limit
COLOURS = {
    "bw": [gdal.GCI_GrayIndex],
    "nc": [gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand],
}


@dataclass
class CogResult:
    """What ``make_cog`` wrote and how; ``validation`` is ``validate_cog`` on the output."""

    path: str
    band_layout: str
    compression: str
    warped: bool
    has_mask: bool
    nodata_warning: str = ""
    validation: Validation | None = None
    streamed: bool = False  # the overview levels went through a temporary file (memory_limit)
    footprint: tuple[str, float] | None = None  # (wkt, area) of the valid pixels, when asked for


@dataclass
class _Plan:
    """What to read from the input and how to write it, decided before any pixel is read."""

    src: str
    band_layout: str
    compression: str
    bands: list[int]
    alpha: int | None
    nodata: list[float] | None
    nodata_warning: str
    warp: bool
    scale: list[list[float]] | None = None  # gdal.Translate's scaleParams, one list a band


@contextmanager
def _disk_state(dst: str | os.PathLike[str]) -> Iterator[None]:
    """A failed write says "No space left on device" and names the folder when it is full;
    judged when the write fails, before the partial output is removed."""
    try:
        yield
    except Canceled:
        raise
    except OSError as error:
        raise InputError(gdalutil.write_failure(dst, error.strerror or str(error))) from None
    except Ls4Error as error:
        message = str(error)
        reason = message.removeprefix(f"{dst}: ")
        full = gdalutil.write_failure(dst, reason)
        if gdalutil.NO_SPACE in full and gdalutil.NO_SPACE not in reason:
            raise InputError(full) from None
        raise


def make_cog(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    band_layout: str = "auto",
    compression: str = "auto",
    quality: int = JPEG_QUALITY,
    resampling: str = "nearest",
    threads: int | None = None,
    feedback: FeedbackLike | None = None,
    memory_limit: float | None = None,
    report: RasterReport | None = None,
    footprint: bool = False,
    opened: Dataset | None = None,
) -> CogResult:
    """Write ``src`` as an EPSG:3857 COG at ``dst``; returns a ``CogResult``.

    ``band_layout``: ``auto`` (1 Byte band → bw, 3 Byte bands → nc, an alpha band rides along),
    ``bw`` (band 1) or ``nc`` (bands 1–3); other data types are stretched to 8 bits from their
    minimum and maximum when the layout is given. ``compression``: ``auto`` (DEFLATE with
    predictor for bw, JPEG YCbCr for nc) or DEFLATE, ZSTD, JPEG, WEBP. ``quality``: JPEG/WEBP
    quality. ``resampling``: the warp's; overviews always average. ``threads``: ``None`` or 0 for
    all CPUs. ``memory_limit``: bytes of memory the pixels may take (default: a quarter of the
    machine's); above it the overview levels go to a temporary file (``CogResult.streamed``).
    ``report``: ``inspect_raster(src)`` when the caller has it (not inspected again).
    ``footprint``: also outline the COG's valid pixels (``CogResult.footprint``), read while it
    is open for its validation. ``opened``: the source as ``open_and_inspect`` opened it for
    ``report`` (not opened again).
    Raises ``InputError`` for an input or output it cannot use, ``Canceled`` on cancel;
    either way nothing is left at ``dst``.
    """
    feedback = ensure(feedback)
    _check_choices(band_layout, compression, quality, resampling)
    plan, dataset = _plan(str(src), band_layout, compression, report, opened)
    if plan.nodata_warning:
        feedback.pushWarning(plan.nodata_warning)
    if plan.scale:
        feedback.pushInfo(f"{src}: stretching {plan.scale[0][:2]} to 8 bits")
    feedback.pushInfo(
        f"{src}: {plan.band_layout}, {plan.compression}, "
        + ("warped to EPSG:3857" if plan.warp else "already in EPSG:3857, not warped")
    )
    check_canceled(feedback)
    options = creation_options(plan.compression, quality, threads)
    limit = machine_memory() * MEMORY_SHARE if memory_limit is None else memory_limit
    try:
        with partial_output(dst, src) as partial, _cleaned(partial), _disk_state(dst):
            if plan.warp:
                streamed = _write_warped(
                    dataset, plan, partial, options, resampling, threads, limit, feedback
                )
            else:
                source = _unwarped_source(dataset, plan)
                _write(source, partial, options, feedback, dst)
                streamed = False
    except Ls4Error:
        # No dataset may outlive a failed run (QGIS's exit would then crash in its destructor).
        source = dataset = opened = None  # noqa: F841
        raise
    written = open_and_inspect(dst)
    validation = validate_cog(dst, plan.band_layout, plan.compression, opened=written)
    outline = _outline(dst, written[1]) if footprint else None
    del written  # closes the COG
    for error in validation.errors:
        feedback.pushWarning(f"{dst}: {error}")
    return CogResult(
        path=str(dst),
        band_layout=plan.band_layout,
        compression=plan.compression,
        warped=plan.warp,
        has_mask=validation.details.get("has_mask", False),
        nodata_warning=plan.nodata_warning,
        validation=validation,
        streamed=streamed,
        footprint=outline,
    )


def _outline(dst: str | os.PathLike[str], dataset: Dataset) -> tuple[str, float] | None:
    """The COG's footprint, or None when it cannot be drawn (the indexing step that needs it
    draws it again and says why)."""
    try:
        return valid_footprint(dst, dataset=dataset)
    except InputError:
        return None


def _check_choices(band_layout: str, compression: str, quality: int, resampling: str) -> None:
    if band_layout not in BAND_LAYOUTS:
        raise InputError(f"band layout '{band_layout}': use one of {', '.join(BAND_LAYOUTS)}")
    if compression not in COMPRESSIONS:
        raise InputError(f"compression '{compression}': use one of {', '.join(COMPRESSIONS)}")
    if resampling not in RESAMPLINGS:
        raise InputError(f"resampling '{resampling}': use one of {', '.join(RESAMPLINGS)}")
    if not 1 <= int(quality) <= 100:
        raise InputError(f"quality {quality}: give a number from 1 to 100")


# --- the plan ------------------------------------------------------------------------------------


def _plan(
    src: str,
    band_layout: str,
    compression: str,
    report: RasterReport | None = None,
    opened: Dataset | None = None,
) -> tuple[_Plan, Dataset]:
    report = report or inspect_raster(src)
    if report.georeferencing == "none":
        raise InputError(
            f"{src}: not georeferenced (no geotransform and no GCPs): georeference the scan "
            "first (ls4:georeference)"
        )
    if report.crs is None:
        raise InputError(f"{src}: georeferenced but without a CRS: assign one (Assign projection)")
    dataset = _open(src) if opened is None else opened
    layout = _band_layout(report, dataset, band_layout)
    alpha = report.alpha_band
    data_bands = [i for i in range(1, report.band_count + 1) if i != alpha]
    compression = DEFAULT_COMPRESSION[layout] if compression == "auto" else compression
    plan = _Plan(
        src=src,
        band_layout=layout,
        compression=compression,
        bands=data_bands[: BAND_COUNTS[layout]],
        alpha=alpha,
        nodata=None,
        nodata_warning="",
        warp=not _in_target_grid(report),
    )
    _plan_nodata(plan, report)
    _check_compression(plan)
    if report.data_type != "Byte":
        plan.scale = _stretch(dataset, plan.bands)
    return plan, dataset


def _band_layout(report: RasterReport, dataset: Dataset, requested: str) -> str:
    src = report.path
    count = report.band_count - (1 if report.alpha_band else 0)
    plus_alpha = " plus an alpha band" if report.alpha_band else ""
    described = f"{count} band{'s' if count != 1 else ''} of {report.data_type}{plus_alpha}"
    if requested == "auto":
        if report.band_layout is None:
            raise InputError(
                f"{src}: {described}: BAND_LAYOUT auto takes 1 Byte band (bw) or 3 Byte bands "
                f"(nc) ({report.band_layout_reason}); set BAND_LAYOUT to bw or nc, or convert "
                "the file"
            )
        return report.band_layout
    if count < BAND_COUNTS[requested]:
        raise InputError(f"{src}: {described}: BAND_LAYOUT nc needs 3 bands")
    if dataset.GetRasterBand(1).GetColorTable() is not None:
        raise InputError(
            f"{src}: a paletted image: expand it to RGB first (gdal_translate -expand)"
        )
    return requested


def _in_target_grid(report: RasterReport) -> bool:
    """Already in EPSG:3857 and north up: the pixels are copied, not warped."""
    gt = report.geotransform
    north_up = gt is not None and gt[2] == 0 and gt[4] == 0 and gt[1] > 0 and gt[5] < 0
    return report.epsg == TARGET_EPSG and north_up


def _plan_nodata(plan: _Plan, report: RasterReport) -> None:
    values = [report.nodata[i - 1] for i in plan.bands]
    if all(value is None for value in values):
        return
    if report.nodata_problems:
        plan.nodata_warning = (
            f"{plan.src}: {'; '.join(report.nodata_problems)}: the collar is found from the "
            "image's outline instead"
        )
        return
    # A band without NoData takes that of the first band that has one (band 1 may have none).
    given = next(value for value in values if value is not None)
    plan.nodata = [value if value is not None else given for value in values]


def _check_compression(plan: _Plan) -> None:
    if plan.compression == "WEBP" and plan.band_layout != "nc":
        raise InputError(f"{plan.src}: WEBP holds colour (nc) images only: use DEFLATE or ZSTD")


def _stretch(dataset: Dataset, bands: Sequence[int]) -> list[list[float]]:
    """The common minimum and maximum of ``bands``, to stretch them to 0–255 alike."""
    lows: list[float] = []
    highs: list[float] = []
    for index in bands:
        low, high = dataset.GetRasterBand(index).ComputeRasterMinMax(True)
        lows.append(low)
        highs.append(high)
    low, high = min(lows), max(highs)
    return [[low, high if high > low else low + 1, 0, 255]] * len(bands)


# --- the pipeline --------------------------------------------------------------------------------


def _open(src: str) -> Dataset:
    dataset, messages = open_raster(src)
    if dataset is None:
        raise InputError(f"{src}: GDAL cannot open it: {messages[-1] if messages else ''}")
    return dataset


def _threads(threads: int | None) -> str:
    return "ALL_CPUS" if not threads else str(int(threads))


def _gdal(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """``(function(...), "")``, or ``(None, GDAL's last message)`` when GDAL fails, whether or
    not GDAL's Python exceptions are on."""
    with gdal_errors() as messages:
        try:
            result = function(*args, **kwargs)
        except RuntimeError as error:
            result, messages = None, [*messages, str(error)]
    if result is None:
        return None, messages[-1] if messages else "unknown GDAL error"
    return result, ""


def _decoding_threads(dataset: Dataset, src: str, threads: int | None) -> Dataset:
    """``dataset`` opened again to decode its tiles on ``strips.side_threads`` of the threads
    when the warp reads a window of several (GDAL 3.6's GTiff ``NUM_THREADS`` open option);
    with one such thread, or another driver (no such option): ``dataset`` itself, decoded in
    the warp's reading thread."""
    decoding = strips.side_threads(int(threads) if threads else os.cpu_count() or 1)
    if dataset.GetDriver().ShortName != "GTiff" or decoding == 1:
        return dataset
    options = [f"NUM_THREADS={decoding}"]
    reopened, _ = _gdal(gdal.OpenEx, src, gdal.OF_RASTER, open_options=options)
    return reopened or dataset


def _warp_options(dataset: Dataset, plan: _Plan, resampling: str) -> tuple[Dataset, dict[str, Any]]:
    """The input as the warp reads it (the layout's bands and the alpha band) and gdalwarp's
    options for it."""
    keep = plan.bands + ([plan.alpha] if plan.alpha else [])
    base = dataset
    if keep != list(range(1, dataset.RasterCount + 1)):
        base = _vrt(gdal.Translate, dataset, format="VRT", bandList=keep)
    options: dict[str, Any] = {
        "dstSRS": f"EPSG:{TARGET_EPSG}",
        "dstAlpha": True,
        "dstNodata": "None",
        "resampleAlg": "near" if resampling == "nearest" else resampling,
    }
    if plan.nodata_warning:
        options["srcNodata"] = "None"
    return base, options


def _write_warped(
    dataset: Dataset,
    plan: _Plan,
    partial: str,
    options: list[str],
    resampling: str,
    threads: int | None,
    limit: float,
    feedback: FeedbackLike,
) -> bool:
    """Warp and write in strips (``strips.py``); returns whether the levels were streamed."""
    base, warp = _warp_options(_decoding_threads(dataset, plan.src, threads), plan, resampling)
    grid, reason = _gdal(_vrt, gdal.Warp, base, format="VRT", **warp)
    if grid is None:
        raise Ls4Error(f"{plan.src}: the warp to EPSG:{TARGET_EPSG} failed: {reason}")
    warp.update(multithread=True, warpOptions=[f"NUM_THREADS={_threads(threads)}", "INIT_DEST=0"])
    width, count = grid.RasterXSize, grid.RasterCount
    itemsize = gdal.GetDataTypeSize(grid.GetRasterBand(1).DataType) // 8
    needed = strips.working_bytes(width, count, itemsize, stretch=bool(plan.scale))
    needed += strips.levels_bytes(width, grid.RasterYSize, count)
    in_memory = needed <= limit
    writer = strips.StripCog(
        base,
        grid,
        warp,
        partial,
        options,
        stretch=plan.scale[0][:2] if plan.scale else None,
        fill=plan.compression in WITH_QUALITY,
        colours=COLOURS[plan.band_layout],
    )
    try:
        writer.write(resampling == "nearest", in_memory, feedback)
    except RuntimeError as error:  # GDAL's, when its Python exceptions are on
        check_canceled(feedback)
        raise Ls4Error(f"{plan.src}: the warp to EPSG:{TARGET_EPSG} failed: {error}") from None
    return not in_memory


def machine_memory() -> int:
    """The machine's memory in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 4 * 1024**3  # not POSIX: assume a small workstation


def memory_needed(src: str | os.PathLike[str]) -> int:
    """About how much memory ``make_cog`` takes for ``src`` with the default limit (bytes): its
    strips and overview levels for a warped image a tenth larger than the input (a rotation's
    collar), 8-bit bands and their validity; GDAL's block cache (shared) aside. 0 when GDAL
    cannot open ``src`` (``make_cog`` then says why)."""
    dataset, _ = open_raster(str(src))
    if dataset is None:
        return 0
    width, height = int(dataset.RasterXSize * 1.1), int(dataset.RasterYSize * 1.1)
    count = min(dataset.RasterCount, 3) + 1
    return strips.working_bytes(width, count) + strips.levels_bytes(width, height, count)


def _unwarped_source(dataset: Dataset, plan: _Plan) -> Dataset:
    source, reason = _gdal(_unwarped, dataset, plan)
    if source is None:
        raise Ls4Error(f"{plan.src}: reading it failed: {reason}")
    return source


def _unwarped(dataset: Dataset, plan: _Plan) -> Dataset:
    if plan.alpha:
        return _final(dataset, plan, plan.bands, plan.alpha)
    if plan.nodata is None:
        mask = "mask,1" if dataset.GetRasterBand(1).GetMaskFlags() == gdal.GMF_PER_DATASET else None
        return _final(dataset, plan, plan.bands, mask)
    # A pixel is NoData when every band holds its NoData value, as for the warper; GDAL models
    # that with the dataset's NODATA_VALUES, whose mask the final VRT then copies.
    base = _vrt(gdal.Translate, dataset, format="VRT", bandList=plan.bands, noData="none")
    base.SetMetadataItem("NODATA_VALUES", " ".join(f"{value:.17g}" for value in plan.nodata))
    return _final(base, plan, list(range(1, len(plan.bands) + 1)), "mask,1")


def _final(dataset: Dataset, plan: _Plan, bands: list[int], mask: int | str | None) -> Dataset:
    options: dict[str, Any] = {
        "format": "VRT",
        "bandList": bands,
        "noData": "none",
        "maskBand": mask or "none",
    }
    if plan.scale:
        options.update(outputType=gdal.GDT_Byte, scaleParams=plan.scale)
    final = _vrt(gdal.Translate, dataset, **options)
    for index, colour in enumerate(COLOURS[plan.band_layout], start=1):
        final.GetRasterBand(index).SetColorInterpretation(colour)
    return final


def _vrt(function: Callable[..., Any], source: Dataset, **options: Any) -> Dataset:
    """``function`` (gdal.Translate or gdal.Warp) to a VRT of ``source``, which it keeps alive:
    GDAL's Python bindings close a dataset nobody refers to, even under a VRT that reads it."""
    vrt = function("", source, **options)
    if vrt is not None:
        vrt.ls4_source = source
    return vrt


def cog_source(
    src: str | os.PathLike[str],
    band_layout: str = "auto",
    compression: str = "auto",
    resampling: str = "nearest",
) -> tuple[Dataset, _Plan]:
    """The warped pixels of ``src`` as ``make_cog`` warps them, whole, in memory, with the collar
    as their mask (for benchmarks and checks; ``make_cog`` itself warps in strips):
    ``(dataset, plan)``."""
    _check_choices(band_layout, compression, JPEG_QUALITY, resampling)
    plan, dataset = _plan(str(src), band_layout, compression)
    if not plan.warp:
        return _unwarped_source(dataset, plan), plan
    base, warp = _warp_options(dataset, plan, resampling)
    warp.update(multithread=True, warpOptions=["NUM_THREADS=ALL_CPUS"])
    warped = _vrt(gdal.Warp, base, format="MEM", **warp)
    count = warped.RasterCount
    return _final(warped, plan, list(range(1, count)), count), plan


def creation_options(
    compression: str, quality: int = JPEG_QUALITY, threads: int | None = None
) -> list[str]:
    """The COG driver's creation options for ``compression`` (not ``auto``)."""
    options = [
        f"BLOCKSIZE={BLOCK_SIZE}",
        f"COMPRESS={compression}",
        "OVERVIEW_RESAMPLING=AVERAGE",
        f"NUM_THREADS={_threads(threads)}",
        "BIGTIFF=IF_SAFER",
    ]
    if compression in ("DEFLATE", "ZSTD"):
        options.append("PREDICTOR=YES")
    if compression == "DEFLATE":
        options.append(f"LEVEL={DEFLATE_LEVEL}")
    if compression in WITH_QUALITY:
        options.append(f"QUALITY={int(quality)}")
    return options


@contextmanager
def _cleaned(partial: str) -> Iterator[None]:
    """Removes the COG driver's temporary overview files next to ``partial``, whatever happens
    (GDAL removes them itself, except when the process dies)."""
    try:
        yield
    finally:
        for suffix in COG_TEMP_FILES:
            if os.path.exists(partial + suffix):
                os.remove(partial + suffix)


def _write(
    source: Dataset,
    partial: str,
    options: list[str],
    feedback: FeedbackLike,
    dst: str | os.PathLike[str],
) -> None:
    with strips.memory_names():
        written, reason = _gdal(
            gdal.Translate,
            partial,
            source,
            format="COG",
            creationOptions=options,
            callback=gdal_progress(feedback),
        )
    written = None  # noqa: F841 (closes the file before it is renamed)
    check_canceled(feedback)
    if reason:
        raise Ls4Error(f"{dst}: writing the COG failed: {reason}")
