"""``ls4:inspectraster``: what a raster is, in the terms LS4 publishes by."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
)

from ...ls4_plugin.core.rasterinfo import inspect_raster
from .. import params
from ..base import Ls4Algorithm


class InspectRaster(Ls4Algorithm):
    NAME = "inspectraster"
    DISPLAY_NAME = "Inspect raster"
    GROUP = "Raster stages"
    GROUP_ID = "rasterstages"
    HELP = (
        "Reports what a raster is in the terms LS4 publishes by: band layout (bw or nc, or why "
        "neither), data type, size, CRS, georeferencing (geotransform, GCPs or none), NoData per "
        "band and whether the band type can hold it, mask or alpha, compression, tiling, "
        "overviews, and whether the file is a valid Cloud Optimized GeoTIFF by GDAL's rules. "
        "A file that is missing, empty, not a raster or truncated is an error naming the problem."
    )

    INPUT = "INPUT"
    FILE_INPUTS = (INPUT,)
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFile(self.INPUT, self.tr("Raster")),
            "The raster to inspect: a layer of the project or a file.",
        )
        self.add(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_REPORT,
                self.tr("Report file"),
                self.tr("JSON (*.json);;Text (*.txt);;HTML (*.html)"),
                optional=True,
                createByDefault=False,
            ),
            "Where to write the report: JSON (.json) for scripts, text (.txt) or HTML (.html) for "
            "people. Leave empty to skip; the report is always shown in the log.",
        )
        outputs = [
            (QgsProcessingOutputString, "BAND_LAYOUT", "Band layout (bw, nc, or empty)"),
            (QgsProcessingOutputString, "CRS", "CRS (EPSG:code, or empty)"),
            (QgsProcessingOutputString, "GEOREFERENCING", "Georeferencing kind"),
            (QgsProcessingOutputString, "NODATA_PROBLEM", "NoData problem (empty when none)"),
            (QgsProcessingOutputBoolean, "IS_COG", "Valid Cloud Optimized GeoTIFF"),
            (QgsProcessingOutputString, "REPORT", "Report (JSON)"),
        ]
        for output_class, name, description in outputs:
            self.addOutput(output_class(name, self.tr(description)))

    def execute(self, parameters, context, feedback):
        return self.inspect(parameters, context, feedback)

    def inspect(self, parameters, context, feedback):
        report = inspect_raster(self._source(parameters, context))
        feedback.pushInfo(report.to_text())
        results = {
            "BAND_LAYOUT": report.band_layout or "",
            "CRS": report.authid,
            "GEOREFERENCING": report.georeferencing,
            "NODATA_PROBLEM": report.nodata_problem,
            "IS_COG": report.is_cog,
            "REPORT": report.to_json(),
        }
        destination = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        if destination and destination != QgsProcessing.TEMPORARY_OUTPUT:
            report.save(destination)
            results[self.OUTPUT_REPORT] = destination
        return results

    def _source(self, parameters, context):
        return self.raster_paths(parameters, self.INPUT, context)[0]
