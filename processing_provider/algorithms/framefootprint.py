"""ls4:framefootprint — the outline of a frame's valid pixels, as the tile index records it."""

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ...ls4_plugin.core import footprint
from ..base import Ls4Algorithm


class FrameFootprint(Ls4Algorithm):
    NAME = "framefootprint"
    DISPLAY_NAME = "Frame footprint"
    GROUP = "Raster stages"
    GROUP_ID = "rasterstages"
    HELP = (
        "Draws the footprint of a georeferenced frame: the outline of its valid pixels, without "
        "the no-data collar, in EPSG:3857, exactly as publishing records it in the tile index. "
        "Use it to check a frame before publishing it."
    )
    INPUT, OUTPUT, AREA = "INPUT", "OUTPUT", "AREA"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(
            QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Frame")),
            "A georeferenced frame: a file, a project layer, or a COG GDAL reads remotely "
            "(/vsicurl/https://…, /vsis3/bucket/key).",
        )
        self.add(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Footprint"), QgsProcessing.TypeVectorPolygon
            ),
            "One polygon in EPSG:3857 with the frame's file name and area (square metres of the "
            "EPSG:3857 plane).",
        )
        self.addOutput(QgsProcessingOutputNumber(self.AREA, self.tr("Area (EPSG:3857 units²)")))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        # QGIS loads no layer from a GDAL virtual path (/vsicurl/, /vsis3/): GDAL reads it below
        if is_virtual(parameters.get(self.INPUT)):
            return True, ""
        return super().checkParameterValues(parameters, context)

    def execute(self, parameters, context, feedback):
        source = self._source(parameters, context)
        wkt, area = footprint.valid_footprint(source)
        fields = QgsFields()
        fields.append(QgsField("file", QVariant.String))
        fields.append(QgsField("area", QVariant.Double))
        sink, destination = self.parameterAsSink(
            parameters,
            self.OUTPUT,
            context,
            fields,
            QgsWkbTypes.MultiPolygon,
            QgsCoordinateReferenceSystem("EPSG:3857"),
        )
        feature = QgsFeature(fields)
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([os.path.basename(source), area])
        sink.addFeature(feature, QgsFeatureSink.FastInsert)
        feedback.pushInfo(f"{source}: footprint of {area:.0f} m² (EPSG:3857)")
        return {self.OUTPUT: destination, self.AREA: area}

    def _source(self, parameters, context):
        if is_virtual(parameters.get(self.INPUT)):
            return parameters[self.INPUT]
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is not None:
            return layer.source()
        return self.parameterAsString(parameters, self.INPUT, context)


def is_virtual(value):
    """Whether ``value`` is a GDAL virtual file system path such as /vsicurl/https://…"""
    return isinstance(value, str) and value.startswith("/vsi")
