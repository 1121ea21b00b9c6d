"""ls4:makecog — a georeferenced image to an EPSG:3857 Cloud Optimized GeoTIFF."""

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
)

from ...ls4_plugin.core import cog
from .. import params
from ..base import Ls4Algorithm

RESAMPLINGS = [
    ("nearest", "Nearest neighbour"),
    ("bilinear", "Bilinear"),
    ("cubic", "Cubic"),
    ("cubicspline", "Cubic spline"),
    ("lanczos", "Lanczos"),
    ("average", "Average"),
    ("mode", "Mode"),
]


class MakeCog(Ls4Algorithm):
    NAME = "makecog"
    DISPLAY_NAME = "Make COG (EPSG:3857)"
    GROUP = "Raster stages"
    GROUP_ID = "rasterstages"
    HELP = (
        "Turns a georeferenced image (by geotransform or GCPs, in any CRS) into a Cloud "
        "Optimized GeoTIFF in EPSG:3857, in one pass with no full-size intermediate file: tiles "
        "of 512, overviews by averaging down to one tile, bw in lossless DEFLATE and nc in JPEG "
        "YCbCr by default. The collar (outside the image, and the input's NoData or alpha) "
        "becomes an internal mask, so it is transparent in the WMS. An image already in "
        "EPSG:3857 is not warped. The output is checked as ls4:validatecog does."
    )

    INPUT = "INPUT"
    FILE_INPUTS = (INPUT,)
    BAND_LAYOUT = "BAND_LAYOUT"
    COMPRESSION = "COMPRESSION"
    QUALITY = "QUALITY"
    RESAMPLING = "RESAMPLING"
    THREADS = "THREADS"
    OUTPUT = "OUTPUT"
    VALID = "VALID"
    VALIDATION = "VALIDATION"

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFile(self.INPUT, self.tr("Georeferenced image")),
            "The georeferenced frame, index sheet or mosaic: a geotransform or GCPs, any CRS.",
        )
        self.add(
            params.enum_param(self, self.BAND_LAYOUT, "Band layout", params.COG_BAND_LAYOUTS),
            "Auto takes 1 Byte band as bw and 3 Byte bands as nc (an alpha band marks the "
            "collar); anything else must be set here. bw uses band 1, nc bands 1 to 3; other "
            "data types than Byte are stretched to 8 bits from their minimum and maximum.",
        )
        self.add(
            params.enum_param(self, self.COMPRESSION, "Compression", params.COG_COMPRESSIONS),
            "Auto is LS4's rule: DEFLATE with a predictor for bw, JPEG in YCbCr for nc.",
        )
        self.add(
            QgsProcessingParameterNumber(
                self.QUALITY,
                self.tr("JPEG/WEBP quality"),
                defaultValue=85,
                minValue=1,
                maxValue=100,
            ),
            "Quality of JPEG and WEBP compression, 1 to 100 (LS4 publishes nc at 85).",
            advanced=True,
        )
        self.add(
            params.enum_param(self, self.RESAMPLING, "Warp resampling", RESAMPLINGS),
            "How pixels are taken when the image is warped to EPSG:3857. Nearest neighbour keeps "
            "the scanned values, as the old chain did. Overviews are always averaged.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterNumber(
                self.THREADS, self.tr("Threads"), defaultValue=0, minValue=0, maxValue=256
            ),
            "Threads for the warp, the overviews and the compression; 0 uses every CPU.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("COG")),
            "The Cloud Optimized GeoTIFF to write (.tif).",
        )
        self.addOutput(QgsProcessingOutputBoolean(self.VALID, self.tr("Valid LS4 COG")))
        self.addOutput(QgsProcessingOutputString(self.VALIDATION, self.tr("Validation (JSON)")))

    def execute(self, parameters, context, feedback):
        (source,) = self.raster_paths(parameters, self.INPUT, context)
        result = cog.make_cog(
            source,
            self.parameterAsOutputLayer(parameters, self.OUTPUT, context),
            band_layout=params.enum_value(
                self, parameters, self.BAND_LAYOUT, context, params.COG_BAND_LAYOUTS
            ),
            compression=params.enum_value(
                self, parameters, self.COMPRESSION, context, params.COG_COMPRESSIONS
            ),
            quality=self.parameterAsInt(parameters, self.QUALITY, context),
            resampling=params.enum_value(self, parameters, self.RESAMPLING, context, RESAMPLINGS),
            threads=self.parameterAsInt(parameters, self.THREADS, context) or None,
            feedback=feedback,
        )
        validation = result.validation
        feedback.pushInfo(validation.to_text())
        report = {"errors": validation.errors, "warnings": validation.warnings}
        report.update(details=validation.details, nodata_warning=result.nodata_warning)
        return {
            self.OUTPUT: result.path,
            self.VALID: validation.valid,
            self.VALIDATION: json.dumps(report, default=str),
        }
