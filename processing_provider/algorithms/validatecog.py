"""ls4:validatecog — is a file a COG LS4 can publish?"""

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
)

from ...ls4_plugin.core.validate import validate_cog
from .. import params
from ..base import Ls4Algorithm


class ValidateCog(Ls4Algorithm):
    NAME = "validatecog"
    DISPLAY_NAME = "Validate COG"
    GROUP = "Raster stages"
    GROUP_ID = "rasterstages"
    HELP = (
        "Checks a GeoTIFF against the COG layout rules GDAL's validator applies (tiling, "
        "overviews by decreasing size, IFDs before the imagery, no external overviews) and "
        "LS4's own: EPSG:3857 north up, tiles of 512, overviews down to one tile, 8-bit, the "
        "compression of the band layout (bw: DEFLATE with predictor, nc: JPEG YCbCr) and an "
        "internal mask with overviews when there is a collar. VALID is true when no error is "
        "found; the report lists errors, warnings and what was found."
    )

    INPUT = "INPUT"
    FILE_INPUTS = (INPUT,)
    BAND_LAYOUT = "BAND_LAYOUT"
    COMPRESSION = "COMPRESSION"
    VALID = "VALID"
    ERRORS = "ERRORS"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFile(self.INPUT, self.tr("COG")),
            "The GeoTIFF to check: a layer of the project or a file.",
        )
        self.add(
            params.enum_param(
                self, self.BAND_LAYOUT, "Band layout it must have", params.COG_BAND_LAYOUTS
            ),
            "Auto tells the layout from the bands (1: bw, 3: nc); bw or nc requires it.",
        )
        self.add(
            params.enum_param(
                self, self.COMPRESSION, "Compression it must use", params.COG_COMPRESSIONS
            ),
            "Auto is LS4's rule for the band layout; another choice requires that one.",
            advanced=True,
        )
        self.addOutput(QgsProcessingOutputBoolean(self.VALID, self.tr("Valid LS4 COG")))
        self.addOutput(QgsProcessingOutputString(self.ERRORS, self.tr("Errors")))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Report (JSON)")))

    def execute(self, parameters, context, feedback):
        result = validate_cog(
            self.raster_paths(parameters, self.INPUT, context)[0],
            band_layout=params.enum_value(
                self, parameters, self.BAND_LAYOUT, context, params.COG_BAND_LAYOUTS
            ),
            compression=params.enum_value(
                self, parameters, self.COMPRESSION, context, params.COG_COMPRESSIONS
            ),
        )
        feedback.pushInfo(result.to_text())
        report = {"valid": result.valid, "errors": result.errors, "warnings": result.warnings}
        report["details"] = result.details
        return {
            self.VALID: result.valid,
            self.ERRORS: "; ".join(result.errors),
            self.REPORT: json.dumps(report, default=str),
        }
