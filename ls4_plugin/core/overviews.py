"""Overviews of a masked 8-bit image in memory: averaging, in parallel, down to one tile.

GDAL 3.6 computes a COG's overviews in one thread, and with a mask on its slowest path: on a
6000² colour frame that was 1.8 s of a 4.4 s ``make_cog``. Here each level is the average of
the level above it, as GDAL's ``AVERAGE`` computes it: a level is half the size of the one above,
rounded down (the COG driver's sizes), so each of its pixels covers a little more than 2 × 2
pixels when a size is odd, and pixels that are cut by its edges count for the part they cover.
Masked pixels don't count, so the collar never darkens the image's edge; a pixel of a level is
valid when any valid pixel falls under it. Rows are done in chunks on a pool of threads (NumPy
lets go of the GIL). ``fill_masked_blocks`` then gives the masked pixels of the 16 × 16 blocks
that straddle the edge of the image the mean of the block's valid pixels: they are transparent
either way, and a JPEG block without a hard edge costs fewer bytes (−0.3 % on a frame).
"""

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .feedback import FeedbackLike, check_canceled, ensure
from .profile import BLOCK_SIZE

TILE = BLOCK_SIZE
CHUNK_ROWS = 32  # output rows per task: small enough to stay in the CPU's cache
JPEG_BLOCK = 16  # a JPEG MCU with 2 × 2 chroma subsampling (and a WEBP macroblock)
# 8-bit pixels (bands, rows, columns), validity 1/0 (rows, columns), a level (its bands, then
# its validity); the weighted sums of a level being computed.
Bytes = npt.NDArray[np.uint8]
Sums = npt.NDArray[np.float32]


def pyramid(
    pixels: Bytes,
    valid: Bytes,
    threads: int | None = None,
    feedback: FeedbackLike | None = None,
    tile: int = TILE,
) -> list[Bytes]:
    """The overview levels of ``pixels`` (bands, rows, columns; uint8, 0 where not ``valid``).

    ``valid`` (rows, columns) is 1 where the image is and 0 in the collar. Returns one array per
    level, halving until the level fits in one ``tile``: the level's bands, then its ``valid``.
    """
    feedback = ensure(feedback)
    levels: list[Bytes] = []
    workers = int(threads) if threads else os.cpu_count() or 1
    total = _pyramid_pixels(valid.shape, tile)
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while max(valid.shape) > tile:
            level = halve(pixels, valid, pool, feedback)
            pixels, valid = level[:-1], level[-1]
            levels.append(level)
            done += valid.size
            feedback.setProgress(100 * done / total)
    return levels


def _pyramid_pixels(shape: Sequence[int], tile: int) -> int:
    rows, columns = shape
    total = 0
    while max(rows, columns) > tile:
        rows, columns = max(1, rows // 2), max(1, columns // 2)
        total += rows * columns
    return max(total, 1)


def halve(
    pixels: Bytes,
    valid: Bytes,
    pool: ThreadPoolExecutor | None = None,
    feedback: FeedbackLike | None = None,
) -> Bytes:
    """One level down: the masked average of ``pixels`` on a grid half as large (rounded down),
    as one array: its bands, then which of its pixels are valid (1) or not (0)."""
    bands, rows, columns = pixels.shape
    row_taps, column_taps = _taps(rows), _taps(columns)
    level = np.empty((bands + 1, row_taps.length, column_taps.length), np.uint8)

    def chunk(start: int) -> None:
        check_canceled(feedback)
        stop = min(start + CHUNK_ROWS, row_taps.length)
        _average_rows(pixels, valid, row_taps, column_taps, level, start, stop)

    starts = range(0, row_taps.length, CHUNK_ROWS)
    for _ in pool.map(chunk, starts) if pool else map(chunk, starts):
        pass
    return level


class _Taps(NamedTuple):
    """Along one axis: the output's length and, unless every output pixel is an exact pair of
    input pixels, the input indices under each output pixel and how much of each lies under it
    (one row per tap)."""

    length: int
    indices: npt.NDArray[np.int64] | None = None
    weights: Sums | None = None


def _taps(size: int) -> _Taps:
    count = max(1, size // 2)
    if size == 2 * count:
        return _Taps(count)
    ratio = size / count
    start = np.arange(count) * ratio
    end = start + ratio
    first = np.floor(start + 1e-9).astype(np.int64)
    indices = first[None] + np.arange(int(np.ceil(ratio)) + 1)[:, None]
    weights = np.clip(np.minimum(indices + 1, end) - np.maximum(indices, start), 0, None)
    weights[indices >= size] = 0
    return _Taps(count, np.minimum(indices, size - 1), weights.astype(np.float32))


def _average_rows(
    pixels: Bytes,
    valid: Bytes,
    row_taps: _Taps,
    column_taps: _Taps,
    level: Bytes,
    start: int,
    stop: int,
    offset: int = 0,
) -> None:
    sums, weights = _sum_rows(pixels, valid, row_taps, start, stop, offset)
    sums, weights = _sum_columns(sums, column_taps), _sum_columns(weights, column_taps)
    has_data = weights > 0
    np.divide(sums, weights, out=sums, where=has_data)
    sums += 0.5  # rounded to nearest by the truncation below
    level[:-1, start:stop] = sums
    level[-1, start:stop] = has_data


def _sum_rows(
    pixels: Bytes, valid: Bytes, taps: _Taps, start: int, stop: int, offset: int = 0
) -> tuple[Sums, Sums]:
    """Row sums for output rows ``start:stop``; ``pixels`` and ``valid`` begin at input row
    ``offset`` (a window of the level above: the rows that have arrived)."""
    if taps.indices is None or taps.weights is None:
        rows = pixels[:, 2 * start - offset : 2 * stop - offset]
        mask = valid[2 * start - offset : 2 * stop - offset]
        return (
            np.add(rows[:, 0::2], rows[:, 1::2], dtype=np.float32),
            np.add(mask[0::2], mask[1::2], dtype=np.float32),
        )
    strided = _strided_taps(taps, start, stop, offset, valid.shape[0])
    if strided is not None:
        return _sum_strided(pixels, strided, 1), _sum_strided(valid, strided, 0)
    sums = np.zeros((pixels.shape[0], stop - start, pixels.shape[2]), np.float32)
    counts = np.zeros((stop - start, pixels.shape[2]), np.float32)
    indices, weights = taps.indices[:, start:stop] - offset, taps.weights[:, start:stop]
    # a tap of weight 0 may fall outside the window: any row of it will do
    indices = np.clip(indices, 0, valid.shape[0] - 1)
    for tap_indices, tap_weights in zip(indices, weights, strict=True):
        if (tap_weights == 1).all():  # x × 1 is x: the same sums, one step fewer
            sums += pixels[:, tap_indices]
            counts += valid[tap_indices]
        elif tap_weights.any():
            sums += pixels[:, tap_indices] * tap_weights[:, None]
            counts += valid[tap_indices] * tap_weights[:, None]
    return sums, counts


def _sum_columns(values: Sums, taps: _Taps) -> Sums:
    if taps.indices is None or taps.weights is None:
        return values[..., 0::2] + values[..., 1::2]
    strided = _strided_taps(taps, 0, taps.length, 0, values.shape[-1])
    if strided is not None:
        return _sum_strided(values, strided, values.ndim - 1)
    total = np.zeros((*values.shape[:-1], taps.length), np.float32)
    for tap_indices, tap_weights in zip(taps.indices, taps.weights, strict=True):
        if (tap_weights == 1).all():  # as in _sum_rows
            total += values[..., tap_indices]
        elif tap_weights.any():
            total += values[..., tap_indices] * tap_weights
    return total


# A tap along one axis: every other input (a slice), its weights, whether all of them are 1.
StridedTap = tuple[slice, Sums, bool]


def _strided_taps(
    taps: _Taps, start: int, stop: int, offset: int, length: int
) -> list[StridedTap] | None:
    """The taps of outputs ``start:stop`` that carry weight, when tap ``t`` of output ``i`` is
    input ``2 i + t`` (every odd size: the ratio is 2 + 1/count) and lies in the window of
    ``length`` inputs from ``offset``; else None. A slice reads every other input in place,
    where a gather copied it."""
    if taps.indices is None or taps.weights is None:
        return None
    count = stop - start
    strided: list[StridedTap] = []
    for tap, (indices, weights) in enumerate(zip(taps.indices, taps.weights, strict=True)):
        weights = weights[start:stop]
        if not weights.any():
            continue
        first = 2 * start + tap - offset
        if (
            first < 0
            or first + 2 * (count - 1) >= length
            or not (indices[start:stop] - offset == first + 2 * np.arange(count)).all()
        ):
            return None
        strided.append(
            (slice(first, first + 2 * count - 1, 2), weights, bool((weights == 1).all()))
        )
    return strided


def _sum_strided(
    values: npt.NDArray[np.uint8 | np.float32], taps: Sequence[StridedTap], axis: int
) -> Sums:
    """The weighted sum of ``taps`` along ``axis``, tap after tap as ``_sum_rows`` adds them
    (the first tap is the sum's start: 0 + x is x, so the sums are the same bit for bit)."""
    shape = [1] * values.ndim
    total: Sums | None = None
    for where, weights, unit in taps:
        part = values[(slice(None),) * axis + (where,)]
        if not unit:
            shape[axis] = weights.size
            part = np.multiply(part, weights.reshape(shape), dtype=np.float32)
        if total is None:
            total = part.astype(np.float32, copy=unit)  # the sum is written to, never the input
        else:
            total += part
    if total is None:
        raise ValueError("no tap with weight")  # _taps gives every output a tap of weight
    return total


def level_shapes(shape: Sequence[int], tile: int = TILE) -> list[tuple[int, int]]:
    """(rows, columns) of each overview level of an image of ``shape``, down to one ``tile``."""
    rows, columns = shape
    shapes: list[tuple[int, int]] = []
    while max(rows, columns) > tile:
        rows, columns = max(1, rows // 2), max(1, columns // 2)
        shapes.append((rows, columns))
    return shapes


class Halver:
    """One level computed from the level above as its rows arrive (a strip at a time).

    ``advance`` computes every output row whose input rows have all arrived; ``first_needed``
    is the first input row still needed, so the caller keeps the rows from there on.
    """

    def __init__(self, shape: Sequence[int], level: Bytes) -> None:
        rows, columns = shape
        self.level = level
        self.row_taps, self.column_taps = _taps(rows), _taps(columns)
        count = self.row_taps.length
        if self.row_taps.indices is None or self.row_taps.weights is None:
            self.first = 2 * np.arange(count)
            self.last = self.first + 1
        else:
            used = self.row_taps.weights > 0
            big = np.iinfo(np.int64).max
            self.first = np.where(used, self.row_taps.indices, big).min(axis=0)
            self.last = np.where(used, self.row_taps.indices, -1).max(axis=0)
        self.done = 0

    @property
    def count(self) -> int:
        return self.row_taps.length

    def first_needed(self, arrived: int) -> int:
        return int(self.first[self.done]) if self.done < self.count else arrived

    def advance(
        self,
        pixels: Bytes,
        valid: Bytes,
        offset: int,
        arrived: int,
        feedback: FeedbackLike | None = None,
        pool: ThreadPoolExecutor | None = None,
    ) -> int:
        """Compute the output rows that input rows ``offset`` to ``arrived`` (in ``pixels`` and
        ``valid``, which start at row ``offset``) complete; returns how many rows are done.
        With ``pool``, its chunks of rows are computed on the pool's threads."""
        stop = int(np.searchsorted(self.last, arrived, side="left"))

        def chunk(start: int) -> None:
            check_canceled(feedback)
            end = min(start + CHUNK_ROWS, stop)
            _average_rows(
                pixels, valid, self.row_taps, self.column_taps, self.level, start, end, offset
            )

        starts = range(self.done, stop, CHUNK_ROWS)
        for _ in pool.map(chunk, starts) if pool else map(chunk, starts):
            pass
        self.done = max(self.done, stop)
        return self.done


def fill_masked_blocks(pixels: Bytes, valid: Bytes, block: int = JPEG_BLOCK) -> None:
    """Masked pixels of each ``block`` × ``block`` block that also holds valid ones take the mean
    of those, band by band; valid pixels and wholly masked blocks are left as they are."""
    rows, columns = valid.shape
    counts = _block_sums(_block_sums(valid, block).T, block).T
    full = np.minimum(block, rows - np.arange(0, rows, block))[:, None] * np.minimum(
        block, columns - np.arange(0, columns, block)
    )
    for row, column in zip(*np.nonzero((counts > 0) & (counts < full)), strict=True):
        window = np.s_[row * block : (row + 1) * block, column * block : (column + 1) * block]
        keep = valid[window].astype(bool)
        values = pixels[(slice(None), *window)]
        count = int(keep.sum())
        means = (values[:, keep].sum(axis=1, dtype=np.int64) + count // 2) // count
        values[:, ~keep] = means.astype(np.uint8)[:, None]


def _block_sums(values: npt.NDArray[np.uint8 | np.uint16], block: int) -> npt.NDArray[np.uint16]:
    """Sums of each run of ``block`` rows (the last run may be shorter), as uint16."""
    rows = values.shape[0]
    runs = -(-rows // block)
    if runs * block != rows:
        padding = np.zeros((runs * block - rows, *values.shape[1:]), values.dtype)
        values = np.concatenate([values, padding])
    stacked = values.reshape(runs, block, *values.shape[1:])
    sums = stacked[:, 0].astype(np.uint16)
    for index in range(1, block):
        sums += stacked[:, index]
    return sums
