"""Outputs written whole or not at all: a hidden temporary name beside the result, renamed on
success and removed (with any folder made for it) on failure or cancel."""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import InputError

SIDE_FILES = (".aux.xml", ".msk", ".ovr")


@contextmanager
def replaced_whole(dst: str | os.PathLike[str]) -> Iterator[str]:
    """A hidden temporary file beside ``dst`` (an existing folder) for the caller to write; it
    replaces ``dst`` on success and is removed on failure, so a reader of ``dst`` (MapServer, a
    download) never sees half a file. Unique per call: writers of one ``dst`` never share it."""
    folder, name = os.path.split(os.path.abspath(os.fspath(dst)))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the result from other users
        os.replace(temporary, dst)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextmanager
def partial_output(dst: str | os.PathLike[str], src: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary name next to ``dst``, renamed to ``dst`` on success, removed on failure."""
    dst = os.path.abspath(str(dst))
    if os.path.splitext(dst)[1].lower() not in (".tif", ".tiff"):
        raise InputError(f"{dst}: the output is a GeoTIFF: give it a .tif name")
    if os.path.exists(str(src)) and os.path.abspath(str(src)) == dst:
        raise InputError(f"{dst}: the output would overwrite the input scan")
    folder = os.path.dirname(dst)
    created = _make_folder(folder)
    partial = os.path.join(folder, f".{os.path.basename(dst)}.{uuid.uuid4().hex[:8]}.partial.tif")
    try:
        _touch(partial, folder)
        yield partial
        for suffix in SIDE_FILES:
            if os.path.exists(partial + suffix):
                os.replace(partial + suffix, dst + suffix)
        os.replace(partial, dst)
    except BaseException:
        for path in [partial] + [partial + suffix for suffix in SIDE_FILES]:
            if os.path.exists(path):
                os.remove(path)
        for path in reversed(created):
            os.rmdir(path)
        raise


def _make_folder(folder: str) -> list[str]:
    """Create ``folder`` if needed; the folders created, outermost first."""
    missing = []
    path = folder
    while path and not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except OSError as error:
            for made in missing[missing.index(path) + 1 :]:  # innermost first
                os.rmdir(made)
            reason = error.strerror
            raise InputError(f"{folder}: cannot create the output folder: {reason}") from None
    return list(reversed(missing))


def _touch(partial: str, folder: str) -> None:
    try:
        with open(partial, "wb"):
            pass
    except OSError as error:
        raise InputError(f"{folder}: cannot write in the output folder: {error.strerror}") from None
