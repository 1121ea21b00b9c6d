"""``ls4:inspectraster``: what a raster is, in the terms LS4 publishes by."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
)

from ...ls4_plugin.core.errors import InputError
from ...ls4_plugin.core.rasterinfo import inspect_raster
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
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        self.add(
            QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Raster")),
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

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """As QGIS's, except that a file QGIS cannot load as a layer reaches the core.

        QGIS would only say "Could not load source layer ... not found" for a text file or a
        truncated TIFF; the core says what is wrong with it.
        """
        for definition in self.parameterDefinitions():
            value = parameters.get(definition.name())
            if definition.name() == self.INPUT and isinstance(value, str) and value.strip():
                continue
            if not definition.checkValueIsAcceptable(value, context):
                return False, self.tr("Incorrect parameter value for {}").format(definition.name())
        return True, ""

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
        """The raster's file, also when QGIS cannot load it, so that the core says what is wrong."""
        value = parameters.get(self.INPUT)
        if isinstance(value, str) and not QgsProcessingUtils.mapLayerFromString(
            value, context, allowLoadingNewLayers=False
        ):
            # a file: GDAL reads it as it is, with no QGIS layer loaded (which would compute
            # statistics and write them to a .aux.xml beside the file)
            return value
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is not None and layer.providerType() != "gdal":
            raise InputError(f"{layer.name()}: a {layer.providerType()} layer, not a raster file")
        if layer is not None:
            return layer.source()
        return self.parameterAsString(parameters, self.INPUT, context)
