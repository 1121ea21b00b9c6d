"""ls4:compileindexes — every collection's footprints in one public GeoJSON (EPSG:4326)."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import compiled_index, publish
from .. import params
from ..base import Ls4Algorithm


class CompileIndexes(Ls4Algorithm):
    NAME = "compileindexes"
    DISPLAY_NAME = "Compile the index of all collections"
    GROUP = "Operations"
    GROUP_ID = "operations"
    HELP = (
        "Writes the footprints of every collection's tile index into one GeoJSON "
        "FeatureCollection in EPSG:4326, one feature per frame with the table name, the "
        "collection in words and the download links (dl_orig, dl_georef, dl_index), and uploads "
        "it, public, to geojson/compiled_historical_indexes.geojson in the bucket of LS4 "
        "settings. Rows are streamed, so the size of the estate does not matter; the file and "
        "the public object are replaced only once the new file is complete."
    )
    OUTPUT, UPLOAD = "OUTPUT", "UPLOAD"

    def initAlgorithm(self, config=None):
        params.add_database_param(self)
        self.add(
            QgsProcessingParameterBoolean(
                self.UPLOAD, self.tr("Upload as the public compiled index"), defaultValue=True
            ),
            "On: replace geojson/compiled_historical_indexes.geojson in the bucket with the new "
            "file. Off: only write OUTPUT.",
        )
        self.add(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Compiled index"), "GeoJSON (*.geojson)"
            ),
            "The GeoJSON file written (EPSG:4326).",
        )
        self.addOutput(QgsProcessingOutputNumber("FEATURES", self.tr("Footprints written")))
        self.addOutput(QgsProcessingOutputNumber("TABLES", self.tr("Collections compiled")))
        self.addOutput(QgsProcessingOutputString("URL", self.tr("Public URL")))

    def settings_needed(self, parameters, context):
        upload = self.parameterAsBool(parameters, self.UPLOAD, context)
        return ("s3", "database") if upload else ("database",)

    def execute(self, parameters, context, feedback):
        upload = self.parameterAsBool(parameters, self.UPLOAD, context)
        target = publish.Target(
            s3=settings.s3_config() if upload else None,
            dsn=params.dsn_from(self, parameters, context),
            wms_url_template=settings.value("mapserver/wms_url_template"),
            pg_timeouts=settings.pg_timeouts(),
        )
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        result = compiled_index.compile_indexes(target, output, upload, feedback)
        return {
            self.OUTPUT: result.path,
            "FEATURES": result.features,
            "TABLES": result.tables,
            "URL": result.url,
        }
