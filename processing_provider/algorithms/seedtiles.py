"""ls4:seedtiles — fill a collection's tile cache for chosen zoom levels."""

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterNumber,
)

from ...ls4_plugin.core import tileindex, tiles
from .. import params
from ..base import Ls4Algorithm

MAX_TILES = 200_000  # a seeding run that large is a mistake in the zoom levels


class SeedTiles(Ls4Algorithm):
    NAME = "seedtiles"
    DISPLAY_NAME = "Seed tile cache"
    SETTINGS = params.TARGET
    HELP = (
        "Asks the collection's tile service (MapProxy beside its WMS, /tiles/<collection>) for "
        "every tile over the collection at the zoom levels from ZOOM_MIN to ZOOM_MAX, so that "
        "they are cached and the first visitor of a map does not wait for MapServer. Progress "
        "per batch of tiles; Cancel stops between batches. Publishing a frame later refreshes "
        "only the cached tiles over that frame."
    )
    ZOOM_MIN, ZOOM_MAX = "ZOOM_MIN", "ZOOM_MAX"

    def initAlgorithm(self, config=None):
        params.add_collection_params(self, with_band=False)
        params.add_database_param(self)
        for name, label, default in (
            (self.ZOOM_MIN, "Lowest zoom level", 10),
            (self.ZOOM_MAX, "Highest zoom level", 16),
        ):
            self.add(
                QgsProcessingParameterNumber(
                    name,
                    self.tr(label),
                    QgsProcessingParameterNumber.Integer,
                    defaultValue=default,
                    minValue=0,
                    maxValue=tiles.NUM_LEVELS - 1,
                ),
                f"{label} of the web map grid (EPSG:3857, 256-pixel tiles; 0 is the world).",
            )
        self.addOutput(QgsProcessingOutputNumber("TILES", self.tr("Tiles asked for")))
        self.addOutput(QgsProcessingOutputNumber("FAILED", self.tr("Tiles that failed")))
        self.addOutput(QgsProcessingOutputString("XYZ_URL", self.tr("XYZ template")))

    def execute(self, parameters, context, feedback):
        collection = params.collection_from(self, parameters, context, band="bw")
        target = params.target_from(self, parameters, context)
        low = self.parameterAsInt(parameters, self.ZOOM_MIN, context)
        high = self.parameterAsInt(parameters, self.ZOOM_MAX, context)
        if low > high:
            raise QgsProcessingException(f"ZOOM_MIN {low} is above ZOOM_MAX {high}")
        with target.connect() as conn:
            extent = tileindex.extent(conn, collection.table)
        if extent is None:
            raise QgsProcessingException(f"The tile index {collection.table} is empty")
        zooms = range(low, high + 1)
        count = sum(
            (x1 - x0 + 1) * (y1 - y0 + 1)
            for x0, x1, y0, y1 in (tiles.tile_range(extent, zoom) for zoom in zooms)
        )
        if count > MAX_TILES:
            raise QgsProcessingException(
                f"{count} tiles at zoom {low}-{high}: more than {MAX_TILES}; lower ZOOM_MAX"
            )
        template = tiles.service_urls(target.wms_url(collection), collection.name)["xyz"]
        feedback.pushInfo(f"Seeding {count} tiles of {collection.name} at zoom {low}-{high}")
        done = tiles.seed(template, extent, zooms, feedback)
        return {"TILES": done["tiles"], "FAILED": done["failed"], "XYZ_URL": template}
