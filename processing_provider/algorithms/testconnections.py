"""ls4:testconnections — S3, PostgreSQL and MapServer, each checked for real."""

import json
import re
from urllib.parse import urlencode

from psycopg2 import Error as PostgresError
from qgis.core import (
    QgsBlockingNetworkRequest,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterProviderConnection,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from ...ls4_plugin import settings
from ...ls4_plugin.core import keys, storage, tileindex
from ...ls4_plugin.core.errors import InputError, Ls4Error
from ..base import Ls4Algorithm

PROBE_COLLECTION = "ls4_connection_test_frames"
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
        "by MapServer). Every value defaults to LS4 settings. The algorithm does not fail when a "
        "service does: each result says whether it works and, if not, why."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
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
        parameter.setFlags(parameter.flags() | parameter.FlagOptional)
        return parameter

    def _string(self, name, description, help_text):
        parameter = QgsProcessingParameterString(name, self.tr(description), optional=True)
        self.add(self._with_default(parameter), help_text)

    def execute(self, parameters, context, feedback):
        def text(name):
            return self.parameterAsString(parameters, name, context).strip()

        checks = {
            "S3": lambda: check_s3(
                text("S3_BUCKET"), text("S3_ENDPOINT"), text("S3_REGION"), text("S3_AUTHCFG")
            ),
            "POSTGRES": lambda: check_postgres(
                self.parameterAsConnectionName(parameters, "DATABASE", context) or ""
            ),
            "MAPSERVER": lambda: check_mapserver(text("WMS_URL_TEMPLATE"), text("COLLECTION")),
        }
        results, report = {}, []
        for service, check in checks.items():
            ok, message = run_check(check)
            name = SERVICE_NAMES[service]
            (feedback.pushInfo if ok else feedback.pushWarning)(f"{name}: {message}")
            results[f"{service}_OK"], results[f"{service}_MESSAGE"] = ok, message
            report.append({"service": name, "ok": ok, "message": message})
        failed = [entry["service"] for entry in report if not entry["ok"]]
        results["FAILED"] = ", ".join(failed)
        results["REPORT"] = json.dumps(report)
        return results


def run_check(check):
    """``(True, what works)`` or ``(False, why not)``."""
    try:
        return True, check()
    except Ls4Error as error:
        return False, str(error)


def check_s3(bucket, endpoint, region, authcfg):
    if not bucket:
        raise InputError("no bucket is set")
    access_key, secret_key = settings.basic_credentials(authcfg)
    config = storage.S3Config(
        bucket=bucket,
        endpoint_url=endpoint or None,
        region=region or "us-east-1",
        access_key=access_key,
        secret_key=secret_key,
    )
    try:
        storage.check_connection(config)
    except Ls4Error as error:
        raise Ls4Error(f"{error}{s3_hint(str(error), authcfg)}") from error
    return f"bucket {bucket!r} at {endpoint or 'AWS'} answers with these credentials"


def s3_hint(message, authcfg):
    where = f"authentication configuration {authcfg!r}" if authcfg else "the default credentials"
    if "403" in message or "Forbidden" in message or "Signature" in message:
        return f" (the access key or secret key of {where} is wrong, or may not read the bucket)"
    if "404" in message or "NoSuchBucket" in message:
        return " (there is no such bucket at this endpoint)"
    return ""


def check_postgres(name):
    if not name:
        raise InputError("no PostgreSQL connection is chosen")
    dsn = settings.connection_dsn(name)
    if "connect_timeout" not in dsn:
        dsn += " connect_timeout=10"  # a host that drops packets would hang the check
    try:
        with tileindex.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database(), postgis_lib_version()")
            database, version = cur.fetchone()
    except PostgresError as error:
        raise Ls4Error(
            f"connection {name!r} opens, but PostGIS is not usable there: {error}".strip()
        ) from error
    except Ls4Error as error:
        raise Ls4Error(f"connection {name!r}: {error}") from error
    return f"connection {name!r} opens database {database!r} with PostGIS {version}"


def check_mapserver(template, collection):
    if "{collection}" not in template:
        raise InputError(f"the WMS URL {template!r} has no {{collection}} in it")
    if collection:
        keys.check_identifier(collection)
    url = template.format(collection=collection or PROBE_COLLECTION)
    query = urlencode({"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"})
    full = f"{url}{'&' if '?' in url else '?'}{query}"
    request = QgsBlockingNetworkRequest()
    if request.get(QNetworkRequest(QUrl(full)), True) != QgsBlockingNetworkRequest.NoError:
        raise Ls4Error(f"{full} did not answer: {request.errorMessage()}")
    body = bytes(request.reply().content())
    return mapserver_verdict(full, body, collection)


def mapserver_verdict(url, body, collection):
    if b"WMS_Capabilities" in body:
        return f"{url} answers with WMS capabilities"
    if collection:
        raise Ls4Error(f"{url} answers, but not with WMS capabilities: {summary(body)}")
    if b"MapServer" in body or b"msLoadMap" in body:
        return f"MapServer answers at {url.split('?')[0]}"
    raise Ls4Error(f"{url} answers, but not as MapServer does: {summary(body)}")


def summary(body, length=300):
    """The words of an answer, without its markup (MapServer's errors come as HTML)."""
    text = re.sub(r"<!--.*?-->|<[^>]*>", " ", body.decode("utf-8", "replace"), flags=re.S)
    return " ".join(text.split())[:length]
