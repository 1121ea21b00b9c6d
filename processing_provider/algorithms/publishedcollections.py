"""ls4:publishedcollections — the collections the tile index records, and their agencies."""

import json

from qgis.core import QgsProcessingOutputNumber, QgsProcessingOutputString

from ...ls4_plugin.core import publish
from .. import params
from ..base import Ls4Algorithm


class PublishedCollections(Ls4Algorithm):
    NAME = "publishedcollections"
    DISPLAY_NAME = "Published collections"
    SETTINGS = ("database",)
    HELP = (
        "Lists the collections published in the PostgreSQL database, as their tile index tables "
        "record them (the S3 prefix of their first publish: band layout, county, agency, year or "
        "mission code, type), and the agencies among them once each, as the collections spell "
        "them (the dock offers these as one types an agency). One query over the database's "
        "catalogue; tables published before LS4 recorded what a table holds are not listed. "
        "Nothing is changed."
    )

    def initAlgorithm(self, config=None):
        params.add_database_param(self)
        self.addOutput(QgsProcessingOutputString("COLLECTIONS", self.tr("Collections (JSON)")))
        self.addOutput(
            QgsProcessingOutputString("AGENCIES", self.tr("Agencies, one a line, as spelt"))
        )
        self.addOutput(QgsProcessingOutputNumber("COUNT", self.tr("Collections listed")))

    def execute(self, parameters, context, feedback):
        found = publish.published_collections(params.dsn_from(self, parameters, context), feedback)
        listed = [
            {
                "collection": collection.name,
                "prefix": collection.prefix(),
                "band": collection.band,
                "county": collection.county or "",
                "agency": collection.agency,
                "year": collection.year or "",
                "mission": collection.mission or "",
                "type": collection.type,
            }
            for collection in found
        ]
        return {
            "COLLECTIONS": json.dumps(listed),
            "AGENCIES": "\n".join(publish.agencies_of(found)),
            "COUNT": len(found),
        }
