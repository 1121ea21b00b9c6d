"""GDAL helpers every module shares: errors captured instead of printed, open-or-raise, and
write failures that say when the disk is full.

Work whether or not some other code has turned on ``gdal.UseExceptions()``.
"""

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from osgeo import gdal

from .errors import InputError

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"
# Less than this free in a folder GDAL failed to write in: the disk is taken to be full.
FULL_MARGIN = 1024 * 1024

# GDAL's objects as the core passes them around: osgeo has no type information, so these say what
# a value is for the reader while mypy takes them as Any.
Dataset: TypeAlias = Any  # gdal.Dataset
Band: TypeAlias = Any  # gdal.Band
SpatialReference: TypeAlias = Any  # osr.SpatialReference


@contextmanager
def gdal_errors() -> Iterator[list[str]]:
    """Collect GDAL's error messages in a list instead of printing them (warnings are dropped).

    The handler is pushed on GDAL's per-thread stack and popped afterwards, so no global state
    changes for other code.
    """
    messages: list[str] = []

    def handler(err_class: int, _err_no: int, message: str) -> None:
        if err_class >= gdal.CE_Failure:
            messages.append(" ".join(str(message).split()))

    gdal.PushErrorHandler(handler)
    try:
        yield messages
    finally:
        gdal.PopErrorHandler()


def open_raster(path: object, access: int = gdal.GA_ReadOnly) -> tuple[Dataset | None, list[str]]:
    """Open ``path`` with GDAL: ``(dataset or None, GDAL's messages)``."""
    with gdal_errors() as messages:
        try:
            dataset = gdal.Open(str(path), access)
        except RuntimeError as error:
            messages.append(str(error))
            dataset = None
    return dataset, messages


def open_or_raise(path: object, what: str = "raster file") -> Dataset:
    """The dataset at ``path``, or ``InputError`` naming it and GDAL's reason."""
    dataset, messages = open_raster(path)
    if dataset is None:
        if not os.path.exists(str(path)) and not str(path).startswith("/vsi"):
            reason = "the file does not exist"
        else:
            reason = f"not a {what} GDAL can read" + (
                f" (GDAL: {messages[-1]})" if messages else ""
            )
        raise InputError(f"{path}: {reason}")
    return dataset


def free_bytes(folder: str) -> int | None:
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows: shutil would do, but no need
        return None
    return stats.f_bavail * stats.f_frsize


def write_failure(path: object, reason: str) -> str:
    """The message for a failed write of ``path``: ``reason``, with "No space left on device"
    and the folder said when the folder is (nearly) full, which GDAL's own messages rarely say."""
    folder = os.path.dirname(os.path.abspath(str(path)))
    free = free_bytes(folder)
    if NO_SPACE not in reason and free is not None and free < FULL_MARGIN:
        reason = f"{NO_SPACE} ({free} bytes free); GDAL said: {reason}"
    return f"{path}: cannot be written in {folder}: {reason}"
