"""The few TIFF structures ``cog.py`` reads and patches: IFDs, their tags, tile offsets.

Classic TIFF and BigTIFF, little- or big-endian. Only what is needed to take the encoded tiles
out of a GeoTIFF GDAL wrote and to point a COG's tile offsets at tiles appended to it.
"""

import mmap
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

TILE_OFFSETS = 324
TILE_BYTE_COUNTS = 325
NEW_SUBFILE_TYPE = 254
IMAGE_WIDTH = 256
IMAGE_LENGTH = 257
JPEG_TABLES = 347
COMPRESSION = 259
MASK = 4  # NewSubfileType bit of a transparency mask

# TIFF type → (struct code, size)
_TYPES = {
    1: ("B", 1),
    2: ("c", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("II", 8),
    6: ("b", 1),
    7: ("B", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: ("ii", 8),
    11: ("f", 4),
    12: ("d", 8),
    16: ("Q", 8),
    17: ("q", 8),
    18: ("Q", 8),
}

# What a TIFF is read from: bytes, or a writable buffer (bytearray, memoryview, mmap) to patch.
TiffData = bytes | bytearray | memoryview | mmap.mmap


@dataclass
class Tag:
    type: int
    count: int
    position: int  # where the values are: in the entry itself or at an offset in the file


@dataclass
class Ifd:
    position: int
    tags: dict[int, Tag] = field(default_factory=dict)


class TiffFile:
    """The IFDs of a TIFF held in ``data`` (bytes or a writable buffer)."""

    def __init__(self, data: TiffData) -> None:
        self.data = data
        order = bytes(data[:2])
        if order not in (b"II", b"MM"):
            raise ValueError("not a TIFF file")
        self.endian = "<" if order == b"II" else ">"
        (version,) = self._unpack("H", 2)
        self.big = version == 43
        if self.big:
            (first,) = self._unpack("Q", 8)
            self._entry, self._count_code, self._offset_code = 20, "Q", "Q"
        else:
            (first,) = self._unpack("I", 4)
            self._entry, self._count_code, self._offset_code = 12, "H", "I"
        self.ifds: list[Ifd] = []
        position = first
        while position:
            ifd, position = self._read_ifd(position)
            self.ifds.append(ifd)

    def _unpack(self, code: str, position: int) -> tuple[Any, ...]:
        return struct.unpack_from(self.endian + code, self.data, position)

    def _read_ifd(self, position: int) -> tuple[Ifd, int]:
        count_size = 8 if self.big else 2
        (count,) = self._unpack(self._count_code, position)
        ifd = Ifd(position)
        inline = 8 if self.big else 4
        for index in range(count):
            entry = position + count_size + index * self._entry
            tag, kind = self._unpack("HH", entry)
            (values,) = self._unpack(self._offset_code, entry + 4)
            value_at = entry + 4 + (8 if self.big else 4)
            size = _TYPES.get(kind, ("B", 1))[1] * values
            if size > inline:
                (value_at,) = self._unpack(self._offset_code, value_at)
            ifd.tags[tag] = Tag(kind, values, value_at)
        (following,) = self._unpack(self._offset_code, position + count_size + count * self._entry)
        return ifd, following

    def values(self, ifd: Ifd, tag: int) -> list[Any] | None:
        found = ifd.tags.get(tag)
        if found is None:
            return None
        code, size = _TYPES[found.type]
        return list(self._unpack(f"{found.count}{code}", found.position))

    def required(self, ifd: Ifd, tag: int) -> list[Any]:
        """``values``, for a tag every image of the file has: ``ValueError`` when it is missing."""
        found = self.values(ifd, tag)
        if found is None:
            raise ValueError(f"TIFF IFD at {ifd.position}: tag {tag} is missing")
        return found

    def raw(self, ifd: Ifd, tag: int) -> bytes | None:
        """The bytes of a tag's values (JPEGTables, for instance)."""
        found = ifd.tags.get(tag)
        if found is None:
            return None
        size = _TYPES[found.type][1] * found.count
        return bytes(self.data[found.position : found.position + size])

    def write_values(self, ifd: Ifd, tag: int, values: Sequence[Any]) -> None:
        """Overwrite a tag's values in place (same count and type)."""
        found = ifd.tags[tag]
        if len(values) != found.count:
            raise ValueError(f"tag {tag}: {len(values)} values for {found.count}")
        code, _ = _TYPES[found.type]
        struct.pack_into(f"{self.endian}{found.count}{code}", self.data, found.position, *values)

    def tiles(self, ifd: Ifd) -> list[tuple[int, int]]:
        """``[(offset, byte count)]`` of an IFD's tiles, in TIFF order (row-major)."""
        return list(
            zip(self.required(ifd, TILE_OFFSETS), self.required(ifd, TILE_BYTE_COUNTS), strict=True)
        )

    def is_mask(self, ifd: Ifd) -> bool:
        return bool((self.values(ifd, NEW_SUBFILE_TYPE) or [0])[0] & MASK)

    def width(self, ifd: Ifd) -> int:
        return int(self.required(ifd, IMAGE_WIDTH)[0])
