"""Raster inspection (``ls4:inspectraster``) and the COG layout check, on real files."""

import json
import re
import struct

import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException, QgsProcessingFeedback

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


# --- ls4:inspectraster on the sample data --------------------------------------------------------

# (band layout, CRS, georeferencing, NoData per band), from /work/shared/data/README.md
SAMPLES = {
    "hro_colorado_rgb.tif": ("nc", "EPSG:26913", "geotransform", [None, None, None]),
    "hro_colorado_rgb_nodata.tif": ("nc", "EPSG:26913", "geotransform", [0, 0, 0]),
    "landsat_rgb_utm18n.tif": ("nc", "EPSG:32618", "geotransform", [0, 0, 0]),
    "hro_colorado_gray.tif": ("bw", "EPSG:26913", "geotransform", [None]),
    "hro_colorado_gray_scan.tif": ("bw", "", "none", [None]),
}
NOT_RASTERS = {"README.md", "hro_colorado_gray_scan.tif.points"}


def test_every_sample_file_is_covered(data_dir):
    # GDAL's .aux.xml side files (statistics some other run left) are not sample data
    names = {path.name for path in data_dir.iterdir() if not path.name.endswith(".aux.xml")}
    assert names == set(SAMPLES) | NOT_RASTERS


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_inspect_sample(run_alg, data_dir, name):
    layout, crs, georeferencing, nodata = SAMPLES[name]
    results = run_alg("inspectraster", {"INPUT": str(data_dir / name)})
    assert results["BAND_LAYOUT"] == layout
    assert results["CRS"] == crs
    assert results["GEOREFERENCING"] == georeferencing
    assert results["NODATA_PROBLEM"] == ""
    assert results["IS_COG"] is False  # striped GeoTIFFs all
    report = json.loads(results["REPORT"])
    assert report["nodata"] == nodata
    dataset = gdal.Open(str(data_dir / name))
    assert (report["width"], report["height"]) == (dataset.RasterXSize, dataset.RasterYSize)
    assert report["band_count"] == dataset.RasterCount
    assert report["data_type"] == "Byte"
    expected_geotransform = dataset.GetGeoTransform(can_return_null=True)
    assert report["geotransform"] == (
        list(expected_geotransform) if expected_geotransform else None
    )
    assert report["mask"] == ("NoData value" if nodata[0] is not None else "none")
    assert report["cog_errors"] and report["overviews"] == []


@pytest.mark.parametrize("name", sorted(NOT_RASTERS))
def test_sample_side_files_are_not_rasters(run_alg, data_dir, name):
    with pytest.raises(QgsProcessingException, match=f"{re.escape(name)}: not a raster file"):
        run_alg("inspectraster", {"INPUT": str(data_dir / name)})


def test_report_file_and_feedback_text(run_alg, data_dir, tmp_path):
    feedback = RecordingFeedback()
    target = tmp_path / "report.json"
    source = str(data_dir / "landsat_rgb_utm18n.tif")
    results = run_alg("inspectraster", {"INPUT": source, "OUTPUT_REPORT": str(target)}, feedback)
    assert results["OUTPUT_REPORT"] == str(target)
    saved = json.loads(target.read_text())
    assert saved == json.loads(results["REPORT"])
    assert saved["epsg"] == 32618 and saved["block_size"] == [791, 3]
    text = "\n".join(feedback.infos)
    assert "Band layout: nc" in text and "CRS: EPSG:32618" in text and "NoData: 0, 0, 0" in text

    html_target = tmp_path / "report.html"
    run_alg("inspectraster", {"INPUT": source, "OUTPUT_REPORT": str(html_target)})
    assert "<th>CRS</th><td>EPSG:32618</td>" in html_target.read_text()


def test_a_project_layer_is_inspected(run_alg, sample):
    from qgis.core import QgsProcessingContext, QgsProject, QgsRasterLayer

    layer = QgsRasterLayer(str(sample("hro_colorado_gray.tif")), "gray frame")
    QgsProject.instance().addMapLayer(layer)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    try:
        results = run_alg("inspectraster", {"INPUT": layer.id()}, context=context)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    assert (results["BAND_LAYOUT"], results["CRS"]) == ("bw", "EPSG:26913")


def test_outputs_feed_other_algorithms_in_a_model(ls4_provider, sample):
    """In the modeler, the string outputs are inputs for the next step (here a concatenation)."""
    from qgis.core import (
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelParameter,
        QgsProcessingParameterRasterLayer,
    )

    model = QgsProcessingModelAlgorithm("check frame", "ls4 tests")
    model.addModelParameter(
        QgsProcessingParameterRasterLayer("frame", "Frame"), QgsProcessingModelParameter("frame")
    )
    inspect = QgsProcessingModelChildAlgorithm("ls4:inspectraster")
    inspect.setChildId("inspect")
    inspect.addParameterSources(
        "INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("frame")]
    )
    model.addChildAlgorithm(inspect)
    concat = QgsProcessingModelChildAlgorithm("native:stringconcatenation")
    concat.setChildId("concat")
    for name, output in (("INPUT_1", "BAND_LAYOUT"), ("INPUT_2", "CRS")):
        source = QgsProcessingModelChildParameterSource.fromChildOutput("inspect", output)
        concat.addParameterSources(name, [source])
    model.addChildAlgorithm(concat)

    frame = str(sample("landsat_rgb_utm18n.tif"))
    results, ok = model.run({"frame": frame}, QgsProcessingContext(), QgsProcessingFeedback())
    assert ok
    assert results["CHILD_RESULTS"]["concat"]["CONCATENATION"] == "ncEPSG:32618"
    assert results["CHILD_RESULTS"]["inspect"]["IS_COG"] is False


# --- ls4:inspectraster on made-up files ----------------------------------------------------------


def make_raster(path, bands=1, data_type=gdal.GDT_Byte, nodata=None, size=(64, 48)):
    """A small georeferenced raster in EPSG:26913 with a gradient, written with GDAL."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), *size, bands, data_type)
    dataset.SetGeoTransform([500000, 1, 0, 4300000, 0, -1])
    dataset.SetProjection("EPSG:26913")
    for index in range(1, bands + 1):
        band = dataset.GetRasterBand(index)
        band.Fill(10 * index)
        if nodata is not None:
            band.SetNoDataValue(nodata)
    dataset = None
    return path


def test_nodata_the_band_cannot_hold_is_flagged(run_alg, tmp_path):
    path = make_raster(tmp_path / "nodata256.tif", bands=3, nodata=256)
    results = run_alg("inspectraster", {"INPUT": str(path)})
    assert results["BAND_LAYOUT"] == "nc"
    assert (
        "band 1: NoData 256 cannot be stored in a Byte band; it will be ignored"
        in (results["NODATA_PROBLEM"])
    )
    assert "band 3: NoData 256" in results["NODATA_PROBLEM"]
    assert json.loads(results["REPORT"])["nodata"] == [256, 256, 256]


def test_nodata_that_fits_is_not_flagged(run_alg, tmp_path):
    path = make_raster(tmp_path / "uint16.tif", data_type=gdal.GDT_UInt16, nodata=256)
    results = run_alg("inspectraster", {"INPUT": str(path)})
    assert results["NODATA_PROBLEM"] == ""


def test_two_bands_are_neither_bw_nor_nc(run_alg, tmp_path):
    results = run_alg("inspectraster", {"INPUT": str(make_raster(tmp_path / "two.tif", 2))})
    assert results["BAND_LAYOUT"] == ""
    reason = json.loads(results["REPORT"])["band_layout_reason"]
    assert reason == "2 bands: LS4 publishes 1-band grayscale (bw) or 3-band colour (nc)"


def test_sixteen_bit_is_neither_bw_nor_nc(run_alg, tmp_path):
    path = make_raster(tmp_path / "sixteen.tif", 1, gdal.GDT_UInt16)
    results = run_alg("inspectraster", {"INPUT": str(path)})
    assert results["BAND_LAYOUT"] == ""
    report = json.loads(results["REPORT"])
    assert report["band_layout_reason"] == "16-bit (UInt16) data: LS4 publishes 8-bit (Byte)"
    assert report["data_type"] == "UInt16"


def test_alpha_band_rides_along(run_alg, tmp_path):
    path = make_raster(tmp_path / "rgba.tif", 4)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.GetRasterBand(4).SetColorInterpretation(gdal.GCI_AlphaBand)
    dataset = None
    results = run_alg("inspectraster", {"INPUT": str(path)})
    report = json.loads(results["REPORT"])
    assert results["BAND_LAYOUT"] == "nc"
    assert (report["alpha_band"], report["mask"]) == (4, "alpha band")


def test_gcps_and_cog(run_alg, data_dir, tmp_path):
    gcps = [gdal.GCP(519467.5 + 57 * i, 4311669.8 - 35 * i, 0, 380 * i, 230 * i) for i in (0, 1)]
    gcps.append(gdal.GCP(519524.9, 4311669.8, 0, 383, 0))
    scan = data_dir / "hro_colorado_gray_scan.tif"
    target = tmp_path / "gcps.tif"
    gdal.Translate(str(target), str(scan), GCPs=gcps, outputSRS="EPSG:26913")
    results = run_alg("inspectraster", {"INPUT": str(target)})
    assert (results["GEOREFERENCING"], results["CRS"]) == ("gcps", "EPSG:26913")
    assert json.loads(results["REPORT"])["gcp_count"] == 3

    cog = tmp_path / "cog.tif"
    gdal.Translate(str(cog), str(data_dir / "hro_colorado_rgb.tif"), format="COG")
    results = run_alg("inspectraster", {"INPUT": str(cog)})
    assert results["IS_COG"] is True
    assert json.loads(results["REPORT"])["block_size"] == [512, 512]


# --- files that are not usable rasters -----------------------------------------------------------


def test_text_file_is_not_a_raster(run_alg, tmp_path):
    path = tmp_path / "frame.tif"
    path.write_text("this is not an image\n")
    with pytest.raises(QgsProcessingException, match=r"frame\.tif: not a raster file"):
        run_alg("inspectraster", {"INPUT": str(path)})


def test_empty_file(run_alg, tmp_path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    with pytest.raises(QgsProcessingException, match=r"empty\.tif: the file is empty \(0 bytes\)"):
        run_alg("inspectraster", {"INPUT": str(path)})


def test_missing_file(run_alg, tmp_path):
    path = tmp_path / "gone.tif"
    with pytest.raises(QgsProcessingException, match=r"gone\.tif: the file does not exist"):
        run_alg("inspectraster", {"INPUT": str(path)})


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        # the header comes first: GDAL opens the file and fails only when reading the pixels
        ("hro_colorado_gray.tif", "the file is truncated: it has 44643 bytes"),
        # the header comes last: it is cut off, GDAL cannot open the file
        ("hro_colorado_rgb.tif", "a damaged or truncated TIFF"),
    ],
)
def test_truncated_tiff(run_alg, data_dir, tmp_path, name, problem):
    data = (data_dir / name).read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(QgsProcessingException, match=rf"cut\.tif: {problem}"):
        run_alg("inspectraster", {"INPUT": str(path)})


def test_truncated_cog(run_alg, data_dir, tmp_path):
    cog = tmp_path / "cog.tif"
    gdal.Translate(str(cog), str(data_dir / "landsat_rgb_utm18n.tif"), format="COG")
    data = cog.read_bytes()
    cog.write_bytes(data[: len(data) - 1000])
    with pytest.raises(QgsProcessingException, match=r"cog\.tif: the file is truncated"):
        run_alg("inspectraster", {"INPUT": str(cog)})


class RecordingFeedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.infos = []

    def pushInfo(self, info):
        self.infos.append(info)
        super().pushInfo(info)
