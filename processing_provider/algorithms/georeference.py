"""ls4:georeference — a scan and its Georeferencer GCPs to a georeferenced GeoTIFF."""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingOutputNumber,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
)

from ...ls4_plugin.core import georef
from .. import params
from ..base import Ls4Algorithm

TRANSFORMS = [
    ("polynomial1", "Polynomial 1"),
    ("polynomial2", "Polynomial 2"),
    ("polynomial3", "Polynomial 3"),
    ("tps", "Thin plate spline"),
]
RESAMPLINGS = [
    ("near", "Nearest neighbour"),
    ("bilinear", "Bilinear"),
    ("cubic", "Cubic"),
    ("lanczos", "Lanczos"),
]


class Georeference(Ls4Algorithm):
    NAME = "georeference"
    DISPLAY_NAME = "Georeference a scan"
    GROUP = "Raster stages"
    GROUP_ID = "rasterstages"
    HELP = (
        "Georeferences a scanned photograph with the ground control points saved by the QGIS "
        "Georeferencer (a .points file). Polynomial 1 writes the fitted transform into the "
        "GeoTIFF without resampling the pixels; the other transforms warp the scan and mask the "
        "collar. The residual of every GCP, in pixels, is written to the log."
    )

    INPUT = "INPUT"
    FILE_INPUTS = (INPUT,)
    GCP_POINTS = "GCP_POINTS"
    TRANSFORM = "TRANSFORM"
    TARGET_CRS = "TARGET_CRS"
    RESAMPLING = "RESAMPLING"
    OUTPUT = "OUTPUT"
    RMS_PX = "RMS_PX"

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFile(self.INPUT, self.tr("Scan")),
            "The scanned photograph, not yet georeferenced.",
        )
        self.add(
            QgsProcessingParameterFile(
                self.GCP_POINTS,
                self.tr("GCP file (.points)"),
                optional=True,
                fileFilter=self.tr("Georeferencer GCP files (*.points)"),
            ),
            "The ground control points saved by the QGIS Georeferencer. Empty: the scan's path "
            "followed by .points, where the Georeferencer saves them.",
        )
        self.add(
            params.enum_param(self, self.TRANSFORM, "Transformation", TRANSFORMS),
            "Polynomial 1 (at least 3 GCPs) keeps the pixels as scanned; polynomial 2 (6 GCPs) "
            "and 3 (10 GCPs) bend the image to fit; a thin plate spline (3 GCPs) passes through "
            "every GCP exactly.",
        )
        self.add(
            QgsProcessingParameterCrs(self.TARGET_CRS, self.tr("Target CRS"), optional=True),
            "The CRS of the output. Empty: the CRS named on the GCP file's #CRS line. When the "
            "GCP file has no #CRS line, its map coordinates are taken to be in this CRS.",
        )
        self.add(
            params.enum_param(self, self.RESAMPLING, "Resampling", RESAMPLINGS),
            "How pixels are interpolated when the scan is warped (not used by polynomial 1 in "
            "the GCPs' own CRS, which does not resample).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Georeferenced scan")),
            "The georeferenced GeoTIFF (.tif).",
        )
        self.addOutput(QgsProcessingOutputNumber(self.RMS_PX, self.tr("RMS error (pixels)")))

    def execute(self, parameters, context, feedback):
        (source,) = self.raster_paths(parameters, self.INPUT, context)
        points = self.parameterAsFile(parameters, self.GCP_POINTS, context) or f"{source}.points"
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        result = georef.georeference(
            source,
            points,
            self.parameterAsOutputLayer(parameters, self.OUTPUT, context),
            transform=params.enum_value(self, parameters, self.TRANSFORM, context, TRANSFORMS),
            target_crs=_wkt(crs),
            resampling=params.enum_value(self, parameters, self.RESAMPLING, context, RESAMPLINGS),
            feedback=feedback,
        )
        feedback.pushInfo(georef.residual_table(result))
        return {self.OUTPUT: result.path, self.RMS_PX: result.rms_px}


def _wkt(crs):
    if not crs.isValid():
        return None
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED_GDAL)
