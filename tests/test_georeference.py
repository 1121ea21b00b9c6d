"""ls4:georeference: a raw scan and its Georeferencer GCPs give back the georeferenced frame."""

from dataclasses import dataclass

import numpy as np
import pytest
from osgeo import gdal, osr
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from ls4.ls4_plugin.core import georef
from ls4.ls4_plugin.core.errors import Canceled, InputError
from ls4.ls4_plugin.core.feedback import Feedback

SCAN = "hro_colorado_gray_scan.tif"
REFERENCE = "hro_colorado_gray.tif"


@pytest.fixture
def scan(sample):
    """The raw scan and its .points file, copied side by side into a temporary folder."""
    points = sample(SCAN + ".points")
    return sample(SCAN), points


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@dataclass(frozen=True)
class Raster:
    """What a test checks of a raster, read once; no GDAL dataset outlives the test."""

    gt: tuple
    wkt: str
    width: int
    height: int
    count: int
    mask_flags: int
    values: np.ndarray
    mask: np.ndarray

    @property
    def epsg(self):
        return osr.SpatialReference(wkt=self.wkt).GetAuthorityCode(None)


def read_raster(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return Raster(
        dataset.GetGeoTransform(),
        dataset.GetProjection(),
        dataset.RasterXSize,
        dataset.RasterYSize,
        dataset.RasterCount,
        band.GetMaskFlags(),
        band.ReadAsArray(),
        band.GetMaskBand().ReadAsArray(),
    )


@pytest.fixture
def reference(data_dir):
    return read_raster(data_dir / REFERENCE)


def edit_points(path, line_number, new_line):
    """Replace one line (1-based) of a .points file; returns the path."""
    lines = path.read_text().splitlines()
    lines[line_number - 1] = new_line
    path.write_text("\n".join(lines) + "\n")
    return path


def image_points(raster):
    """Corners and centre of a raster, in pixel coordinates."""
    width, height = raster.width, raster.height
    return [(0, 0), (width, 0), (0, height), (width, height), (width / 2, height / 2)]


def pixel_offsets(output, reference):
    """How far (in reference pixels) the output puts its corners and centre from the reference."""
    to_reference = gdal.InvGeoTransform(reference.gt)
    offsets = []
    for pixel, row in image_points(output):
        x, y = gdal.ApplyGeoTransform(output.gt, pixel, row)
        ref_pixel, ref_row = gdal.ApplyGeoTransform(to_reference, x, y)
        offsets.append(max(abs(ref_pixel - pixel), abs(ref_row - row)))
    return offsets


class CancelOnFirstProgress(Feedback):
    def setProgress(self, percent):
        super().setProgress(percent)
        self.cancel()


class LogFeedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.log = []

    def pushInfo(self, info):
        self.log.append(info)
        super().pushInfo(info)


def test_points_file_is_read_with_rows_as_negative_source_y(scan):
    points = georef.read_points(scan[1])
    assert points.crs_wkt.startswith('PROJCS["NAD83 / UTM zone 13N"')
    assert len(points.gcps) == 6
    first = points.gcps[0]
    assert (first.pixel, first.row, first.lineno) == (10.0, 10.0, 3)
    assert (first.map_x, first.map_y) == (519468.993883, 4311668.265756)


def test_polynomial1_reproduces_the_georeferenced_frame(scan, out_dir, reference):
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif")

    output = read_raster(result.path)
    assert max(pixel_offsets(output, reference)) < 0.1
    assert output.epsg == "26913"
    assert result.rms_px < 0.01
    assert len(result.residuals) == 6
    assert all(r.residual < 0.01 for r in result.residuals)
    assert not result.warped
    assert (output.width, output.height) == (
        reference.width,
        reference.height,
    )
    np.testing.assert_array_equal(output.values, reference.values)
    assert sorted(p.name for p in out_dir.iterdir()) == ["frame.tif"]


def test_disabled_gcps_are_ignored(scan, out_dir, reference):
    # A wildly wrong GCP, switched off as QGIS does: it must not pull the fit.
    edit_points(scan[1], 7, "519000.0,4300000.0,191.000000,-116.000000,0,0,0,0")
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif")
    assert [r.lineno for r in result.residuals] == [3, 4, 5, 6, 8]
    assert result.rms_px < 0.01
    assert max(pixel_offsets(read_raster(result.path), reference)) < 0.1


def test_residuals_point_at_the_misplaced_gcp(scan, out_dir):
    # GCP 5 (line 7) clicked 3 pixels to the right of where its map point is.
    edit_points(scan[1], 7, "519496.110494,4311652.365979,194.000000,-116.000000,1,0,0,0")
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif")
    worst = max(result.residuals, key=lambda r: r.residual)
    assert worst.lineno == 7
    assert worst.residual > 1.5
    assert worst.dx < 0  # the fit puts it back to the left of where it was clicked
    assert 0.5 < result.rms_px < 3
    table = georef.residual_table(result)
    assert "RMS error" in table and len(table.splitlines()) == 9


@pytest.mark.parametrize("transform", ["polynomial2", "tps"])
def test_warping_transforms_land_on_the_reference(scan, out_dir, reference, transform):
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif", transform=transform)

    output = read_raster(result.path)
    assert result.warped and result.rms_px < 0.01
    assert output.epsg == "26913"
    assert output.count == 1
    # The GCPs fit an affine transform, so the warp is near-identity: the extent stays where the
    # reference is (within a pixel) and nearest-neighbour pixels are the reference's.
    assert max(pixel_offsets(output, reference)) < 1.0
    ref_values = reference.values
    inverse = gdal.InvGeoTransform(reference.gt)
    values, valid = output.values, output.mask
    rows, cols = np.nonzero(valid)
    gt = output.gt
    map_x = gt[0] + (cols + 0.5) * gt[1]
    map_y = gt[3] + (rows + 0.5) * gt[5]
    ref_cols = np.floor(inverse[0] + map_x * inverse[1] + map_y * inverse[2]).astype(int)
    ref_rows = np.floor(inverse[3] + map_x * inverse[4] + map_y * inverse[5]).astype(int)
    inside = (ref_cols >= 0) & (ref_cols < 383) & (ref_rows >= 0) & (ref_rows < 232)
    same = values[rows, cols][inside] == ref_values[ref_rows[inside], ref_cols[inside]]
    assert valid.mean() > 0.97
    assert same.mean() > 0.95


def test_target_crs_reprojects_and_masks_the_collar(scan, out_dir, reference):
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif", target_crs="EPSG:3857")

    output = read_raster(result.path)
    assert output.epsg == "3857" and result.warped
    assert output.count == 1
    assert output.mask_flags == gdal.GMF_PER_DATASET
    # The reference's centre, taken to EPSG:3857, is the output's centre.
    to_3857 = osr.CoordinateTransformation(osr.SpatialReference(wkt=reference.wkt), _srs(3857))
    ref_centre = gdal.ApplyGeoTransform(reference.gt, 383 / 2, 232 / 2)
    x, y, _ = to_3857.TransformPoint(*ref_centre)
    centre = gdal.ApplyGeoTransform(output.gt, output.width / 2, output.height / 2)
    assert abs(centre[0] - x) < 0.5 and abs(centre[1] - y) < 0.5


def _srs(code):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(code)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def test_points_without_crs_need_a_target_crs(scan, out_dir, reference):
    edit_points(scan[1], 1, "")
    with pytest.raises(InputError, match=r"\.points: no '#CRS:' line .* set a target CRS"):
        georef.georeference(scan[0], scan[1], out_dir / "frame.tif")
    assert list(out_dir.iterdir()) == []

    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif", target_crs="EPSG:26913")
    assert max(pixel_offsets(read_raster(result.path), reference)) < 0.1


def bad_points(path, kind):
    lines = path.read_text().splitlines()
    if kind == "two GCPs":
        lines = lines[:4]
    elif kind == "text in a number":
        lines[4] = "519522.627842,north,368.000000,-222.000000,1,0,0,0"
    elif kind == "missing values":
        lines[4] = "519522.627842,4311636.466202,368.000000"
    elif kind == "outside the image":
        lines[5] = "519469.293514,4311637.066194,12.000000,-418.000000,1,0,0,0"
    elif kind == "positive sourceY":
        lines[5] = "519469.293514,4311637.066194,12.000000,218.000000,1,0,0,0"
    path.write_text("\n".join(lines) + "\n")


BAD_POINTS = {
    "two GCPs": r"\.points: 2 enabled GCPs, but polynomial1 needs at least 3",
    "text in a number": r"\.points, line 5: mapY 'north' is not a number",
    "missing values": r"\.points, line 5: expected 8 comma-separated values .* found 3",
    "outside the image": r"\.points, line 6: GCP 4 at sourceX 12, sourceY -418 is outside the "
    r"image .*hro_colorado_gray_scan\.tif \(383 x 232 pixels\)",
    "positive sourceY": r"\.points, line 6: GCP 4 .* outside .*negative sourceY",
}


@pytest.mark.parametrize("kind", BAD_POINTS)
def test_bad_points_file_is_refused_and_leaves_nothing(scan, out_dir, kind):
    bad_points(scan[1], kind)
    with pytest.raises(InputError, match=BAD_POINTS[kind]):
        georef.georeference(scan[0], scan[1], out_dir / "frame.tif")
    assert list(out_dir.iterdir()) == []


def test_too_few_gcps_for_polynomial3(scan, out_dir):
    with pytest.raises(InputError, match=r"6 enabled GCPs, but polynomial3 needs at least 10"):
        georef.georeference(scan[0], scan[1], out_dir / "frame.tif", transform="polynomial3")
    assert list(out_dir.iterdir()) == []


def test_text_file_as_scan_is_refused(scan, out_dir):
    text = scan[0].with_name("notes.tif")
    text.write_text("scanned on 1962-05-04, roll 3\n")
    with pytest.raises(InputError, match=r"notes\.tif: cannot georeference it: not a raster"):
        georef.georeference(text, scan[1], out_dir / "frame.tif")
    assert list(out_dir.iterdir()) == []


def test_output_folder_under_a_file_is_refused(scan, tmp_path):
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("a file, not a folder")
    before = sorted(tmp_path.iterdir())
    with pytest.raises(InputError, match=r"blocker\.txt/sub: cannot create the output folder"):
        georef.georeference(scan[0], scan[1], blocker / "sub" / "frame.tif")
    assert sorted(tmp_path.iterdir()) == before
    assert blocker.read_text() == "a file, not a folder"


def test_output_folder_that_refuses_files(scan):
    # Tests run as root, which chmod does not stop: /proc refuses new files even to root.
    with pytest.raises(InputError, match=r"^/proc: cannot write in the output folder"):
        georef.georeference(scan[0], scan[1], "/proc/ls4_frame.tif")


def test_missing_output_folders_are_created(scan, tmp_path):
    result = georef.georeference(scan[0], scan[1], tmp_path / "a" / "b" / "frame.tif")
    assert read_raster(result.path).width == 383


@pytest.mark.parametrize("transform", ["polynomial1", "tps"])
def test_cancel_removes_the_partial_output(scan, out_dir, transform):
    feedback = CancelOnFirstProgress()
    with pytest.raises(Canceled):
        georef.georeference(
            scan[0], scan[1], out_dir / "frame.tif", transform=transform, feedback=feedback
        )
    assert list(out_dir.iterdir()) == []


# Through Processing, as the toolbox, the modeler and qgis_process run it.


def test_algorithm_reproduces_the_frame_with_the_default_gcp_file(
    run_alg, scan, out_dir, reference
):
    feedback = LogFeedback()
    results = run_alg(
        "georeference", {"INPUT": str(scan[0]), "OUTPUT": str(out_dir / "frame.tif")}, feedback
    )
    output = read_raster(results["OUTPUT"])
    assert max(pixel_offsets(output, reference)) < 0.1
    assert output.epsg == "26913"
    assert results["RMS_PX"] < 0.01
    np.testing.assert_array_equal(output.values, reference.values)
    log = "\n".join(feedback.log)
    assert "GCP residuals in pixels" in log and "RMS error" in log


def test_algorithm_refuses_a_text_file_naming_it(run_alg, scan, out_dir):
    text = scan[0].with_name("notes.tif")
    text.write_text("not an image\n")
    with pytest.raises(QgsProcessingException, match=r"notes\.tif: cannot georeference it"):
        run_alg("georeference", {"INPUT": str(text), "OUTPUT": str(out_dir / "frame.tif")})
    assert list(out_dir.iterdir()) == []


def test_algorithm_cancel_leaves_nothing(run_alg, scan, out_dir):
    class Cancel(QgsProcessingFeedback):
        def setProgress(self, progress):
            super().setProgress(progress)
            self.cancel()

    params = {
        "INPUT": str(scan[0]),
        "GCP_POINTS": str(scan[1]),
        "TRANSFORM": 3,
        "RESAMPLING": 1,
        "OUTPUT": str(out_dir / "frame.tif"),
    }
    with pytest.raises(QgsProcessingException, match="Canceled"):
        run_alg("georeference", params, Cancel())
    assert list(out_dir.iterdir()) == []


def test_algorithm_parameters_all_have_help(ls4_provider):
    alg = ls4_provider.algorithm("georeference")
    assert alg.group() == "Raster stages" and alg.groupId() == "rasterstages"
    names = [p.name() for p in alg.parameterDefinitions()]
    assert names == ["INPUT", "GCP_POINTS", "TRANSFORM", "TARGET_CRS", "RESAMPLING", "OUTPUT"]
    assert all(p.help() for p in alg.parameterDefinitions())
    assert not alg.flags() & alg.FlagHideFromModeler


def test_algorithm_in_batch_as_the_batch_dialog_runs_it(ls4_provider, sample, tmp_path):
    from processing.tools import dataobjects
    from qgis.core import QgsApplication

    scan, points = sample(SCAN), sample(SCAN + ".points")
    rows = []
    for name in ("frame_a", "frame_b", "frame_c"):
        copy = tmp_path / f"{name}.tif"
        copy.write_bytes(scan.read_bytes())
        (tmp_path / f"{name}.tif.points").write_text(points.read_text())
        rows.append({"INPUT": str(copy), "OUTPUT": str(tmp_path / "out" / f"{name}.tif")})

    # The batch dialog runs one instance, a fresh context per row, and calls run() itself.
    alg = QgsApplication.processingRegistry().createAlgorithmById("ls4:georeference")
    for parameters in rows:
        feedback = QgsProcessingFeedback()
        context = dataobjects.createContext(feedback)
        results, ok = alg.run(alg.preprocessParameters(parameters), context, feedback)
        assert ok, parameters
        assert results["RMS_PX"] < 0.01
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["frame_a.tif", "frame_b.tif", "frame_c.tif"]
    assert all(read_raster(tmp_path / "out" / name).epsg == "26913" for name in written)


def test_older_qgis_header_names_pixel_columns(scan, out_dir, reference):
    # QGIS before 3.26 writes pixelX,pixelY where later versions write sourceX,sourceY.
    edit_points(scan[1], 2, "mapX,mapY,pixelX,pixelY,enable,dX,dY,residual")
    result = georef.georeference(scan[0], scan[1], out_dir / "frame.tif")
    assert max(pixel_offsets(read_raster(result.path), reference)) < 0.1


@pytest.mark.parametrize("transform", ["polynomial1", "polynomial2", "tps"])
def test_a_wrong_georeferencing_in_the_scan_is_replaced(scan, out_dir, reference, transform):
    # A scan that already carries a (wrong) geotransform: the GCPs decide, not the file.
    wrong = scan[0].with_name("wrong.tif")
    gdal.Translate(str(wrong), str(scan[0]), outputBounds=[0, 100, 50, 0], outputSRS="EPSG:3857")
    result = georef.georeference(wrong, scan[1], out_dir / "frame.tif", transform=transform)
    output = read_raster(result.path)
    assert output.epsg == "26913"
    assert max(pixel_offsets(output, reference)) < 1.0
