"""ls4:testconnections — S3, PostgreSQL and MapServer, each checked for real (core.connections)."""

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterProviderConnection,
    QgsProcessingParameterString,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import connections
from ...ls4_plugin.core.errors import Ls4Error
from ..base import Ls4Algorithm
from ..wms import fetch

# Where a parameter's default comes from: the LS4 setting of the same service.
SETTING_OF = {
    "S3_ENDPOINT": "s3/endpoint_url",
    "S3_REGION": "s3/region",
    "S3_BUCKET": "s3/bucket",
    "S3_AUTHCFG": "s3/authcfg",
    "DATABASE": "postgres/connection",
    "WMS_URL_TEMPLATE": "mapserver/wms_url_template",
}
SERVICES = ("S3", "POSTGRES", "MAPSERVER")
SERVICE_NAMES = {"S3": "S3", "POSTGRES": "PostgreSQL", "MAPSERVER": "MapServer"}
OUTPUTS = (
    (QgsProcessingOutputBoolean, "S3_OK", "S3 works"),
    (QgsProcessingOutputString, "S3_MESSAGE", "S3"),
    (QgsProcessingOutputBoolean, "POSTGRES_OK", "PostgreSQL works"),
    (QgsProcessingOutputString, "POSTGRES_MESSAGE", "PostgreSQL"),
    (QgsProcessingOutputBoolean, "MAPSERVER_OK", "MapServer works"),
    (QgsProcessingOutputString, "MAPSERVER_MESSAGE", "MapServer"),
    (QgsProcessingOutputBoolean, "S3_PUBLIC", "The public stages are public"),
    (QgsProcessingOutputString, "S3_PUBLIC_MESSAGE", "Public read"),
    (QgsProcessingOutputString, "FAILED", "Services that failed"),
    (QgsProcessingOutputString, "REPORT", "Report (JSON)"),
)


class TestConnections(Ls4Algorithm):
    __test__ = False  # a Processing algorithm, not a pytest test class

    NAME = "testconnections"
    DISPLAY_NAME = "Test connections"
    HELP = (
        "Checks each service LS4 publishes to, for real: S3 (the bucket answers a HEAD request "
        "with the credentials of the authentication configuration), PostgreSQL (the connection "
        "opens and PostGIS is installed) and MapServer (a WMS GetCapabilities request is answered "
        "by MapServer), and whether the bucket's policy makes the public stages readable by "
        "anyone (S3_PUBLIC; ls4:applypublicpolicy applies it). Every value defaults to LS4 "
        "settings. The algorithm does not fail when a "
        "service does: each result says whether it works and, if not, why."
    )

    def initAlgorithm(self, config=None):
        self._string("S3_ENDPOINT", "S3 endpoint URL", "The S3 endpoint; empty: AWS.")
        self._string("S3_REGION", "S3 region", "The bucket's region, e.g. us-east-1.")
        self._string("S3_BUCKET", "S3 bucket", "The bucket LS4 publishes to.")
        self.add(
            self._with_default(QgsProcessingParameterAuthConfig("S3_AUTHCFG", self.tr("S3 keys"))),
            "Authentication configuration (Basic: user name = access key id, password = secret "
            "key). Empty: boto3's usual credentials (environment, ~/.aws).",
        )
        self.add(
            self._with_default(
                QgsProcessingParameterProviderConnection(
                    "DATABASE", self.tr("PostgreSQL connection"), "postgres", optional=True
                )
            ),
            "The QGIS PostgreSQL connection holding the tile index tables.",
        )
        self._string(
            "WMS_URL_TEMPLATE",
            "MapServer WMS URL",
            "The WMS URL of a collection, with {collection} where its name goes.",
        )
        self._string(
            "COLLECTION",
            "Collection",
            "A collection whose WMS must answer; empty: any answer from MapServer will do.",
        )
        for output_class, name, description in OUTPUTS:
            self.addOutput(output_class(name, self.tr(description)))

    def _with_default(self, parameter):
        setting = SETTING_OF.get(parameter.name())
        if setting:
            parameter.setDefaultValue(settings.value(setting))
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagOptional)
        return parameter

    def _string(self, name, description, help_text):
        parameter = QgsProcessingParameterString(name, self.tr(description), optional=True)
        self.add(self._with_default(parameter), help_text)

    def execute(self, parameters, context, feedback):
        def text(name):
            return self.parameterAsString(parameters, name, context).strip()

        authcfg = text("S3_AUTHCFG")
        checks = {
            "S3": lambda: connections.check_s3(
                text("S3_BUCKET"),
                text("S3_ENDPOINT"),
                text("S3_REGION"),
                lambda: settings.basic_credentials(authcfg),
                authcfg,
            ),
            "POSTGRES": lambda: connections.check_postgres(
                self.parameterAsConnectionName(parameters, "DATABASE", context) or "",
                settings.connection_dsn,
            ),
            "MAPSERVER": lambda: connections.check_mapserver(
                text("WMS_URL_TEMPLATE"),
                text("COLLECTION"),
                fetch,
                lambda: published(self.parameterAsConnectionName(parameters, "DATABASE", context)),
            ),
        }
        results, report = {}, []
        for service, check in checks.items():
            ok, message = connections.run_check(check)
            name = SERVICE_NAMES[service]
            (feedback.pushInfo if ok else feedback.pushWarning)(f"{name}: {message}")
            results[f"{service}_OK"], results[f"{service}_MESSAGE"] = ok, message
            report.append({"service": name, "ok": ok, "message": message})
        if results["S3_OK"]:  # a bucket that answers: is what must be public, public?
            ok, message = connections.run_check(
                lambda: connections.check_public_read(
                    text("S3_BUCKET"),
                    text("S3_ENDPOINT"),
                    text("S3_REGION"),
                    lambda: settings.basic_credentials(authcfg),
                )
            )
        else:
            ok, message = False, "not checked: the bucket does not answer"
        (feedback.pushInfo if ok else feedback.pushWarning)(f"Public read: {message}")
        results["S3_PUBLIC"], results["S3_PUBLIC_MESSAGE"] = ok, message
        failed = [entry["service"] for entry in report if not entry["ok"]]
        results["FAILED"] = ", ".join(failed)
        results["REPORT"] = json.dumps(report)
        return results


def published(connection_name):
    """The collection tables of the connection, or none when it cannot be read (its own check
    says why)."""
    try:
        return connections.collection_tables(settings.connection_dsn(connection_name or ""))
    except Ls4Error:
        return []
