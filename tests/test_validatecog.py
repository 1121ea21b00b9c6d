"""ls4:validatecog: GDAL's COG layout rules plus LS4's, on real files made with GDAL."""

import json

import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from ls4.ls4_plugin.core import cog
from ls4.ls4_plugin.core.errors import InputError
from ls4.ls4_plugin.core.validate import validate_cog


@pytest.fixture
def frame(data_dir, tmp_path):
    """A 1100x1000 gray frame in EPSG:26913: large enough that a COG of it has overviews."""
    path = tmp_path / "frame.tif"
    gdal.Translate(str(path), str(data_dir / "hro_colorado_gray.tif"), width=1100, height=1000)
    return path


@pytest.fixture
def good(frame, tmp_path):
    """The frame as ls4:makecog writes it."""
    return cog.make_cog(frame, tmp_path / "good.tif").path


def warped(source, tmp_path, alpha=False):
    """``gdalwarp -t_srs EPSG:3857`` of ``source`` (with an alpha band if asked)."""
    path = tmp_path / ("warped_alpha.tif" if alpha else "warped.tif")
    gdal.Warp(str(path), str(source), dstSRS="EPSG:3857", dstAlpha=alpha)
    return path


def cog_of(source, target, **options):
    """GDAL's COG driver on ``source``, with ``options`` as creation options."""
    creation = [f"{key}={value}" for key, value in options.items()]
    gdal.Translate(str(target), str(source), format="COG", creationOptions=creation)
    return target


def check(run_alg, path, **params):
    results = run_alg("validatecog", {"INPUT": str(path), **params})
    report = json.loads(results["REPORT"])
    assert results["VALID"] is (not report["errors"])
    assert results["ERRORS"] == "; ".join(report["errors"])
    return results, report


def test_makecog_output_is_valid(run_alg, good):
    results, report = check(run_alg, good)
    assert results["VALID"] is True, report["errors"]
    details = report["details"]
    assert (details["band_layout"], details["compression"], details["predictor"]) == (
        "bw",
        "DEFLATE",
        "2",
    )
    assert details["epsg"] == 3857 and details["has_mask"] is True
    width, height = details["size"]
    assert details["overviews"] == [[width // 2, height // 2], [width // 4, height // 4]]


def test_source_crs_is_not_web_mercator(run_alg, frame, tmp_path):
    path = cog_of(frame, tmp_path / "utm.tif", COMPRESS="DEFLATE", PREDICTOR="YES")
    results, report = check(run_alg, path)
    assert results["VALID"] is False
    assert "the CRS is EPSG:26913, not EPSG:3857" in report["errors"]


def test_a_striped_geotiff_breaks_gdals_rules(run_alg, frame, tmp_path):
    path = tmp_path / "striped.tif"
    gdal.Translate(str(path), str(warped(frame, tmp_path)), creationOptions=["COMPRESS=DEFLATE"])
    results, report = check(run_alg, path)
    assert results["VALID"] is False
    assert any("not tiled" in error for error in report["errors"])
    assert any("overviews must go down to one tile" in error for error in report["errors"])


def test_external_overviews_break_gdals_rules(run_alg, frame, tmp_path):
    path = tmp_path / "external.tif"
    options = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=DEFLATE"]
    gdal.Translate(str(path), str(warped(frame, tmp_path)), creationOptions=options)
    dataset = gdal.Open(str(path))  # read-only: GDAL writes the overviews to external.tif.ovr
    dataset.BuildOverviews("AVERAGE", [2, 4])
    dataset = None
    assert (tmp_path / "external.tif.ovr").exists()
    results, report = check(run_alg, path)
    assert results["VALID"] is False
    assert any("external .ovr" in error for error in report["errors"])


def test_compression_must_follow_the_band_layout(run_alg, frame, tmp_path):
    path = cog_of(warped(frame, tmp_path, alpha=True), tmp_path / "lzw.tif", COMPRESS="LZW")
    _, report = check(run_alg, path)
    assert "compressed with LZW: this bw COG must use DEFLATE" in report["errors"]


def test_deflate_without_predictor(run_alg, frame, tmp_path):
    path = cog_of(warped(frame, tmp_path, alpha=True), tmp_path / "nopred.tif", COMPRESS="DEFLATE")
    _, report = check(run_alg, path)
    assert "DEFLATE without a predictor: LS4 uses the horizontal predictor" in report["errors"]


def test_colour_jpeg_must_be_ycbcr(run_alg, data_dir, tmp_path):
    rgb = warped(data_dir / "hro_colorado_rgb.tif", tmp_path)
    path = tmp_path / "rgb_jpeg.tif"
    options = ["COMPRESS=JPEG", "PHOTOMETRIC=RGB", "TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512"]
    gdal.Translate(str(path), str(rgb), creationOptions=options)
    _, report = check(run_alg, path)
    assert "JPEG in RGB: an nc COG is JPEG in YCbCr (PHOTOMETRIC=YCBCR)" in report["errors"]


def test_collar_without_mask_is_an_error(run_alg, frame, tmp_path):
    # what the old chain published: the warp's black collar, no mask
    path = cog_of(warped(frame, tmp_path), tmp_path / "old.tif", COMPRESS="DEFLATE", PREDICTOR="2")
    results, report = check(run_alg, path)
    assert results["VALID"] is False
    assert any("(a collar) but there is no mask" in error for error in report["errors"])


def test_alpha_band_is_a_warning_for_deflate(run_alg, frame, tmp_path):
    source = warped(frame, tmp_path, alpha=True)
    path = cog_of(source, tmp_path / "alpha.tif", COMPRESS="DEFLATE", PREDICTOR="YES")
    results, report = check(run_alg, path)
    assert results["VALID"] is True, report["errors"]
    assert "band 2 is alpha: LS4 marks the collar with a mask" in report["warnings"]


def test_tiles_must_be_512(run_alg, frame, tmp_path):
    source = warped(frame, tmp_path, alpha=True)
    path = cog_of(source, tmp_path / "t256.tif", COMPRESS="DEFLATE", PREDICTOR="YES", BLOCKSIZE=256)
    _, report = check(run_alg, path)
    assert "the main image has blocks of 256x256, not 512" in report["errors"]


def test_overviews_must_reach_one_tile(run_alg, frame, tmp_path):
    source = warped(frame, tmp_path, alpha=True)
    path = cog_of(
        source, tmp_path / "no_ovr.tif", COMPRESS="DEFLATE", PREDICTOR="YES", OVERVIEWS="NONE"
    )
    _, report = check(run_alg, path)
    assert any("overviews must go down to one tile of 512" in error for error in report["errors"])


def test_required_layout_and_compression(run_alg, good):
    _, report = check(run_alg, good, BAND_LAYOUT=2)  # nc
    assert "1 band(s), but a nc COG has 3" in report["errors"]
    _, report = check(run_alg, good, COMPRESSION=2)  # ZSTD
    assert "compressed with DEFLATE: this bw COG must use ZSTD" in report["errors"]


def test_nodata_is_a_warning(run_alg, good):
    # GDAL 3.10+ opens a COG for update only when told that its layout may break (3.6 ignores it)
    dataset = gdal.OpenEx(str(good), gdal.OF_UPDATE, open_options=["IGNORE_COG_LAYOUT_BREAK=YES"])
    dataset.GetRasterBand(1).SetNoDataValue(0)
    dataset = None
    _, report = check(run_alg, good)
    assert "NoData 0 is set: LS4 marks the collar with a mask" in report["warnings"]


def test_a_file_that_is_not_a_raster(run_alg, tmp_path):
    path = tmp_path / "notes.tif"
    path.write_text("not an image\n")
    with pytest.raises(QgsProcessingException, match=r"notes\.tif: not a raster file"):
        run_alg("validatecog", {"INPUT": str(path)})
    with pytest.raises(InputError, match=r"notes\.tif: not a raster file"):
        validate_cog(path)


def test_every_parameter_has_help(ls4_provider):
    algorithm = ls4_provider.algorithm("validatecog")
    for parameter in algorithm.parameterDefinitions():
        assert parameter.help(), parameter.name()
