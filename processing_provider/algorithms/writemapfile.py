"""ls4:writemapfile — the collection's MapServer mapfile, from its tile index."""

from qgis.core import QgsProcessingException, QgsProcessingOutputString

from ...ls4_plugin.core import publish
from .. import params
from ..base import Ls4Algorithm


class WriteMapfile(Ls4Algorithm):
    NAME = "writemapfile"
    DISPLAY_NAME = "Write mapfile"
    SETTINGS = params.TARGET
    HELP = (
        "Writes the collection's MapServer mapfile from its tile index (extent, raster layer, "
        "index layer answering GetFeatureInfo, WMS metadata), validates it with mappyfile and "
        "publishes it to mapfiles/<collection>.map in the bucket and to the MapServer map folder "
        "of LS4 settings. The mapfile carries no password or key."
    )

    def initAlgorithm(self, config=None):
        params.add_collection_params(self, with_band=False)
        params.add_database_param(self)
        self.addOutput(QgsProcessingOutputString("MAPFILE_KEY", self.tr("Mapfile key")))
        self.addOutput(QgsProcessingOutputString("WMS_URL", self.tr("WMS URL")))

    def execute(self, parameters, context, feedback):
        # The table names the collection; its band layout (the WMS title's) is the recorded one.
        collection = params.collection_name_from(self, parameters, context)
        target = params.target_from(self, parameters, context)
        key = publish.publish_mapfile(target, collection)
        if not key:
            raise QgsProcessingException(
                f"The tile index {collection.table} is empty or missing: no mapfile written"
            )
        feedback.pushInfo(f"Mapfile published to {key}; WMS at {target.wms_url(collection)}")
        return {"MAPFILE_KEY": key, "WMS_URL": target.wms_url(collection)}
