"""ls4:collectioninfo — the names a collection is published under, and what its index holds."""

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import publish, stac, storage, tileindex
from ...ls4_plugin.core.errors import Ls4Error
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
        "A collection whose table does not exist has no frames. Nothing is changed."
    )
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
    )

    def initAlgorithm(self, config=None):
        params.add_collection_params(self, with_band=False)
        params.add_database_param(self)
        for output_class, name, description in self.OUTPUTS:
            self.addOutput(output_class(name, self.tr(description)))

    def execute(self, parameters, context, feedback):
        collection = params.collection_name_from(self, parameters, context)
        dsn = params.dsn_from(self, parameters, context)
        exists, frames = publish.published_frames(dsn, collection)
        stored = None
        if exists:
            with tileindex.connect(dsn) as conn:
                stored = publish.stored_collection(conn, collection.table)
        for frame in frames:
            frame["stac_item"] = stac_item_url(collection.name, frame["file"])
        state = f"{len(frames)} frame(s) in the index" if exists else "no tile index table yet"
        feedback.pushInfo(f"{collection.name}: {state}")
        return {
            "COLLECTION": collection.name,
            "TABLE": collection.table,
            "MAPFILE_KEY": collection.mapfile_key,
            "WMS_URL": wms_url(collection.name),
            "EXISTS": exists,
            "FRAME_COUNT": len(frames),
            "FRAMES": json.dumps(frames),
            "BAND_LAYOUT": stored.band if stored is not None else "",
            "PUBLIC_READ": public_read(feedback),
        }


def public_read(feedback):
    """ "yes" when the bucket's policy lets anyone read the public stages, "no" when it does
    not (published COGs and download links answer 403), "" when S3 cannot tell."""
    try:
        missing = storage.missing_public_read(settings.s3_config())
    except Ls4Error as error:
        feedback.pushInfo(f"Public read of the bucket not checked: {error}")
        return ""
    return "no" if missing else "yes"


def stac_item_url(name, filename):
    """The public URL of a frame's STAC item, or "" when LS4 settings write no STAC."""
    if not settings.value("stac/enabled"):
        return ""
    try:
        config = settings.s3_config()
    except Ls4Error:
        return ""
    return storage.public_url(config, stac.item_key(name, stac.frame_stem(filename)))


def wms_url(name):
    template = settings.value("mapserver/wms_url_template")
    return template.format(collection=name) if "{collection}" in template else ""
