"""ls4:framefootprint — the outline of a frame's valid pixels, as the tile index records it."""

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsWkbTypes,
)

from ...ls4_plugin.compat import field
from ...ls4_plugin.core import footprint
from .. import params
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
    FILE_INPUTS = (INPUT,)  # also GDAL virtual paths (/vsicurl/, /vsis3/), which QGIS won't load

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFile(self.INPUT, self.tr("Frame")),
            "A georeferenced frame: a file, a project layer, or a COG GDAL reads remotely "
            "(/vsicurl/https://…, /vsis3/bucket/key).",
        )
        self.add(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Footprint"), QgsProcessing.SourceType.TypeVectorPolygon
            ),
            "One polygon in EPSG:3857 with the frame's file name and area (square metres of the "
            "EPSG:3857 plane).",
        )
        self.addOutput(QgsProcessingOutputNumber(self.AREA, self.tr("Area (EPSG:3857 units²)")))

    def execute(self, parameters, context, feedback):
        (source,) = self.raster_paths(parameters, self.INPUT, context)
        wkt, area = footprint.valid_footprint(source)
        fields = QgsFields()
        fields.append(field("file", "string"))
        fields.append(field("area", "double"))
        sink, destination = self.parameterAsSink(
            parameters,
            self.OUTPUT,
            context,
            fields,
            QgsWkbTypes.Type.MultiPolygon,
            QgsCoordinateReferenceSystem("EPSG:3857"),
        )
        feature = QgsFeature(fields)
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([os.path.basename(source), area])
        sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        feedback.pushInfo(f"{source}: footprint of {area:.0f} m² (EPSG:3857)")
        return {self.OUTPUT: destination, self.AREA: area}
