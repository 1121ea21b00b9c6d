"""Footprints: the outline of the valid pixels of real masked EPSG:3857 rasters."""

import numpy as np
import pytest
from masked_rasters import bbox, mask_array, masked_cog, valid_area
from osgeo import gdal, ogr, osr

from ls4.ls4_plugin.core.errors import InputError
from ls4.ls4_plugin.core.footprint import valid_footprint


@pytest.fixture(scope="module")
def cogs(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("footprint")
    return {
        "landsat": masked_cog(data_dir / "landsat_rgb_utm18n.tif", folder / "landsat.tif"),
        "hro": masked_cog(data_dir / "hro_colorado_rgb_nodata.tif", folder / "hro.tif"),
    }


def vertex_count(geometry):
    return sum(
        geometry.GetGeometryRef(p).GetGeometryRef(r).GetPointCount()
        for p in range(geometry.GetGeometryCount())
        for r in range(geometry.GetGeometryRef(p).GetGeometryCount())
    )


def world_point(path, column, row):
    x0, dx, _, y0, _, dy = gdal.Open(str(path)).GetGeoTransform()
    point = ogr.Geometry(ogr.wkbPoint)
    point.AddPoint_2D(x0 + (column + 0.5) * dx, y0 + (row + 0.5) * dy)
    return point


@pytest.mark.parametrize("name", ["landsat", "hro"])
def test_area_is_the_valid_pixel_area(cogs, name):
    wkt, area = valid_footprint(cogs[name])
    geometry = ogr.CreateGeometryFromWkt(wkt)
    assert geometry.GetGeometryName() == "MULTIPOLYGON"
    assert geometry.IsValid()
    assert geometry.GetArea() == pytest.approx(area)
    assert area == pytest.approx(valid_area(cogs[name]), rel=0.02)


def test_landsat_footprint_is_the_rotated_outline_not_the_box(cogs):
    path = cogs["landsat"]
    wkt, area = valid_footprint(path)
    geometry = ogr.CreateGeometryFromWkt(wkt)
    minx, miny, maxx, maxy = bbox(path)
    assert area < 0.75 * (maxx - minx) * (maxy - miny)
    envelope = geometry.GetEnvelope()  # (minx, maxx, miny, maxy)
    assert envelope[0] >= minx and envelope[1] <= maxx
    assert envelope[2] >= miny and envelope[3] <= maxy
    # The image's corner pixel is collar; the centre of the image is valid.
    mask = mask_array(path)
    assert not mask[0, 0]
    assert not geometry.Contains(world_point(path, 0, 0))
    rows, columns = mask.shape
    assert mask[rows // 2, columns // 2]
    assert geometry.Contains(world_point(path, columns // 2, rows // 2))


def test_outline_is_simplified(cogs):
    raw, raw_area = valid_footprint(cogs["landsat"], simplify_px=0)
    simple, simple_area = valid_footprint(cogs["landsat"])
    raw_vertices = vertex_count(ogr.CreateGeometryFromWkt(raw))
    assert vertex_count(ogr.CreateGeometryFromWkt(simple)) < raw_vertices / 3
    assert simple_area == pytest.approx(raw_area, rel=0.01)


def test_large_frame_is_read_at_reduced_resolution(data_dir, tmp_path):
    # 3000 px wide: the mask is read from an overview, the area must still hold.
    path = masked_cog(data_dir / "landsat_rgb_utm18n.tif", tmp_path / "big.tif", width=3000)
    wkt, area = valid_footprint(path)
    assert area == pytest.approx(valid_area(path), rel=0.02)
    assert vertex_count(ogr.CreateGeometryFromWkt(wkt)) < 400


def test_source_crs_is_reprojected_to_3857(data_dir, cogs, sample):
    """A raster in UTM gives the same footprint as its EPSG:3857 warp."""
    wkt_utm, _ = valid_footprint(sample("hro_colorado_rgb_nodata.tif"))
    wkt_3857, area = valid_footprint(cogs["hro"])
    utm = ogr.CreateGeometryFromWkt(wkt_utm)
    web = ogr.CreateGeometryFromWkt(wkt_3857)
    assert utm.SymDifference(web).GetArea() < 0.02 * area


def write_byte_raster(path, array, nodata=0):
    """A north-up EPSG:3857 GeoTIFF of ``array`` with 10 m pixels and a NoData value."""
    rows, columns = array.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), columns, rows, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    dataset.SetSpatialRef(srs)
    dataset.GetRasterBand(1).SetNoDataValue(nodata)
    dataset.GetRasterBand(1).WriteArray(array)
    dataset = None
    return path


def test_specks_and_small_holes_are_dropped(tmp_path):
    image = np.zeros((200, 200), dtype=np.uint8)
    image[20:180, 20:180] = 100  # the frame
    image[90:92, 90:92] = 0  # a dark pixel cluster inside it
    image[5:7, 190:192] = 100  # a speck of dust in the collar
    wkt, area = valid_footprint(write_byte_raster(tmp_path / "specks.tif", image))
    geometry = ogr.CreateGeometryFromWkt(wkt)
    assert geometry.GetGeometryCount() == 1
    assert geometry.GetGeometryRef(0).GetGeometryCount() == 1  # no interior ring
    assert area == pytest.approx(160 * 160 * 100, rel=0.01)
    minx, maxx, miny, maxy = geometry.GetEnvelope()
    assert (minx, maxx, miny, maxy) == pytest.approx((1200, 2800, 3200, 4800))


def test_large_hole_is_kept(tmp_path):
    image = np.zeros((200, 200), dtype=np.uint8)
    image[20:180, 20:180] = 100
    image[60:140, 60:140] = 0  # a quarter of the frame: real shape, not a speck
    wkt, area = valid_footprint(write_byte_raster(tmp_path / "ring.tif", image))
    geometry = ogr.CreateGeometryFromWkt(wkt)
    assert geometry.GetGeometryRef(0).GetGeometryCount() == 2
    assert area == pytest.approx((160 * 160 - 80 * 80) * 100, rel=0.01)


def test_fully_masked_raster_is_refused(tmp_path):
    path = write_byte_raster(tmp_path / "empty.tif", np.zeros((50, 50), dtype=np.uint8))
    with pytest.raises(InputError, match="empty.tif.*no valid pixel"):
        valid_footprint(path)


def test_raster_without_georeferencing_is_refused(sample):
    path = sample("hro_colorado_gray_scan.tif")
    with pytest.raises(InputError, match="hro_colorado_gray_scan.tif.*no georeferencing"):
        valid_footprint(path)


def test_file_that_is_not_a_raster_is_refused(tmp_path):
    path = tmp_path / "notes.tif"
    path.write_text("not an image")
    with pytest.raises(InputError, match="notes.tif.*cannot be read"):
        valid_footprint(path)
