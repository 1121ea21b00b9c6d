"""A georeferenced image to an EPSG:3857 Cloud Optimized GeoTIFF, in one pass.

The input is warped once, on every core, into memory (gdalwarp's own warp: the same pixels). The
overviews are computed from that memory on every core too (``overviews.py``: GDAL's own
averaging, which GDAL 3.6 runs in one thread), and the whole is handed through a VRT with blocks
of 512 (the COG driver reads those faster than the memory's lines) to GDAL's COG driver, which
only encodes and writes: no full-size intermediate file, no temporary overview file. A raster too
large for memory is warped block by block as the COG driver reads it (a warped VRT), and the COG
driver builds its overviews, as it does for an input already in EPSG:3857 (north up), which is
not warped. The output is written under a temporary name and renamed when done. The warp's alpha
band becomes a 1-bit internal mask, so the collar (outside the image, and the input's NoData or
alpha) is transparent; overviews go down to one tile of 512. For JPEG and WEBP, the masked pixels
of the compression blocks cut by the image's edge take the colour of the image in the block:
transparent either way, and fewer bytes than a hard step to black.

Measured choices (benchmarks/README.md): DEFLATE level 1 (libdeflate) is both faster and smaller
than the default level 6 on aerial imagery; nearest neighbour is the default warp resampling, as
in the old chain, because it keeps the scan's pixels and costs a third of bilinear.
"""

import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np
from osgeo import gdal, gdal_array

from . import overviews
from .cogcheck import gdal_errors, open_raster
from .errors import InputError, Ls4Error
from .feedback import SubFeedback, check_canceled, ensure, gdal_progress
from .outputs import partial_output
from .rasterinfo import inspect_raster
from .validate import BAND_COUNTS, BLOCK_SIZE, DEFAULT_COMPRESSION, TARGET_EPSG, validate_cog

BAND_LAYOUTS = ("auto", "bw", "nc")
COMPRESSIONS = ("auto", "DEFLATE", "ZSTD", "JPEG", "WEBP")
RESAMPLINGS = ("nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode")
WITH_QUALITY = ("JPEG", "WEBP")
DEFLATE_LEVEL = "1"
COG_TEMP_FILES = (".ovr.tmp", ".msk.ovr.tmp")
MEMORY_SHARE = 0.25  # of the machine's memory, at most, for the warped pixels
OVERVIEW_FACTOR = 1.5  # the warped pixels with their overviews (a third more) and validity
# Per cent of the progress at the end of an in-memory warp and of its overviews (measured on
# 6000² frames: the warp about half of the time, the overviews a tenth, the COG driver the rest).
WARP_SHARE = 50
OVERVIEWS_SHARE = 60
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
    validation: object = None


@dataclass
class _Plan:
    """What to read from the input and how to write it, decided before any pixel is read."""

    src: str
    band_layout: str
    compression: str
    bands: list[int]
    alpha: int | None
    nodata: list | None
    nodata_warning: str
    warp: bool
    scale: list | None = None


def make_cog(
    src,
    dst,
    band_layout="auto",
    compression="auto",
    quality=85,
    resampling="nearest",
    threads=None,
    feedback=None,
):
    """Write ``src`` as an EPSG:3857 COG at ``dst``; returns a ``CogResult``.

    ``band_layout``: ``auto`` (1 Byte band → bw, 3 Byte bands → nc, an alpha band rides along),
    ``bw`` (band 1) or ``nc`` (bands 1–3); other data types are stretched to 8 bits from their
    minimum and maximum when the layout is given. ``compression``: ``auto`` (DEFLATE with
    predictor for bw, JPEG YCbCr for nc) or DEFLATE, ZSTD, JPEG, WEBP. ``quality``: JPEG/WEBP
    quality. ``resampling``: the warp's; overviews always average. ``threads``: ``None`` or 0 for
    all CPUs. Raises ``InputError`` for an input or output it cannot use, ``Canceled`` on cancel;
    either way nothing is left at ``dst``.
    """
    feedback = ensure(feedback)
    _check_choices(band_layout, compression, quality, resampling)
    plan, dataset = _plan(str(src), band_layout, compression)
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
    with partial_output(dst, src) as partial, _cleaned(partial):
        source, streamed = _prepared(dataset, plan, resampling, threads, feedback)
        write_feedback = SubFeedback(feedback, _write_start(source, plan, streamed), 100)
        with _block_cache(source, dataset) if streamed else nullcontext():
            _write(source, partial, options, write_feedback, dst)
    validation = validate_cog(dst, plan.band_layout, plan.compression)
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
    )


def _check_choices(band_layout, compression, quality, resampling):
    if band_layout not in BAND_LAYOUTS:
        raise InputError(f"band layout '{band_layout}': use one of {', '.join(BAND_LAYOUTS)}")
    if compression not in COMPRESSIONS:
        raise InputError(f"compression '{compression}': use one of {', '.join(COMPRESSIONS)}")
    if resampling not in RESAMPLINGS:
        raise InputError(f"resampling '{resampling}': use one of {', '.join(RESAMPLINGS)}")
    if not 1 <= int(quality) <= 100:
        raise InputError(f"quality {quality}: give a number from 1 to 100")


# --- the plan ------------------------------------------------------------------------------------


def _plan(src, band_layout, compression):
    report = inspect_raster(src)
    if report.georeferencing == "none":
        raise InputError(
            f"{src}: not georeferenced (no geotransform and no GCPs): georeference the scan "
            "first (ls4:georeference)"
        )
    if report.crs is None:
        raise InputError(f"{src}: georeferenced but without a CRS: assign one (Assign projection)")
    dataset = _open(src)
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


def _band_layout(report, dataset, requested):
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


def _in_target_grid(report):
    """Already in EPSG:3857 and north up: the pixels are copied, not warped."""
    gt = report.geotransform
    north_up = gt is not None and gt[2] == 0 and gt[4] == 0 and gt[1] > 0 and gt[5] < 0
    return report.epsg == TARGET_EPSG and north_up


def _plan_nodata(plan, report):
    values = [report.nodata[i - 1] for i in plan.bands]
    if all(value is None for value in values):
        return
    if report.nodata_problems:
        plan.nodata_warning = (
            f"{plan.src}: {'; '.join(report.nodata_problems)}: the collar is found from the "
            "image's outline instead"
        )
        return
    plan.nodata = [value if value is not None else values[0] for value in values]


def _check_compression(plan):
    if plan.compression == "WEBP" and plan.band_layout != "nc":
        raise InputError(f"{plan.src}: WEBP holds colour (nc) images only: use DEFLATE or ZSTD")


def _stretch(dataset, bands):
    """The common minimum and maximum of ``bands``, to stretch them to 0–255 alike."""
    lows, highs = [], []
    for index in bands:
        low, high = dataset.GetRasterBand(index).ComputeRasterMinMax(True)
        lows.append(low)
        highs.append(high)
    low, high = min(lows), max(highs)
    return [[low, high if high > low else low + 1, 0, 255]] * len(bands)


# --- the pipeline --------------------------------------------------------------------------------


def _open(src):
    dataset, messages = open_raster(src)
    if dataset is None:
        raise InputError(f"{src}: GDAL cannot open it: {messages[-1] if messages else ''}")
    return dataset


def _threads(threads):
    return "ALL_CPUS" if not threads else str(int(threads))


def _prepared(dataset, plan, resampling, threads, feedback):
    """The COG's pixels as a VRT: the layout's bands, in EPSG:3857, the collar as a mask, and
    the overviews when they were computed here (an in-memory warp of 8-bit bands).

    Returns ``(vrt, streamed)``: ``streamed`` when the warp happens as the COG driver reads.
    """
    if plan.warp:
        prepared, reason = _gdal(_warped, dataset, plan, resampling, threads, feedback)
    else:
        prepared, reason = _gdal(_unwarped, dataset, plan)
    check_canceled(feedback)
    if prepared is None:
        raise Ls4Error(f"{plan.src}: the warp to EPSG:{TARGET_EPSG} failed: {reason}")
    return prepared if plan.warp else (prepared, False)


def _gdal(function, *args, **kwargs):
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


def _warped(dataset, plan, resampling, threads, feedback):
    """Warp into memory on every core when the result fits, else stream through a warped VRT.

    The in-memory warp is gdalwarp's own (same pixels) and runs on all threads; its overviews
    are then computed here (``overviews.py``), also on all threads. A warped VRT warps each block
    in the thread that reads it (its NUM_THREADS only adds overhead in GDAL 3.6) and rounds its
    approximate transform differently, by up to 0.125 pixel; it is the fallback for rasters too
    large for memory, and the COG driver computes its overviews.
    """
    keep = plan.bands + ([plan.alpha] if plan.alpha else [])
    base = dataset
    if keep != list(range(1, dataset.RasterCount + 1)):
        base = _vrt(gdal.Translate, dataset, format="VRT", bandList=keep)
    options = {
        "dstSRS": f"EPSG:{TARGET_EPSG}",
        "dstAlpha": True,
        "dstNodata": "None",
        "resampleAlg": "near" if resampling == "nearest" else resampling,
    }
    if plan.nodata_warning:
        options["srcNodata"] = "None"
    blocks = [f"BLOCKXSIZE={BLOCK_SIZE}", f"BLOCKYSIZE={BLOCK_SIZE}"]
    warped = _vrt(gdal.Warp, base, format="VRT", creationOptions=blocks, **options)
    streamed = _bytes(warped) * OVERVIEW_FACTOR > _memory() * MEMORY_SHARE
    count = len(plan.bands)
    if streamed:
        return _final(warped, plan, list(range(1, count + 1)), count + 1), True
    options.update(multithread=True, warpOptions=[f"NUM_THREADS={_threads(threads)}"])
    warp_feedback = SubFeedback(feedback, 0, WARP_SHARE)
    warped = _warp_in_memory(base, warped, options, warp_feedback)
    if warped is None:  # canceled, or GDAL failed and said why to ``_gdal``
        return None
    levels = []
    if not plan.scale:  # the COG's bands are the warped ones (no stretch to 8 bits on the way)
        overview_feedback = SubFeedback(feedback, WARP_SHARE, OVERVIEWS_SHARE)
        levels = _overview_levels(warped.ls4_source, plan, resampling, threads, overview_feedback)
    final = _final(warped, plan, list(range(1, count + 1)), count + 1)
    return _tiled(final, levels), False


def _overview_levels(pixels, plan, resampling, threads, feedback):
    """The overviews of the warped ``pixels`` (the layout's bands, then the warp's alpha).

    For JPEG and WEBP, the masked pixels next to the image's edge then take the colour of the
    image around them (``overviews.fill_masked_blocks``): fewer bytes, nothing visible changes.
    """
    image = pixels[:-1]
    valid = (pixels[-1] > 0).view(np.uint8)  # as GDAL writes a mask: any alpha is opaque
    if resampling != "nearest":
        image *= valid  # a pixel with a sliver of alpha may hold a value; it must not count
    levels = overviews.pyramid(image, valid, threads, SubFeedback(feedback, 0, 80))
    check_canceled(feedback)
    if plan.compression in WITH_QUALITY:
        overviews.fill_masked_blocks(image, valid)
        for level in levels:
            overviews.fill_masked_blocks(level[:-1], level[-1])
    feedback.setProgress(100)
    return levels


def _warp_in_memory(base, grid, options, feedback):
    """gdalwarp's warp of ``base`` on the grid of the warped VRT ``grid``, into a buffer that GDAL
    sees as a MEM dataset opened by name, so that a VRT can refer to it (see ``_tiled``)."""
    count = grid.RasterCount
    width, height = grid.RasterXSize, grid.RasterYSize
    data_type = grid.GetRasterBand(1).DataType
    pixels = np.zeros((count, height, width), gdal_array.GDALTypeCodeToNumericTypeCode(data_type))
    memory = _open_memory(_memory_name(pixels), gdal.GA_Update)
    memory.ls4_source = pixels
    memory.SetGeoTransform(grid.GetGeoTransform())
    memory.SetSpatialRef(grid.GetSpatialRef())
    memory.GetRasterBand(count).SetColorInterpretation(gdal.GCI_AlphaBand)
    done = gdal.Warp(memory, base, callback=gdal_progress(feedback), **options)
    if not done:  # 1 on success when the destination is a dataset
        return None
    feedback.setProgress(100)  # the multi-threaded warp does not always report its end
    return memory


@contextmanager
def _block_cache(source, dataset):
    """Room in GDAL's block cache for the warped pixels and the input's while a warped VRT is
    written, so that it is warped once, not once per read; at most MEMORY_SHARE of memory."""
    needed = _bytes(source, extra_band=True) + _bytes(dataset)
    before = gdal.GetCacheMax()
    wanted = min(int(needed * 1.25), int(_memory() * MEMORY_SHARE))
    if wanted > before:
        gdal.SetCacheMax(wanted)
    try:
        yield
    finally:
        if wanted > before:
            gdal.SetCacheMax(before)


def _bytes(dataset, extra_band=False):
    band = dataset.GetRasterBand(1)
    count = dataset.RasterCount + (1 if extra_band else 0)
    size = gdal.GetDataTypeSize(band.DataType) // 8
    return dataset.RasterXSize * dataset.RasterYSize * count * size


def _memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 4 * 1024**3  # not POSIX: assume a small workstation


def _unwarped(dataset, plan):
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


def _final(dataset, plan, bands, mask):
    options = {"format": "VRT", "bandList": bands, "noData": "none", "maskBand": mask or "none"}
    if plan.scale:
        options.update(outputType=gdal.GDT_Byte, scaleParams=plan.scale)
    final = _vrt(gdal.Translate, dataset, **options)
    for index, colour in enumerate(COLOURS[plan.band_layout], start=1):
        final.GetRasterBand(index).SetColorInterpretation(colour)
    return final


def _tiled(vrt, levels=()):
    """``vrt`` with blocks of BLOCK_SIZE, its mask's too, and the overview ``levels`` (arrays of
    the bands then the validity of each level): the COG driver computes overviews from a source
    of line-high blocks (a MEM dataset's, which a VRT inherits) a third more slowly (measured,
    benchmarks/README.md), and copies a source's overviews when every band and the mask have
    them, each overview with its own mask."""
    tree = ElementTree.fromstring(vrt.GetMetadata("xml:VRT")[0])
    for band in tree.iter("VRTRasterBand"):
        band.set("blockXSize", str(BLOCK_SIZE))
        band.set("blockYSize", str(BLOCK_SIZE))
    for level in levels:
        name = _level_vrt(level)
        for index, band in enumerate(tree.findall("VRTRasterBand"), start=1):
            _source(band, "Overview", name, index)
        _source(tree.find("MaskBand/VRTRasterBand"), "Overview", name, "mask,1")
    tiled = _open_memory(ElementTree.tostring(tree, encoding="unicode"))
    tiled.ls4_source = vrt
    tiled.ls4_levels = levels
    return tiled


def _level_vrt(level):
    """A VRT (as XML text, which GDAL opens as a file name) of an overview level held in memory:
    its bands, and its validity (0 or 1) as a 0-or-255 mask."""
    count, height, width = level.shape
    name = _memory_name(level)
    root = ElementTree.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    blocks = {"blockXSize": str(BLOCK_SIZE), "blockYSize": str(BLOCK_SIZE)}
    for index in range(1, count):
        band = ElementTree.SubElement(root, "VRTRasterBand", dataType="Byte", band=str(index))
        band.attrib.update(blocks)
        _source(band, "SimpleSource", name, index)
    mask = ElementTree.SubElement(root, "MaskBand")
    band = ElementTree.SubElement(mask, "VRTRasterBand", dataType="Byte", **blocks)
    source = _source(band, "ComplexSource", name, count)
    ElementTree.SubElement(source, "ScaleRatio").text = "255"
    return ElementTree.tostring(root, encoding="unicode")


def _source(parent, tag, name, band):
    element = ElementTree.SubElement(parent, tag)
    ElementTree.SubElement(element, "SourceFilename", relativeToVRT="0").text = name
    ElementTree.SubElement(element, "SourceBand").text = str(band)
    return element


def _memory_name(pixels):
    """The ``MEM:::`` name of a NumPy array (bands, rows, columns) of one GDAL data type."""
    count, height, width = pixels.shape
    size = pixels.itemsize
    data_type = gdal_array.NumericTypeCodeToGDALTypeCode(pixels.dtype.type)
    return (
        f"MEM:::DATAPOINTER={pixels.ctypes.data},PIXELS={width},LINES={height},BANDS={count},"
        f"DATATYPE={gdal.GetDataTypeName(data_type)},PIXELOFFSET={size},"
        f"LINEOFFSET={width * size},BANDOFFSET={width * height * size}"
    )


def _open_memory(name, access=gdal.GA_ReadOnly):
    """``gdal.Open`` of a ``MEM:::`` name, or of a VRT that refers to one."""
    with _memory_names():
        return gdal.Open(name, access)


@contextmanager
def _memory_names():
    """GDAL 3.10 and later open ``MEM:::`` names only when told to, and a VRT opens its sources
    when it first reads them (measured on GDAL 3.6 only)."""
    before = gdal.GetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", None)
    gdal.SetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", "YES")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", before)


def _vrt(function, source, **options):
    """``function`` (gdal.Translate or gdal.Warp) to a VRT of ``source``, which it keeps alive:
    GDAL's Python bindings close a dataset nobody refers to, even under a VRT that reads it."""
    vrt = function("", source, **options)
    if vrt is not None:
        vrt.ls4_source = source
    return vrt


def cog_source(src, band_layout="auto", compression="auto", resampling="nearest"):
    """The VRT ``make_cog`` hands to the COG driver for ``src`` (for benchmarks and checks):
    ``(dataset, plan)``."""
    _check_choices(band_layout, compression, 85, resampling)
    plan, dataset = _plan(str(src), band_layout, compression)
    source, _ = _prepared(dataset, plan, resampling, None, ensure(None))
    return source, plan


def creation_options(compression, quality=85, threads=None):
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
def _cleaned(partial):
    """Removes the COG driver's temporary overview files next to ``partial``, whatever happens
    (GDAL removes them itself, except when the process dies)."""
    try:
        yield
    finally:
        for suffix in COG_TEMP_FILES:
            if os.path.exists(partial + suffix):
                os.remove(partial + suffix)


def _write_start(source, plan, streamed):
    """Where the COG driver's share of the progress starts."""
    if streamed or not plan.warp:
        return 0
    return OVERVIEWS_SHARE if source.ls4_levels else WARP_SHARE  # an in-memory warp


def _write(source, partial, options, feedback, dst):
    with _memory_names():
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
