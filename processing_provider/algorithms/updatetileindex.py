"""ls4:updatetileindex — COGs already on S3 → rows of the collection's tile index."""

from qgis.core import QgsProcessing, QgsProcessingOutputNumber

from ...ls4_plugin.core import publish
from .. import params
from ..base import Ls4Algorithm


class UpdateTileIndex(Ls4Algorithm):
    NAME = "updatetileindex"
    DISPLAY_NAME = "Update tile index"
    SETTINGS = params.TARGET
    HELP = (
        "Records COGs in the collection's PostGIS tile index: one row per COG with its footprint "
        "(the outline of its valid pixels, in EPSG:3857) and the download links. Each COG must "
        "already be on S3 under the collection's cog/ folder. Adding a COG is one upsert: rows of "
        "other frames are never touched, and adding the same COG again changes nothing."
    )
    INPUT = "INPUT"
    FILE_INPUTS = (INPUT,)

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFiles(self.INPUT, self.tr("COGs"), QgsProcessing.SourceType.TypeRaster),
            "Local copies of the COGs uploaded to the collection's cog/ folder.",
        )
        params.add_collection_params(self)
        params.add_database_param(self)
        for name in ("INSERTED", "UPDATED", "UNCHANGED"):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(f"Rows {name.lower()}")))

    def execute(self, parameters, context, feedback):
        paths = self.raster_paths(parameters, self.INPUT, context)
        collection = params.collection_from(self, parameters, context, paths)
        target = params.target_from(self, parameters, context)
        counts = publish.index_cogs(target, collection, paths, feedback)
        return {name.upper(): count for name, count in counts.items()}
