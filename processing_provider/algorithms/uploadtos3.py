"""ls4:uploadtos3 — files to their keys under the shared layout."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterMultipleLayers,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import keys, publish
from .. import params
from ..base import Ls4Algorithm


class UploadToS3(Ls4Algorithm):
    NAME = "uploadtos3"
    DISPLAY_NAME = "Upload to S3"
    SETTINGS = ("s3",)
    HELP = (
        "Uploads files to the collection's folder for a stage: scanned (raw scans, for download), "
        "georef (georeferenced uploads) or cog (published COGs). Keys follow the shared layout "
        "<band>/<County>/<Agency>_<YYYY>/<type>/<stage>/<file>. File names are checked before the "
        "first upload; a file already there with the same content is not sent again."
    )
    INPUT, STAGE = "INPUT", "STAGE"

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterMultipleLayers(
                self.INPUT, self.tr("Files"), QgsProcessing.SourceType.TypeFile
            ),
            "The files to upload, named by the collection's file-name rules.",
        )
        params.add_collection_params(self)
        self.add(
            params.enum_param(self, self.STAGE, "Stage", keys.STAGES),
            "scanned, georef or cog: the folder of the collection the files go to.",
        )
        self.addOutput(QgsProcessingOutputString("KEYS", self.tr("Keys (one per line)")))

    def execute(self, parameters, context, feedback):
        paths = self.parameterAsFileList(parameters, self.INPUT, context)
        collection = params.collection_from(self, parameters, context, paths)
        stage = params.enum_value(self, parameters, self.STAGE, context, keys.STAGES)
        done = publish.upload_stage(settings.s3_config(), collection, stage, paths, feedback)
        for path, key, status in done:
            feedback.pushInfo(f"{status}: {path} → {key}")
        return {"KEYS": "\n".join(key for _path, key, _status in done)}
