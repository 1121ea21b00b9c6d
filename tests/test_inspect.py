"""Raster inspection (``ls4:inspectraster``) and the COG layout check, on real files."""

import struct

import pytest
from osgeo import gdal

from ls4.ls4_plugin.core.cogcheck import layout_problems
from ls4.ls4_plugin.core.errors import InputError

# --- COG layout (GDAL's validator rules) -------------------------------------------------------


@pytest.fixture
def big_gray(data_dir, tmp_path):
    """A 1100x1000 grayscale GeoTIFF: large enough that a COG of it needs overviews."""
    path = tmp_path / "big_gray.tif"
    gdal.Translate(str(path), str(data_dir / "hro_colorado_gray.tif"), width=1100, height=1000)
    return path


def test_cog_driver_output_is_a_valid_cog(big_gray, tmp_path):
    cog = tmp_path / "cog.tif"
    gdal.Translate(str(cog), str(big_gray), format="COG", creationOptions=["COMPRESS=DEFLATE"])
    errors, warnings, details = layout_problems(cog)
    assert errors == [] and warnings == []
    assert details["block_size"] == [512, 512]
    assert set(details["ifd_offsets"]) == {"main", "overview_0", "overview_1"}


def test_striped_geotiff_is_not_a_cog(data_dir, tmp_path, big_gray):
    small = tmp_path / "striped.tif"
    gdal.Translate(str(small), str(data_dir / "hro_colorado_rgb.tif"), format="GTiff")
    errors, _, details = layout_problems(small)
    assert details["block_size"][0] == 383
    assert any("strips of 383x" in error for error in errors), errors

    wide = tmp_path / "wide.tif"
    gdal.Translate(str(wide), str(big_gray), width=1500, height=600)
    errors, warnings, _ = layout_problems(wide)
    assert "The file is greater than 512xH or Wx512, but is not tiled" in errors
    assert any("overviews" in warning for warning in warnings)


def test_overviews_added_after_the_imagery_break_the_layout(big_gray, tmp_path):
    tiled = tmp_path / "tiled.tif"
    gdal.Translate(str(tiled), str(big_gray), creationOptions=["TILED=YES"])
    dataset = gdal.Open(str(tiled), gdal.GA_Update)
    dataset.BuildOverviews("AVERAGE", [2, 4])
    dataset = None
    errors, _, _ = layout_problems(tiled)
    assert any("main resolution image should be after" in error for error in errors), errors


def test_external_ovr_is_reported(big_gray, tmp_path):
    tiled = tmp_path / "external.tif"
    gdal.Translate(str(tiled), str(big_gray), creationOptions=["TILED=YES"])
    dataset = gdal.Open(str(tiled))  # read-only: GDAL writes the overviews to external.tif.ovr
    dataset.BuildOverviews("AVERAGE", [2, 4])
    dataset = None
    assert (tmp_path / "external.tif.ovr").exists()
    errors, _, _ = layout_problems(tiled)
    assert "Overviews found in external .ovr file. They should be internal" in errors


def test_broken_ghost_header_promise_is_found(big_gray, tmp_path):
    """The COG driver promises each tile is preceded by its size; a file that breaks it fails."""
    cog = tmp_path / "cog.tif"
    gdal.Translate(str(cog), str(big_gray), format="COG", creationOptions=["COMPRESS=DEFLATE"])
    dataset = gdal.Open(str(cog))
    offset = int(dataset.GetRasterBand(1).GetMetadataItem("BLOCK_OFFSET_1_0", "TIFF"))
    dataset = None
    with open(cog, "r+b") as handle:
        handle.seek(offset - 4)
        handle.write(struct.pack("<I", 12345))
    errors, _, _ = layout_problems(cog)
    assert any("block (1, 0), size in leader bytes is 12345" in error for error in errors), errors


def test_layout_check_of_missing_or_non_raster_file(tmp_path):
    with pytest.raises(InputError, match="nothing.tif.*does not exist"):
        layout_problems(tmp_path / "nothing.tif")
    text = tmp_path / "notes.txt"
    text.write_text("not a raster\n")
    with pytest.raises(InputError, match="notes.txt"):
        layout_problems(text)
