"""ls4:writestac — a collection's STAC (Items, Collection, root Catalog, pgSTAC) from its tile
index, for collections published before LS4 wrote STAC."""

import dataclasses

from qgis.core import QgsProcessingOutputNumber, QgsProcessingOutputString

from ...ls4_plugin.core import stac, storage
from .. import params
from ..base import Ls4Algorithm


class WriteStac(Ls4Algorithm):
    NAME = "writestac"
    DISPLAY_NAME = "Write STAC catalog"
    SETTINGS = params.TARGET
    HELP = (
        "Writes the STAC of a collection from its tile index: one STAC Item per row (footprint "
        "in EPSG:4326, the COG, its georeferenced upload and scan as assets with size and "
        "SHA-256, projection and bands, a thumbnail, links to the WMS), Items of frames no "
        "longer in the index removed, the STAC Collection (extent from its items) and the root "
        "Catalog, all under stac/ in the bucket (public). Objects whose content has not changed "
        "are not rewritten. With 'Load into pgSTAC', the same goes into pgSTAC. Publishing "
        "writes all of this itself; this algorithm is for collections published before."
    )

    def initAlgorithm(self, config=None):
        # The table is named without the band layout; the band comes from the rows' COG keys.
        params.add_collection_params(self, with_band=False)
        params.add_database_param(self)
        params.add_pgstac_param(self)
        for name, description in (
            ("COLLECTION_URL", "STAC Collection URL"),
            ("CATALOG_URL", "STAC root Catalog URL"),
        ):
            self.addOutput(QgsProcessingOutputString(name, self.tr(description)))
        for name, description in (
            ("WRITTEN", "Items written"),
            ("UNCHANGED", "Items unchanged"),
            ("REMOVED", "Items removed"),
            ("FAILED", "Items that could not be written"),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(description)))

    def execute(self, parameters, context, feedback):
        named = params.collection_from(self, parameters, context, band="bw")
        target = params.target_from(self, parameters, context)
        # This algorithm writes STAC whatever the publishing setting says.
        target = dataclasses.replace(target, stac=dataclasses.replace(target.stac, enabled=True))
        collection, counts, outcome = stac.rebuild(target, named.table, feedback)
        for part, state in outcome.items():
            feedback.pushInfo(f"{part}: {state}")
        return {
            "COLLECTION_URL": storage.public_url(target.s3, stac.collection_key(collection.name)),
            "CATALOG_URL": storage.public_url(target.s3, stac.CATALOG_KEY),
            "WRITTEN": counts["written"],
            "UNCHANGED": counts["unchanged"],
            "REMOVED": counts["removed"],
            "FAILED": counts["failed"],
        }
