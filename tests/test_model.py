"""The shipped model ls4:scan_to_cog: a raw scan and its GCP file to a COG in EPSG:3857."""

import importlib.util
from pathlib import Path
from xml.etree.ElementTree import canonicalize

import pytest
from osgeo import gdal, osr
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback

from ls4.ls4_plugin.core.cogcheck import layout_problems

REPO = Path(__file__).resolve().parents[1]
MODEL_ID = "ls4:scan_to_cog"
SCAN = "hro_colorado_gray_scan.tif"
REFERENCE = "hro_colorado_gray.tif"
COG = "makecog:OUTPUT"


def builder():
    path = REPO / "resources" / "models" / "build_scan_to_cog.py"
    spec = importlib.util.spec_from_file_location("build_scan_to_cog", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scans(sample, tmp_path, names):
    """Copies of the raw scan, each with its .points file beside it."""
    scan, points = sample(SCAN), sample(SCAN + ".points")
    paths = []
    for name in names:
        copy = tmp_path / "scans" / f"{name}.tif"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(scan.read_bytes())
        copy.with_name(f"{name}.tif.points").write_text(points.read_text())
        paths.append(copy)
    return paths


def assert_cog_of_the_reference(path, reference):
    """A valid COG in EPSG:3857, collar masked, whose corners are the reference frame's."""
    errors, _, _ = layout_problems(path)
    assert errors == []
    cog = gdal.Open(str(path))
    gt, wkt, size = cog.GetGeoTransform(), cog.GetProjection(), (cog.RasterXSize, cog.RasterYSize)
    mask_flags = cog.GetRasterBand(1).GetMaskFlags()
    cog = None  # closed here: a dataset kept alive by a failing assert crashes QGIS's exit
    assert osr.SpatialReference(wkt=wkt).GetAuthorityCode(None) == "3857"
    assert mask_flags == gdal.GMF_PER_DATASET
    ref_gt, ref_wkt = reference
    to_3857 = osr.CoordinateTransformation(_srs(ref_wkt), _srs("EPSG:3857"))
    corners = [
        to_3857.TransformPoint(*gdal.ApplyGeoTransform(ref_gt, px, py))[:2]
        for px, py in [(0, 0), (383, 0), (0, 232), (383, 232)]
    ]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    west, north = gt[0], gt[3]
    east, south = west + gt[1] * size[0], north + gt[5] * size[1]
    pixel = abs(gt[1])
    assert abs(west - min(xs)) < pixel and abs(east - max(xs)) < pixel
    assert abs(north - max(ys)) < pixel and abs(south - min(ys)) < pixel


def _srs(text):
    srs = osr.SpatialReference()
    srs.SetFromUserInput(text)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


class ErrorLog(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.errors = []

    def reportError(self, error, fatalError=False):
        self.errors.append(error)
        super().reportError(error, fatalError)


@pytest.fixture
def reference(data_dir):
    """The georeferenced frame's geotransform and CRS (no GDAL dataset outlives a test)."""
    dataset = gdal.Open(str(data_dir / REFERENCE))
    return dataset.GetGeoTransform(), dataset.GetProjection()


def comparable(model):
    """A model as this QGIS holds it, its output parameters named ``child:output``.

    QGIS 3.38+ builds models of internal version 2, whose output parameters are named after the
    model outputs; a file of version 1 (the shipped one, written by 3.22) keeps ``child:output``
    in every QGIS, which is the model's interface (``makecog:OUTPUT``) for scripts and batches.
    """
    variant = dict(model.toVariant())
    variant.pop("internal_version", None)
    definitions = {}
    for definition in variant["parameterDefinitions"].values():
        metadata = definition.get("metadata") or {}
        if "_modelChildId" in metadata:
            name = f"{metadata['_modelChildId']}:{metadata['_modelChildOutputName']}"
            definition = {**definition, "name": name}
        definitions[definition["name"]] = definition
    variant["parameterDefinitions"] = definitions
    return variant


def test_shipped_model_is_what_the_builder_makes(ls4_provider, tmp_path):
    from qgis.core import QgsProcessingModelAlgorithm

    built = tmp_path / "built.model3"
    assert builder().build_model().toFile(str(built))
    path = REPO / "resources" / "models" / "ls4_scan_to_cog.model3"
    models = [QgsProcessingModelAlgorithm(), QgsProcessingModelAlgorithm()]
    assert models[0].fromFile(str(built)) and models[1].fromFile(str(path))
    assert comparable(models[0]) == comparable(models[1])
    if models[0].toVariant().get("internal_version", "Version1") == "Version1":
        # This QGIS writes models as the shipped file is written: the very file, then.
        # Qt writes XML attributes in a random order: compare the canonical forms.
        assert canonicalize(from_file=str(built)) == canonicalize(from_file=str(path))


def test_model_is_in_the_toolbox_with_its_inputs_and_help(ls4_provider):
    # The toolbox, the batch dialog and qgis_process all run a fresh instance from the registry.
    model = QgsApplication.processingRegistry().createAlgorithmById(MODEL_ID)
    assert model is not None
    names = [p.name() for p in model.parameterDefinitions()]
    assert sorted(names) == sorted(["SCAN", "GCP_POINTS", COG])
    assert all(model.helpContent().get(name) for name in names)
    help_text = model.shortHelpString()
    assert "Cloud Optimized GeoTIFF" in help_text and "GCP" in help_text
    children = model.childAlgorithms()
    assert {cid: child.algorithmId() for cid, child in children.items()} == {
        "georeference": "ls4:georeference",
        "makecog": "ls4:makecog",
    }
    assert all(child.algorithm() is not None for child in children.values())


def test_model_turns_the_scan_into_a_cog_in_3857(run_alg, sample, tmp_path, reference):
    (scan,) = scans(sample, tmp_path, ["frame"])
    out = tmp_path / "cogs"
    out.mkdir()
    results = run_alg("scan_to_cog", {"SCAN": str(scan), COG: str(out / "frame_cog.tif")})
    assert results[COG] == str(out / "frame_cog.tif")
    assert_cog_of_the_reference(results[COG], reference)
    assert results["makecog:VALID"] is True
    assert results["georeference:RMS_PX"] < 0.01
    assert sorted(p.name for p in out.iterdir()) == ["frame_cog.tif"]


def test_model_without_gcps_names_the_missing_file(run_alg, sample, tmp_path):
    (scan,) = scans(sample, tmp_path, ["frame"])
    scan.with_name("frame.tif.points").unlink()
    out = tmp_path / "cogs"
    out.mkdir()
    feedback = ErrorLog()
    with pytest.raises(QgsProcessingException, match="Georeference the scan") as raised:
        run_alg("scan_to_cog", {"SCAN": str(scan), COG: str(out / "frame_cog.tif")}, feedback)
    # The child's error reaches the user: in the log (QGIS 3.22) or in the model's exception,
    # which since QGIS 3.3x carries the child's message itself.
    reported = [*feedback.errors, str(raised.value)]
    assert any("frame.tif.points: the GCP file does not exist" in e for e in reported)
    assert list(out.iterdir()) == []


def test_model_in_batch_as_the_batch_dialog_runs_it(ls4_provider, sample, tmp_path, reference):
    from processing.tools import dataobjects

    names = ["frame_a", "frame_b", "frame_c"]
    out = tmp_path / "cogs"
    rows = [
        {"SCAN": str(scan), "GCP_POINTS": f"{scan}.points", COG: str(out / f"{scan.stem}_cog.tif")}
        for scan in scans(sample, tmp_path, names)
    ]
    out.mkdir()
    # The batch dialog runs one instance, a fresh context per row, and calls run() itself.
    model = QgsApplication.processingRegistry().createAlgorithmById(MODEL_ID)
    for parameters in rows:
        feedback = QgsProcessingFeedback()
        context = dataobjects.createContext(feedback)
        results, ok = model.run(model.preprocessParameters(parameters), context, feedback)
        assert ok, parameters
        assert results[COG] == parameters[COG]
    assert sorted(p.name for p in out.iterdir()) == [f"{name}_cog.tif" for name in names]
    for name in names:
        assert_cog_of_the_reference(out / f"{name}_cog.tif", reference)
