"""ls4:applypublicpolicy — make the public stages of the bucket readable by anyone."""

import json

from qgis.core import QgsProcessingOutputString

from ...ls4_plugin import settings
from ...ls4_plugin.core import storage
from ..base import Ls4Algorithm


class ApplyPublicPolicy(Ls4Algorithm):
    NAME = "applypublicpolicy"
    DISPLAY_NAME = "Apply public-read bucket policy"
    SETTINGS = ("s3",)
    HELP = (
        "Puts the bucket policy that lets anyone read the public stages (scanned/, georef/, cog/ "
        "of every collection, and geojson/) of the bucket in LS4 settings. Everything else, "
        "mapfiles included, stays private. Replaces the bucket's current policy."
    )

    def initAlgorithm(self, config=None):
        self.addOutput(QgsProcessingOutputString("POLICY", self.tr("Policy applied (JSON)")))

    def execute(self, parameters, context, feedback):
        config = settings.s3_config()
        policy = storage.apply_public_policy(config)
        feedback.pushInfo(f"Public-read policy applied to bucket {config.bucket}")
        return {"POLICY": json.dumps(policy)}
