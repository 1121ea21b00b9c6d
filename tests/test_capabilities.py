"""capabilities.with_exact_boxes on documents shaped as MapServer 8.0 writes them (the real
service's capabilities are tested through the stack in test_service)."""

import xml.etree.ElementTree as ET

import pytest

from ls4.ls4_plugin.core import capabilities

# A 9 m wide collection near Denver: MapServer printed its EPSG:3857 box with zero width.
WEST, SOUTH, EAST, NORTH = -104.775155, 38.953615, -104.775051, 38.953696
ORPHAN_BOX = b"<EX_GeographicBoundingBox></EX_GeographicBoundingBox>"
MERCATOR = (-11663516.90, 4715029.50, -11663505.33, 4715041.09)

GEOGRAPHIC = (
    "<EX_GeographicBoundingBox>"
    f"<westBoundLongitude>{WEST}</westBoundLongitude><eastBoundLongitude>{EAST}</eastBoundLongitude>"
    f"<southBoundLatitude>{SOUTH}</southBoundLatitude><northBoundLatitude>{NORTH}</northBoundLatitude>"
    "</EX_GeographicBoundingBox>"
)
WMS_130 = f"""<?xml version='1.0' encoding="UTF-8" standalone="no" ?>
<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms"
   xmlns:xlink="http://www.w3.org/1999/xlink">
<Capability>
  <Layer queryable="1">
    <Name>map</Name>
    <CRS>EPSG:4326</CRS>
    <CRS>EPSG:3857</CRS>
    <CRS>AUTO2:42001</CRS>
    {GEOGRAPHIC}
    <BoundingBox CRS="EPSG:4326"
                minx="{SOUTH}" miny="{WEST}" maxx="{NORTH}" maxy="{EAST}" />
    <Layer queryable="0">
        <Name>frames</Name>
        <CRS>EPSG:26913</CRS>
        {GEOGRAPHIC}
    </Layer>
    <Layer queryable="0"><Name>no_extent</Name></Layer>
  </Layer>
</Capability>
</WMS_Capabilities>
""".encode()

WMS_111 = f"""<?xml version='1.0' encoding="UTF-8" standalone="no" ?>
<!DOCTYPE WMT_MS_Capabilities SYSTEM "http://schemas.opengis.net/wms/1.1.1/WMS_MS_Capabilities.dtd"
 [ <!ELEMENT VendorSpecificCapabilities EMPTY> ]>
<WMT_MS_Capabilities version="1.1.1">
<Capability>
  <Layer>
    <Name>map</Name>
    <SRS>EPSG:4326 EPSG:3857</SRS>
    <LatLonBoundingBox minx="{WEST}" miny="{SOUTH}" maxx="{EAST}" maxy="{NORTH}" />
    <BoundingBox SRS="EPSG:4326"
                minx="{WEST}" miny="{SOUTH}" maxx="{EAST}" maxy="{NORTH}" />
  </Layer>
</Capability>
</WMT_MS_Capabilities>
""".encode()

CORNERS = ("minx", "miny", "maxx", "maxy")


def boxes(document, namespace=""):
    """{layer name: {CRS: box}} of a document."""
    found = {}
    for layer in ET.fromstring(document).iter(f"{namespace}Layer"):
        found[layer.findtext(f"{namespace}Name")] = {
            box.get("CRS") or box.get("SRS"): [float(box.get(k)) for k in CORNERS]
            for box in layer.findall(f"{namespace}BoundingBox")
        }
    return found


def without_added_lines(before, after):
    added = {line for line in after.splitlines() if line.strip().startswith(b"<BoundingBox")}
    added -= set(before.splitlines())
    return b"\n".join(line for line in after.splitlines() if line not in added)


def test_1_3_0_every_listed_crs_gets_a_box_inherited_ones_too():
    fixed = capabilities.with_exact_boxes(WMS_130)
    found = boxes(fixed, capabilities.WMS_NAMESPACE)
    assert set(found["map"]) == {"EPSG:4326", "EPSG:3857"}  # AUTO2 has no fixed box
    assert set(found["frames"]) == {"EPSG:4326", "EPSG:3857", "EPSG:26913"}
    assert found["no_extent"] == {}
    for layer in ("map", "frames"):
        assert found[layer]["EPSG:3857"] == pytest.approx(MERCATOR, abs=0.01)
    # EPSG:4326 in 1.3.0: latitude first, as MapServer writes its own box
    assert found["frames"]["EPSG:4326"] == pytest.approx([SOUTH, WEST, NORTH, EAST], abs=1e-7)
    easting = found["frames"]["EPSG:26913"]
    assert 519_400 < easting[0] < easting[2] < 519_600 and 9 < easting[2] - easting[0] < 10


def test_1_1_1_boxes_are_easting_first_and_the_doctype_is_kept():
    fixed = capabilities.with_exact_boxes(WMS_111)
    assert fixed.startswith(WMS_111[: WMS_111.index(b"<WMT_MS_Capabilities")])
    found = boxes(fixed)["map"]
    assert found["EPSG:3857"] == pytest.approx(MERCATOR, abs=0.01)
    assert b'<BoundingBox SRS="EPSG:3857"' in fixed


@pytest.mark.parametrize("document", [WMS_130, WMS_111])
def test_nothing_else_of_mapserver_s_document_changes(document):
    fixed = capabilities.with_exact_boxes(document)
    assert fixed != document
    assert without_added_lines(document, fixed) == b"\n".join(document.splitlines())


@pytest.mark.parametrize(
    "document",
    [
        b"<?xml version='1.0'?><ServiceExceptionReport><ServiceException>x</ServiceException>"
        b"</ServiceExceptionReport>",
        b"not xml at all",
        # a geographic box outside any Layer: the text and the tree disagree, so nothing is added
        WMS_130.replace(b"</Capability>", b"<X>" + ORPHAN_BOX + b"</X></Capability>"),
    ],
)
def test_documents_it_does_not_understand_pass_unchanged(document):
    assert capabilities.with_exact_boxes(document) == document
