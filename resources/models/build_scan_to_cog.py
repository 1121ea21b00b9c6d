"""Builds ``ls4_scan_to_cog.model3``: ls4:georeference then ls4:makecog, as one toolbox model.

The model is built through the Processing API rather than written by hand, so its child
algorithms and parameter names are checked against the real algorithms. Run it again whenever
either algorithm's parameters change:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/models/build_scan_to_cog.py
"""

import os
import sys

MODEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ls4_scan_to_cog.model3")
NAME = "scan_to_cog"
GROUP = "Pipelines"
HELP = {
    "ALG_DESC": (
        "From a raw scan to a Cloud Optimized GeoTIFF in EPSG:3857: georeferences the scan with "
        "the GCPs saved by the QGIS Georeferencer (polynomial 1), then writes the COG (tiles of "
        "512, overviews, the collar masked, compression chosen by the band layout)."
    ),
    "SCAN": "The scanned photograph, not yet georeferenced.",
    "GCP_POINTS": (
        "The Georeferencer's GCP file. Empty: the scan's path followed by .points, where the "
        "Georeferencer saves it."
    ),
    "makecog:OUTPUT": "The Cloud Optimized GeoTIFF (.tif), in EPSG:3857.",
    "georeference:RMS_PX": "The RMS error of the GCPs, in pixels.",
    "makecog:VALID": "Whether the COG passed the COG layout and LS4 checks.",
    "ALG_CREATOR": "LS4",
}


def build_model():
    """The model, built from the registered ``ls4`` algorithms."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelParameter,
        QgsProcessingParameterFile,
        QgsProcessingParameterRasterLayer,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm(NAME, GROUP)
    inputs = [
        QgsProcessingParameterRasterLayer("SCAN", "Scan"),
        QgsProcessingParameterFile(
            "GCP_POINTS",
            "GCP file (.points)",
            optional=True,
            fileFilter="Georeferencer GCP files (*.points)",
        ),
    ]
    for row, parameter in enumerate(inputs):
        parameter.setHelp(HELP[parameter.name()])
        component = QgsProcessingModelParameter(parameter.name())
        component.setPosition(QPointF(120, 80 + 90 * row))
        model.addModelParameter(parameter, component)
    model.addChildAlgorithm(_georeference())
    model.addChildAlgorithm(_makecog())
    model.setHelpContent(HELP)
    return model


def _child(algorithm_id, child_id, description, position):
    from qgis.core import QgsProcessingModelChildAlgorithm
    from qgis.PyQt.QtCore import QPointF

    child = QgsProcessingModelChildAlgorithm(algorithm_id)
    child.setChildId(child_id)
    child.setDescription(description)
    child.setPosition(QPointF(*position))
    return child


def _output(child_id, name, description):
    from qgis.core import QgsProcessingModelOutput

    output = QgsProcessingModelOutput(name, description)
    output.setChildId(child_id)
    output.setChildOutputName(name)
    return output


def _georeference():
    from qgis.core import QgsProcessingModelChildParameterSource as Source

    child = _child("ls4:georeference", "georeference", "Georeference the scan", (420, 125))
    child.addParameterSources("INPUT", [Source.fromModelParameter("SCAN")])
    child.addParameterSources("GCP_POINTS", [Source.fromModelParameter("GCP_POINTS")])
    child.addParameterSources("TRANSFORM", [Source.fromStaticValue(0)])
    child.addParameterSources("RESAMPLING", [Source.fromStaticValue(0)])
    child.setModelOutputs({"RMS_PX": _output("georeference", "RMS_PX", "RMS error (pixels)")})
    return child


def _makecog():
    from qgis.core import QgsProcessingModelChildParameterSource as Source

    child = _child("ls4:makecog", "makecog", "Make the Cloud Optimized GeoTIFF", (720, 125))
    child.addParameterSources("INPUT", [Source.fromChildOutput("georeference", "OUTPUT")])
    child.setDependencies([])
    child.setModelOutputs(
        {
            "OUTPUT": _output("makecog", "OUTPUT", "Cloud Optimized GeoTIFF"),
            "VALID": _output("makecog", "VALID", "Valid COG"),
        }
    )
    return child


def main():
    from qgis.core import QgsApplication

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, repo)
    import tools  # noqa: F401  (the repository as the package ``ls4``)
    from ls4.processing_provider.provider import Ls4Provider

    app = QgsApplication([], False)
    app.initQgis()
    provider = Ls4Provider()
    QgsApplication.processingRegistry().addProvider(provider)
    missing = [
        name
        for name in ("ls4:georeference", "ls4:makecog")
        if QgsApplication.processingRegistry().algorithmById(name) is None
    ]
    if missing:
        sys.exit(f"cannot build the model: {', '.join(missing)} not found in the ls4 provider")
    if not build_model().toFile(MODEL_FILE):
        sys.exit(f"cannot write {MODEL_FILE}")
    print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
