"""A warped COG written a strip at a time: the warp of the next strip overlaps the rest.

``make_cog``'s pipeline for a warped input. The image is warped in strips of one row of tiles
(gdalwarp's own warp, into a buffer GDAL sees as a ``MEM:::`` dataset, on every core), and while
the next strip is warped a second thread takes the finished one: the overview rows it completes
(``overviews.Halver``, every level), the edge fill for JPEG/WEBP, and its tiles, encoded by
GDAL's GTiff driver with the COG's own options into a strip file in ``/vsimem/``, whose tiles
are appended to a temporary tile file laid out as the COG driver lays them out (size leader,
tile, last four bytes repeated, the mask's tile after the image's). Meanwhile a third thread
has the COG driver write a COG of the same size whose tiles are all sparse (``SPARSE_OK``): its
headers hold the tile tables, which, when the last strip is done, point at the tile file,
appended to it. The full image is never held: the memory is a few
strips, the overview levels (a third of the image) and GDAL's caches.

The levels are NumPy arrays in memory when they fit within the memory limit, else arrays mapped
on a temporary file next to the output (``streamed``): the same work, the pages left to the
operating system.
"""

import mmap
import os
import queue
import struct
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import IO, Any
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt
from osgeo import gdal, gdal_array

from . import overviews
from .errors import Ls4Error
from .feedback import FeedbackLike, SubFeedback, check_canceled, gdal_progress
from .gdalutil import Dataset, gdal_errors
from .overviews import Bytes
from .tiff import IMAGE_LENGTH, JPEG_TABLES, TILE_BYTE_COUNTS, TILE_OFFSETS, Ifd, TiffFile

STRIP = 512  # rows per strip: one row of tiles of 512
CARRY = 8  # rows of the strip above kept for the overview taps (an odd height needs up to 3)
BUFFERS = 3  # strips in flight: one warped, one processed, one free
TILES_SUFFIX = ".tiles.tmp"
LEVELS_SUFFIX = ".levels.tmp"
WARP_SHARE = 90  # per cent of the progress at the end of the last strip
# A strip as warped: the bands in the input's data type, then the warp's alpha.
Warped = npt.NDArray[Any]


def working_bytes(width: int, count: int, itemsize: int = 1, stretch: bool = False) -> int:
    """The NumPy memory of the strips for an image ``width`` wide of ``count`` bands (with the
    warp's alpha) of ``itemsize`` bytes: the buffers in flight and two strips' worth of copies
    (the carried rows joined on when stretched, the validity, the mask; float64 when stretched
    to 8 bits). It is the floor of the memory bound: the levels come on top, in memory or on a
    file."""
    strip = count * (STRIP + CARRY) * width
    return (BUFFERS * itemsize + 2) * strip + (8 * strip if stretch else 0)


def levels_bytes(width: int, height: int, count: int) -> int:
    return sum(count * rows * columns for rows, columns in overviews.level_shapes((height, width)))


class StripCog:
    """One COG written from ``base`` warped onto ``grid`` (a warped VRT: size, transform, CRS).

    ``stretch``: ``(low, high)`` to bring the warped bands to 8 bits (other data types), or None.
    ``fill``: JPEG/WEBP edge fill. ``levels_in_memory``: False to map the levels on a file.
    """

    def __init__(
        self,
        base: Dataset,
        grid: Dataset,
        warp_options: Mapping[str, Any],
        partial: str,
        creation: Sequence[str],
        stretch: Sequence[float] | None,
        fill: bool,
        colours: Sequence[int],
    ) -> None:
        self.base = base
        self.grid = grid
        self.warp_options = warp_options
        self.partial = partial
        self.creation = creation
        self.stretch = stretch
        self.fill = fill
        self.colours = colours
        self.width, self.height = grid.RasterXSize, grid.RasterYSize
        self.count = grid.RasterCount  # the bands, then the warp's alpha
        self.bands = self.count - 1
        self.data_type = grid.GetRasterBand(1).DataType
        self.strips = -(-self.height // STRIP)
        # per level (full resolution first), per tile: (where, size, mask size)
        self.tiles: list[list[tuple[int, int, int]]] = []
        # per overview level: the rows whose tiles are in the tile file
        self.encoded: list[int] = []
        self.jpeg_tables: bytes | None = None
        self.levels: list[Bytes] = []
        self.halvers: list[overviews.Halver] = []
        # the rows of the strip above the overview taps still need: bands, then validity
        self.carry: Bytes | None = None
        self.nearest = False
        self.sink: IO[bytes]
        self.averaging: ThreadPoolExecutor | None = None  # the overviews' threads, while warping

    # --- the pipeline ---

    def write(
        self, resampling_nearest: bool, levels_in_memory: bool, feedback: FeedbackLike
    ) -> None:
        shapes = overviews.level_shapes((self.height, self.width))
        self.nearest = resampling_nearest
        self.tiles = [[] for _ in range(len(shapes) + 1)]
        self.encoded = [0] * len(shapes)
        tiles = open(self.partial + TILES_SUFFIX, "w+b")  # noqa: SIM115 (closed below)
        with (
            self._levels(shapes, levels_in_memory),
            tiles as self.sink,
            ThreadPoolExecutor(max_workers=1) as side,
        ):
            # The headers depend on the sizes only: the COG driver writes them (one core, 0.2 s
            # at 6000²) while the strips are warped, instead of after the last one.
            skeleton = side.submit(self._write_skeleton, self._skeleton_vrt(), feedback)
            self._strips(feedback)
            check_canceled(feedback)
            self._encode_levels()
            skeleton.result()
            feedback.setProgress(WARP_SHARE)
            self._append_tiles(feedback)
        feedback.setProgress(100)

    @contextmanager
    def _levels(self, shapes: Sequence[tuple[int, int]], in_memory: bool) -> Iterator[None]:
        path = self.partial + LEVELS_SUFFIX
        total = sum(self.count * rows * columns for rows, columns in shapes)
        mapped = None
        if in_memory or not total:
            store = np.empty(total, np.uint8)
        else:
            store = mapped = np.memmap(path, np.uint8, "w+", shape=(total,))
        start, above = 0, (self.height, self.width)
        for rows, columns in shapes:
            size = self.count * rows * columns
            level = store[start : start + size].reshape(self.count, rows, columns)
            self.levels.append(level)
            self.halvers.append(overviews.Halver(above, level))
            start, above = start + size, (rows, columns)
        try:
            yield
        finally:
            if mapped is not None:
                mapped._mmap.close()  # type: ignore[attr-defined]  # numpy has no public close
                if os.path.exists(path):
                    os.remove(path)

    def _strips(self, feedback: FeedbackLike) -> None:
        dtype = gdal_array.GDALTypeCodeToNumericTypeCode(self.data_type)
        free: queue.Queue[Warped] = queue.Queue()
        for _ in range(BUFFERS):
            free.put(np.empty((self.count, CARRY + STRIP, self.width), dtype))
        # The overview rows of a strip are averaged on every core (NumPy lets go of the GIL):
        # one thread alone made them the pipeline's longest step (nc 10000²: 3.8 CPU-s).
        with (
            ThreadPoolExecutor(max_workers=1) as worker,
            ThreadPoolExecutor(max_workers=given_threads(self.creation)) as self.averaging,
        ):
            pending: list[Future[None]] = []
            try:
                for number in range(self.strips):
                    check_canceled(feedback)
                    buffer = free.get()
                    rows = min(STRIP, self.height - number * STRIP)
                    self._warp_strip(buffer, number, rows, feedback)
                    pending.append(worker.submit(self._finish_strip, buffer, number, rows, free))
                    feedback.setProgress(WARP_SHARE * (number + 1) / self.strips)
                    while pending and pending[0].done():
                        pending.pop(0).result()
                for job in pending:
                    job.result()
            except BaseException:
                self.canceled = True
                for job in pending:
                    job.cancel()
                raise

    def _warp_strip(self, buffer: Warped, number: int, rows: int, feedback: FeedbackLike) -> None:
        """gdalwarp's warp of the strip's rows into ``buffer`` (below its carry rows)."""
        buffer[:, CARRY:] = 0
        x0, dx, rx, y0, ry, dy = self.grid.GetGeoTransform()
        top = number * STRIP
        name = _memory_name(buffer, CARRY, rows)
        with memory_names():
            strip = gdal.Open(name, gdal.GA_Update)
        strip.SetGeoTransform((x0 + top * rx, dx, rx, y0 + top * dy, ry, dy))
        strip.SetSpatialRef(self.grid.GetSpatialRef())
        strip.GetRasterBand(self.count).SetColorInterpretation(gdal.GCI_AlphaBand)
        share = WARP_SHARE / self.strips
        sub = SubFeedback(feedback, share * number, share * (number + 1))
        done = gdal.Warp(strip, self.base, callback=gdal_progress(sub), **self.warp_options)
        strip = None
        check_canceled(feedback)
        if not done:
            raise Ls4Error(f"the warp of rows {top}-{top + rows} failed: {gdal.GetLastErrorMsg()}")

    def _finish_strip(
        self, buffer: Warped, number: int, rows: int, free: "queue.Queue[Warped]"
    ) -> None:
        """The overview rows the strip completes, then its tiles; gives the buffer back."""
        try:
            if getattr(self, "canceled", False):
                return
            top = number * STRIP
            image, valid = self._strip_pixels(buffer, rows)
            self._advance_levels(image, valid, top, rows)
            strip_image = image[:, -rows:]
            strip_valid = valid[-rows:]
            if self.fill:
                overviews.fill_masked_blocks(strip_image, strip_valid)
            self._encode(strip_image, strip_valid, 0)
            self._encode_levels()
        finally:
            free.put(buffer)

    def _strip_pixels(self, buffer: Warped, rows: int) -> tuple[Bytes, Bytes]:
        """The strip's 8-bit bands and validity, preceded by the carried rows of the strip above
        (which had not had their edge fill yet). 8-bit bands stay in ``buffer``: the carried
        rows go into the rows kept free above the warp's (no copy of the strip)."""
        if self.stretch:
            return self._stretched_pixels(buffer, rows)
        carried = 0 if self.carry is None else self.carry.shape[1]
        if self.carry is not None:
            buffer[:, CARRY - carried : CARRY] = self.carry
        window = buffer[:, CARRY - carried : CARRY + rows]
        valid = (window[-1] > 0).view(np.uint8)
        image = window[:-1]
        if not self.nearest:
            # a pixel with a sliver of alpha may hold a value; it must not count
            image[:, carried:] *= valid[carried:]
        return image, valid

    def _stretched_pixels(self, buffer: Warped, rows: int) -> tuple[Bytes, Bytes]:
        """As ``_strip_pixels`` for bands of another data type, stretched to 8 bits."""
        low, high = self.stretch or (0.0, 255.0)
        alpha = buffer[-1, CARRY : CARRY + rows]
        valid_new = (alpha > 0).view(np.uint8)
        scaled = (buffer[:-1, CARRY : CARRY + rows] - low) * (255.0 / (high - low)) + 0.5
        new = np.clip(scaled, 0, 255).astype(np.uint8)
        if not self.nearest:
            new *= valid_new
        if self.carry is None:
            return new, valid_new
        image = np.concatenate([self.carry[:-1], new], axis=1)
        valid = np.concatenate([self.carry[-1], valid_new], axis=0)
        return image, valid

    def _advance_levels(self, image: Bytes, valid: Bytes, top: int, rows: int) -> None:
        arrived = top + rows
        offset = arrived - valid.shape[0]
        if not self.halvers:
            return
        first = self.halvers[0]
        first.advance(image, valid, offset, arrived, pool=self.averaging)
        for above, halver in zip(self.halvers, self.halvers[1:], strict=False):
            halver.advance(above.level[:-1], above.level[-1], 0, above.done, pool=self.averaging)
        keep = first.first_needed(arrived)
        if arrived - keep > CARRY:
            raise Ls4Error(f"overview taps reach {arrived - keep} rows back (at most {CARRY})")
        start = keep - offset
        self.carry = np.concatenate([image[:, start:], valid[None, start:]])

    def _encode_levels(self) -> None:
        """Encode the rows of tiles of the overview levels that are complete (the edge fill on a
        copy: the level below is computed from the unfilled pixels)."""
        for index, (level, halver) in enumerate(zip(self.levels, self.halvers, strict=True)):
            rows = level.shape[1]
            while self.encoded[index] < halver.done:
                top = self.encoded[index]
                bottom = min(top + STRIP, rows)
                if bottom > halver.done:
                    break
                image = level[:-1, top:bottom]
                valid = level[-1, top:bottom]
                if self.fill:
                    image = image.copy()
                    overviews.fill_masked_blocks(image, valid)
                self._encode(image, valid, index + 1)
                self.encoded[index] = bottom

    def _encode(self, image: Bytes, valid: Bytes, level: int) -> None:
        """A row of tiles through GDAL's GTiff driver, appended to the tile file."""
        name = f"/vsimem/ls4-strip-{id(self)}-{level}-{len(self.tiles[level])}.tif"
        rows, width = valid.shape
        options = strip_options(self.creation, self.bands)
        before = gdal.GetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", None)
        gdal.SetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
        try:
            driver = gdal.GetDriverByName("GTiff")
            out = driver.Create(name, width, rows, self.bands, gdal.GDT_Byte, options)
            if out is None:
                raise Ls4Error(f"encoding a strip failed: {gdal.GetLastErrorMsg()}")
            for index, colour in enumerate(self.colours, start=1):
                out.GetRasterBand(index).SetColorInterpretation(colour)
            _write_bands(out, image)
            out.CreateMaskBand(gdal.GMF_PER_DATASET)
            out.GetRasterBand(1).GetMaskBand().WriteArray(valid * np.uint8(255))
            out = None
            data = _read_vsimem(name)
        finally:
            gdal.Unlink(name)
            gdal.SetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", before)
        strip = TiffFile(data)
        if self.jpeg_tables is None:
            self.jpeg_tables = strip.raw(strip.ifds[0], JPEG_TABLES) or b""
        for (offset, size), (mask_offset, mask_size) in zip(
            strip.tiles(strip.ifds[0]), strip.tiles(strip.ifds[1]), strict=True
        ):
            where = self.sink.tell()
            _write_block(self.sink, data[offset : offset + size])
            _write_block(self.sink, data[mask_offset : mask_offset + mask_size])
            self.tiles[level].append((where, size, mask_size))

    # --- the COG ---

    def _write_skeleton(self, vrt: str, feedback: FeedbackLike) -> None:
        """The COG driver writes the COG's headers (every tile sparse) to the output."""
        skeleton = _open_memory(vrt)
        options = [*self.creation, "SPARSE_OK=TRUE"]
        with memory_names(), gdal_errors() as messages:
            written = gdal.Translate(
                self.partial,
                skeleton,
                format="COG",
                creationOptions=options,
                callback=_cancel_only(feedback),  # its progress would run back and forth
            )
            failed = written is None
            written = None  # noqa: F841 (closes the file: a write error shows here)
        if failed or messages:
            check_canceled(feedback)
            raise Ls4Error(f"writing the COG failed: {messages[-1] if messages else 'GDAL'}")

    def _append_tiles(self, feedback: FeedbackLike) -> None:
        """The tile tables of the headers point at the tiles, appended from the tile file: the
        smallest overview first, full resolution last, as the COG driver lays them out."""
        check_canceled(feedback)
        order = list(range(len(self.tiles) - 1, -1, -1))  # the smallest overview first
        self.sink.flush()
        with open(self.partial, "r+b") as out:
            base = os.fstat(out.fileno()).st_size
            with mmap.mmap(out.fileno(), 0) as data:
                self._point_tiles(TiffFile(data), base, order)
            out.seek(base)
            for level in order:
                for where, size, mask_size in self.tiles[level]:
                    out.write(os.pread(self.sink.fileno(), size + mask_size + 16, where))

    def _point_tiles(self, cog: TiffFile, base: int, order: Sequence[int]) -> None:
        if self.jpeg_tables and cog.raw(cog.ifds[0], JPEG_TABLES) != self.jpeg_tables:
            raise Ls4Error("the COG's JPEG tables differ from the strips' (internal error)")
        sizes = [(self.width, self.height)] + [level.shape[:0:-1] for level in self.levels]
        position = base
        for level in order:
            width, height = sizes[level]
            image, mask = (_ifd(cog, width, height, is_mask) for is_mask in (False, True))
            tiles = self.tiles[level]
            if len(cog.tiles(image)) != len(tiles) or len(cog.tiles(mask)) != len(tiles):
                raise Ls4Error("the COG's tile table does not match the strips (internal error)")
            offsets: list[int] = []
            masks: list[int] = []
            for _, size, mask_size in tiles:
                offsets.append(position + 4)
                masks.append(position + size + 12)
                position += size + mask_size + 16
            cog.write_values(image, TILE_OFFSETS, offsets)
            cog.write_values(image, TILE_BYTE_COUNTS, [tile[1] for tile in tiles])
            cog.write_values(mask, TILE_OFFSETS, masks)
            cog.write_values(mask, TILE_BYTE_COUNTS, [tile[2] for tile in tiles])
        if not cog.big and position >= 2**32:
            raise Ls4Error("the COG outgrew a classic TIFF (over 4 GB): internal error")

    def _skeleton_vrt(self) -> str:
        """A VRT of the COG's size, transform and CRS with no pixels at full resolution (the COG
        driver skips empty tiles under SPARSE_OK) and the levels as its overviews."""
        root = ElementTree.Element(
            "VRTDataset", rasterXSize=str(self.width), rasterYSize=str(self.height)
        )
        ElementTree.SubElement(root, "SRS").text = self.grid.GetProjectionRef()
        transform = ", ".join(f"{value:.17g}" for value in self.grid.GetGeoTransform())
        ElementTree.SubElement(root, "GeoTransform").text = transform
        blocks = {"blockXSize": str(STRIP), "blockYSize": str(STRIP)}
        names = [_empty_vrt(level.shape[2], level.shape[1], self.bands) for level in self.levels]
        for index in range(1, self.bands + 1):
            attributes = {"dataType": "Byte", "band": str(index), **blocks}
            band = ElementTree.SubElement(root, "VRTRasterBand", attributes)
            ElementTree.SubElement(band, "ColorInterp").text = gdal.GetColorInterpretationName(
                self.colours[index - 1]
            )
            for name in names:
                _source(band, "Overview", name, index)
        mask = ElementTree.SubElement(root, "MaskBand")
        band = ElementTree.SubElement(mask, "VRTRasterBand", {"dataType": "Byte", **blocks})
        for name in names:
            _source(band, "Overview", name, "mask,1")
        return ElementTree.tostring(root, encoding="unicode")


def given_threads(creation: Sequence[str]) -> int:
    """The threads make_cog was given (the creation options' NUM_THREADS)."""
    given = dict(option.split("=", 1) for option in creation).get("NUM_THREADS", "")
    return int(given) if given.isdigit() else os.cpu_count() or 1


def side_threads(threads: int) -> int:
    """GDAL's threads for decoding the input and (``encoding_threads``) for encoding the tiles,
    out of make_cog's ``threads``: half, at least one. The warp (its kernel on all threads)
    runs beside a strip's overviews (on all threads) and tiles, so the cores are busy without
    more: on 2 cores, one thread each for decoding and encoding took 10 % less CPU and 6 % less
    time than all of them (nc 6000², load 2), and far fewer page faults (GTiff's threads decode
    each tile into a fresh buffer)."""
    return max(1, threads // 2)


def encoding_threads(threads: int, bands: int) -> int:
    """GDAL's threads for encoding the strips' tiles: ``side_threads``, but all of them for one
    band: a one-band warp is light (a band and its alpha), so the strip thread, which encodes,
    is then the longest step (bw 10000²: busy 2.79 s of 2.80; all threads 0.91× the wall,
    bw 6000² 0.95×, against 0.99–1.05× for nc, where the warp is the longest step)."""
    return threads if bands == 1 else side_threads(threads)


def strip_options(creation: Sequence[str], bands: int) -> list[str]:
    """GTiff creation options that encode tiles exactly as the COG driver does with
    ``creation`` (its options) for ``bands`` bands: the same compression, predictor, level,
    quality and colour space (YCbCr for 3-band JPEG)."""
    cog = dict(option.split("=", 1) for option in creation)
    compression = cog["COMPRESS"]
    options = [
        "TILED=YES",
        f"BLOCKXSIZE={cog['BLOCKSIZE']}",
        f"BLOCKYSIZE={cog['BLOCKSIZE']}",
        f"COMPRESS={compression}",
        "BIGTIFF=NO",
        "INTERLEAVE=PIXEL",
        f"NUM_THREADS={encoding_threads(given_threads(creation), bands)}",
    ]
    if cog.get("PREDICTOR") == "YES":
        options.append("PREDICTOR=2")
    if compression == "DEFLATE" and "LEVEL" in cog:
        options.append(f"ZLEVEL={cog['LEVEL']}")
    if compression == "ZSTD" and "LEVEL" in cog:
        options.append(f"ZSTD_LEVEL={cog['LEVEL']}")
    if compression == "JPEG":
        options.append(f"JPEG_QUALITY={cog.get('QUALITY', '75')}")
        options += ["PHOTOMETRIC=YCBCR"] if bands == 3 else []
    if compression == "WEBP":
        options.append(f"WEBP_LEVEL={cog.get('QUALITY', '75')}")
    return options


def _write_bands(out: Dataset, image: Bytes) -> None:
    """``image`` (bands, rows, columns) into ``out``, read where it lies: its bands may be
    apart (rows of a larger buffer), as long as each band's rows follow one another."""
    bands, rows, width = image.shape
    if image.strides[1:] != (width, 1):
        image = np.ascontiguousarray(image)
    band_space = image.strides[0]
    # one run of bytes from the first band's first pixel to the last band's last
    span = np.lib.stride_tricks.as_strided(image, ((bands - 1) * band_space + rows * width,), (1,))
    out.WriteRaster(
        0,
        0,
        width,
        rows,
        span,
        buf_type=gdal.GDT_Byte,
        band_list=list(range(1, bands + 1)),
        buf_pixel_space=1,
        buf_line_space=width,
        buf_band_space=band_space,
    )


def _ifd(cog: TiffFile, width: int, height: int, is_mask: bool) -> Ifd:
    for ifd in cog.ifds:
        size = (cog.width(ifd), cog.required(ifd, IMAGE_LENGTH)[0])
        if size == (width, height) and cog.is_mask(ifd) == is_mask:
            return ifd
    raise Ls4Error(f"the COG has no {'mask ' if is_mask else ''}level {width}x{height}")


def _empty_vrt(width: int, height: int, bands: int) -> str:
    """A VRT (XML text) of ``bands`` bands and a mask with no pixels: the COG driver's level of
    that size, all sparse."""
    root = ElementTree.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    blocks = {"blockXSize": str(STRIP), "blockYSize": str(STRIP)}
    for index in range(1, bands + 1):
        attributes = {"dataType": "Byte", "band": str(index), **blocks}
        ElementTree.SubElement(root, "VRTRasterBand", attributes)
    mask = ElementTree.SubElement(root, "MaskBand")
    ElementTree.SubElement(mask, "VRTRasterBand", {"dataType": "Byte", **blocks})
    return ElementTree.tostring(root, encoding="unicode")


def _cancel_only(feedback: FeedbackLike) -> Any:
    """A GDAL progress callback that stops GDAL on cancel and reports nothing."""

    def callback(_complete: float, _message: str, _data: object) -> int:
        return 0 if feedback.isCanceled() else 1

    return callback


def _write_block(sink: IO[bytes], data: bytes) -> None:
    """A tile as the COG driver writes it: its size first, its last four bytes repeated after."""
    sink.write(struct.pack("<I", len(data)))
    sink.write(data)
    sink.write(data[-4:])


def _read_vsimem(name: str) -> bytes:
    handle = gdal.VSIFOpenL(name, "rb")
    try:
        size = gdal.VSIStatL(name).size
        return gdal.VSIFReadL(1, size, handle)
    finally:
        gdal.VSIFCloseL(handle)


def _source(
    parent: ElementTree.Element, tag: str, name: str, band: int | str
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    ElementTree.SubElement(element, "SourceFilename", relativeToVRT="0").text = name
    ElementTree.SubElement(element, "SourceBand").text = str(band)
    return element


def memory_name(pixels: npt.NDArray[Any]) -> str:
    """The ``MEM:::`` name of a NumPy array (bands, rows, columns) of one GDAL data type."""
    return _memory_name(pixels, 0, pixels.shape[1])


def _memory_name(pixels: npt.NDArray[Any], first_row: int, rows: int) -> str:
    """The ``MEM:::`` name of rows ``first_row`` to ``first_row + rows`` of ``pixels``."""
    count, height, width = pixels.shape
    size = pixels.itemsize
    data_type = gdal_array.NumericTypeCodeToGDALTypeCode(pixels.dtype.type)
    pointer = pixels.ctypes.data + first_row * width * size
    return (
        f"MEM:::DATAPOINTER={pointer},PIXELS={width},LINES={rows},BANDS={count},"
        f"DATATYPE={gdal.GetDataTypeName(data_type)},PIXELOFFSET={size},"
        f"LINEOFFSET={width * size},BANDOFFSET={width * height * size}"
    )


def _open_memory(name: str, access: int = gdal.GA_ReadOnly) -> Dataset:
    """``gdal.Open`` of a ``MEM:::`` name, or of a VRT that refers to one."""
    with memory_names():
        return gdal.Open(name, access)


@contextmanager
def memory_names() -> Iterator[None]:
    """GDAL 3.10 and later open ``MEM:::`` names only when told to, and a VRT opens its sources
    when it first reads them (measured on GDAL 3.6 only)."""
    before = gdal.GetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", None)
    gdal.SetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", "YES")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", before)
