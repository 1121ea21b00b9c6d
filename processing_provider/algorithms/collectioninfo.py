"""ls4:collectioninfo — the names a collection is published under, and what its index holds."""

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import keys, publish
from .. import params
from ..base import Ls4Algorithm


class CollectionInfo(Ls4Algorithm):
    NAME = "collectioninfo"
    DISPLAY_NAME = "Collection info"
    SETTINGS = ("database",)
    HELP = (
        "Says what a collection is called (collection name, tile index table, mapfile key, WMS "
        "URL) and whether it is already published: the number of frames in its PostGIS tile "
        "index, and for each frame its file name, COG location, download links and the URL of its "
        "STAC item (when LS4 settings write STAC), and the band layout the table holds (bw or nc; "
        "empty while nothing is published): a collection has one. PUBLIC_READ says whether the "
        "bucket's policy makes the public stages readable by anyone (empty: S3 cannot tell). "
        "A collection whose table does not exist has no frames. COUNTY_STATUS says how the "
        "county list of LS4 settings judges the county: listed; published (not on the list, "
        "taken because a collection is already published under it, as the publishing "
        "algorithms take it); refused (not on the list and nothing published: the publishing "
        "algorithms refuse it, COUNTY_MESSAGE names the closest names); empty for a "
        "multi-county mission. Nothing is changed."
    )
    # a county off the list is looked up, not refused: its standing is an output
    REFUSES_OFF_LIST_COUNTY = False
    OUTPUTS = (
        (QgsProcessingOutputString, "COLLECTION", "Collection"),
        (QgsProcessingOutputString, "TABLE", "Tile index table"),
        (QgsProcessingOutputString, "MAPFILE_KEY", "Mapfile key"),
        (QgsProcessingOutputString, "WMS_URL", "WMS URL"),
        (QgsProcessingOutputBoolean, "EXISTS", "Tile index table exists"),
        (QgsProcessingOutputNumber, "FRAME_COUNT", "Frames in the tile index"),
        (QgsProcessingOutputString, "FRAMES", "Frames (JSON)"),
        (QgsProcessingOutputString, "BAND_LAYOUT", "Band layout it is published with"),
        (QgsProcessingOutputString, "PUBLIC_READ", "Bucket's public stages public (yes/no)"),
        (QgsProcessingOutputString, "COUNTY", "County as keys spell it"),
        (
            QgsProcessingOutputString,
            "COUNTY_STATUS",
            "County on the county list (listed, published or refused)",
        ),
        (QgsProcessingOutputString, "COUNTY_MESSAGE", "Why a county off the list is refused"),
    )

    def initAlgorithm(self, config=None):
        params.add_collection_params(self, with_band=False)
        params.add_database_param(self)
        for output_class, name, description in self.OUTPUTS:
            self.addOutput(output_class(name, self.tr(description)))

    def execute(self, parameters, context, feedback):
        form = params.form_from(self, parameters, context, off_list=False)
        collection = keys.collection_from_form(form)
        info = publish.collection_info(
            params.dsn_from(self, parameters, context),
            collection,
            settings.s3_config,
            bool(settings.value("stac/enabled")),
            settings.value("mapserver/wms_url_template"),
            feedback,
        )
        status, message = params.county_standing(form[params.COUNTY], bool(info.band_layout))
        if status == "published":
            feedback.pushInfo(f"{message}; taken: {collection.name} is published under it")
        return {
            "COUNTY": (info.county if status == "published" else collection.county) or "",
            "COUNTY_STATUS": status,
            "COUNTY_MESSAGE": message,
            "COLLECTION": collection.name,
            "TABLE": collection.table,
            "MAPFILE_KEY": collection.mapfile_key,
            "WMS_URL": info.wms_url,
            "EXISTS": info.exists,
            "FRAME_COUNT": len(info.frames),
            "FRAMES": json.dumps(info.frames),
            "BAND_LAYOUT": info.band_layout,
            "PUBLIC_READ": info.public_read,
        }
