"""Exact BoundingBoxes in MapServer's WMS capabilities.

MapServer (8.0 and every later version, mapows.c) prints a projected BoundingBox with ``%g``:
six significant digits, tens of metres in EPSG:3857, so a collection under about 100 m wide
gets a box of zero width. Its geographic boxes are printed with six decimals (a decimetre).
``with_exact_boxes`` adds to every layer one BoundingBox for each CRS it lists and has no box
for, computed from the layer's geographic box, and leaves the rest of the document as
MapServer wrote it, byte for byte.

EPSG:3857 is separable in longitude and latitude, so the geographic box of a collection's
EPSG:3857 extent maps back onto that extent exactly (within the decimetre of the six decimals);
other CRSs get the bounds of the whole geographic box (edges densified).
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import lru_cache

from osgeo import osr

WMS_NAMESPACE = "{http://www.opengis.net/wms}"
# The geographic box of a layer, as MapServer writes it: EX_GeographicBoundingBox (1.3.0),
# LatLonBoundingBox (1.1.1). Matched in the text to know where to insert.
GEOGRAPHIC_BOX = re.compile(
    rb"<EX_GeographicBoundingBox>.*?</EX_GeographicBoundingBox>|<LatLonBoundingBox\b[^>]*/>",
    re.DOTALL,
)
DENSIFY = 21  # points per edge of a box reprojected (as GDAL's warper and TransformBounds)
PROJECTED_DECIMALS = 2
Box = tuple[float, ...]  # west, south, east, north
GEOGRAPHIC_DECIMALS = 8
# The web app answers on several threads; a GDAL transformation is not to be used by two at once.
TRANSFORM_LOCK = threading.Lock()


def with_exact_boxes(document: bytes) -> bytes:
    """``document`` with the BoundingBoxes it lacks; unchanged if it is not WMS capabilities."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return document
    version = _version(root)
    if version is None:
        return document
    layers = list(_layers_with_boxes(root, version))
    boxes = list(GEOGRAPHIC_BOX.finditer(document))
    if len(layers) != len(boxes):  # a document this module does not understand
        return document
    pieces, start = [], 0
    for (west_south_east_north, missing), match in zip(layers, boxes, strict=True):
        pieces.append(document[start : match.end()])
        indent = _indent_before(document, match.start())
        for crs in missing:
            box = bounding_box(west_south_east_north, crs, version)
            if box is not None:
                pieces.append(b"\n" + indent + box)
        start = match.end()
    pieces.append(document[start:])
    return b"".join(pieces)


def bounding_box(west_south_east_north: Box, crs: str, version: str) -> bytes | None:
    """The BoundingBox element of ``crs`` for a geographic box; None for a CRS GDAL lacks."""
    target = _spatial_reference(crs, version)
    if target is None:
        return None
    try:
        with TRANSFORM_LOCK:
            points = _transform(crs, version).TransformPoints(_edge_points(west_south_east_north))
    except RuntimeError:  # outside the CRS's area of use
        return None
    xs, ys = [point[0] for point in points], [point[1] for point in points]
    values = (min(xs), min(ys), max(xs), max(ys))
    decimals = GEOGRAPHIC_DECIMALS if target.IsGeographic() else PROJECTED_DECIMALS
    attribute = "CRS" if version == "1.3.0" else "SRS"
    corners = " ".join(
        f'{key}="{value:.{decimals}f}"'
        for key, value in zip(("minx", "miny", "maxx", "maxy"), values, strict=True)
    )
    return f'<BoundingBox {attribute}="{crs}" {corners} />'.encode()


def _edge_points(box: Box) -> list[tuple[float, float]]:
    """DENSIFY points along each edge of a west, south, east, north box. (GDAL's own
    TransformBounds takes 60 ms into a UTM zone, whatever the densification.)"""
    west, south, east, north = box
    steps = [index / (DENSIFY - 1) for index in range(DENSIFY)]
    along_x = [west + (east - west) * step for step in steps]
    along_y = [south + (north - south) * step for step in steps]
    return [
        *((x, south) for x in along_x),
        *((x, north) for x in along_x),
        *((west, y) for y in along_y),
        *((east, y) for y in along_y),
    ]


@lru_cache(maxsize=64)
def _transform(crs: str, version: str) -> osr.CoordinateTransformation:
    """From longitude, latitude to ``crs``: made once (PROJ takes tens of milliseconds to find
    a transformation, a request's whole budget otherwise)."""
    source = _spatial_reference("EPSG:4326", "1.1.1")
    return osr.CoordinateTransformation(source, _spatial_reference(crs, version))


@lru_cache(maxsize=64)
def _spatial_reference(crs: str, version: str) -> osr.SpatialReference | None:
    """``crs`` with the axis order of the WMS version: the CRS's own in 1.3.0 (latitude first
    for EPSG:4326), easting or longitude first in 1.1.1."""
    if not crs.upper().startswith("EPSG:"):
        return None
    srs = osr.SpatialReference()
    if srs.SetFromUserInput(crs) != 0:
        return None
    compliant = version == "1.3.0"
    strategy = osr.OAMS_AUTHORITY_COMPLIANT if compliant else osr.OAMS_TRADITIONAL_GIS_ORDER
    srs.SetAxisMappingStrategy(strategy)
    return srs


def _version(root: ET.Element) -> str | None:
    if root.tag == f"{WMS_NAMESPACE}WMS_Capabilities":
        return "1.3.0"
    if root.tag == "WMT_MS_Capabilities":
        return "1.1.1"
    return None


def _layers_with_boxes(root: ET.Element, version: str) -> Iterator[tuple[Box, list[str]]]:
    """(geographic box, CRSs without a BoundingBox) of each Layer that has a geographic box, in
    document order; a layer inherits its parents' CRSs (WMS 1.3.0 §7.2.4.6.7, 1.1.1 §7.1.4.5.5)."""
    namespace = WMS_NAMESPACE if version == "1.3.0" else ""
    crs_tag = f"{namespace}CRS" if version == "1.3.0" else "SRS"

    def walk(layer: ET.Element, inherited: list[str]) -> Iterator[tuple[Box, list[str]]]:
        own = [code for element in layer.findall(crs_tag) for code in (element.text or "").split()]
        listed = list(dict.fromkeys(inherited + own))
        geographic = _geographic_box(layer, namespace)
        if geographic is not None:
            boxes = layer.findall(f"{namespace}BoundingBox")
            boxed = {box.get("CRS") or box.get("SRS") for box in boxes}
            yield geographic, [crs for crs in listed if crs not in boxed]
        for child in layer.findall(f"{namespace}Layer"):
            yield from walk(child, listed)

    for capability in root.findall(f"{namespace}Capability"):
        for top in capability.findall(f"{namespace}Layer"):
            yield from walk(top, [])


def _geographic_box(layer: ET.Element, namespace: str) -> Box | None:
    """The layer's own geographic box; None if it has none or one that is not four numbers."""
    box = layer.find(f"{namespace}EX_GeographicBoundingBox")
    if box is not None:
        sides = (
            "westBoundLongitude",
            "southBoundLatitude",
            "eastBoundLongitude",
            "northBoundLatitude",
        )
        texts = [box.findtext(f"{namespace}{side}") for side in sides]
    elif (box := layer.find("LatLonBoundingBox")) is not None:
        texts = [box.get(key) for key in ("minx", "miny", "maxx", "maxy")]
    else:
        return None
    try:
        values = tuple(float(text) for text in texts if text is not None)
    except ValueError:
        return None
    return values if len(values) == 4 else None


def _indent_before(document: bytes, position: int) -> bytes:
    line_start = document.rfind(b"\n", 0, position) + 1
    prefix = document[line_start:position]
    return prefix if not prefix.strip() else b""
