"""Georeferencing kept beside an image (a world file and ``.prj``, a PAM ``.aux.xml``), made part
of the image before it is published.

GDAL reads a world file (``.tfw``, ``.tifw``, ``.wld``) and ``.aux.xml`` beside a GeoTIFF, but not
a ``.prj``; and the public ``georef/`` object would be the ``.tif`` alone, without them. So a frame
with sidecars is published from a copy whose GeoTIFF tags hold its geotransform (or GCPs) and CRS:
the copy's pixels are the source's bytes (the file is copied, then its tags are set in place), so
nothing is lost, and the one object on S3 is self-contained. The source itself is never written.
"""

import os
import shutil
from contextlib import suppress

from osgeo import gdal, osr

from .errors import InputError
from .gdalutil import SpatialReference, gdal_errors, open_or_raise

WORLD_EXTENSIONS = (".tfw", ".tifw", ".wld")


def _beside(path: object, suffixes: tuple[str, ...]) -> list[str]:
    folder, name = os.path.split(os.path.abspath(str(path)))
    try:
        names = {entry.lower(): entry for entry in os.listdir(folder)}
    except OSError:
        return []
    stem = os.path.splitext(name)[0]
    wanted = [(stem + suffix).lower() for suffix in suffixes]
    return [os.path.join(folder, names[w]) for w in wanted if w in names]


def sidecar_files(path: object) -> list[str]:
    """The georeferencing files beside ``path``: world file, ``.prj``, ``.aux.xml``."""
    aux = [f"{path}.aux.xml"] if os.path.exists(f"{path}.aux.xml") else []
    return _beside(path, WORLD_EXTENSIONS + (".prj",)) + aux


def prj_crs(path: object) -> SpatialReference | None:
    """The CRS of the ``.prj`` beside ``path`` (ESRI or OGC WKT, or anything GDAL reads), or
    None when there is none. ``InputError`` when it cannot be read."""
    found = _beside(path, (".prj",))
    if not found:
        return None
    with open(found[0], encoding="utf-8", errors="replace") as handle:
        text = handle.read().strip()
    srs = osr.SpatialReference()
    with gdal_errors() as messages:
        try:
            ok = srs.SetFromUserInput(text) == 0
        except RuntimeError as error:
            messages.append(str(error))
            ok = False
    if not ok:
        reason = messages[-1] if messages else "not a CRS GDAL reads"
        raise InputError(f"{found[0]}: the CRS beside {path} cannot be read: {reason}")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def self_contained(src: str | os.PathLike[str], folder: str) -> str:
    """``src`` when its georeferencing is inside it, else a copy in ``folder`` (same name) with
    the sidecars' georeferencing written into its tags. Pixels are copied byte for byte."""
    if not sidecar_files(src):
        return str(src)
    dataset = open_or_raise(src)
    transform = dataset.GetGeoTransform(can_return_null=True)
    srs = dataset.GetSpatialRef() or prj_crs(src)
    gcps, gcp_srs = dataset.GetGCPs(), dataset.GetGCPSpatialRef()
    dataset = None
    copy = os.path.join(folder, os.path.basename(str(src)))
    shutil.copyfile(src, copy)
    gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO")  # into the tags, never beside
    try:
        with gdal_errors() as messages:
            out = gdal.Open(copy, gdal.GA_Update)
            if out is not None:
                if transform:
                    out.SetGeoTransform(transform)
                    if srs is not None:
                        out.SetSpatialRef(srs)
                elif gcps:
                    out.SetGCPs(gcps, gcp_srs or srs)
                out = None  # written here
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", None)
    if messages:
        with suppress(OSError):
            os.remove(copy)
        raise InputError(f"{src}: its sidecar georeferencing cannot be embedded: {messages[-1]}")
    return copy
