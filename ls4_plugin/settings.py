"""LS4's settings in QGIS: plain values in QgsSettings, secrets only in QgsAuthManager.

S3 credentials live in an authentication configuration (method "Basic": user name = access key
id, password = secret key); settings keep only its id. Without one, boto3's standard credential
chain applies (environment, ~/.aws), which is what headless runs usually want.
"""

from psycopg2.extensions import make_dsn
from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsDataSourceUri,
    QgsProviderRegistry,
    QgsSettings,
)
from qgis.PyQt.QtCore import QCoreApplication, QThread

from .core import counties
from .core.errors import Ls4Error
from .core.storage import S3Config
from .core.tileindex import Timeouts

PREFIX = "ls4/"
DEFAULTS = {
    "s3/endpoint_url": "",
    "s3/region": "us-east-1",
    "s3/bucket": "",
    "s3/authcfg": "",
    "s3/legacy_acl": False,
    "s3/public_url_base": "",
    # Bounded waits (seconds): see storage.S3Config and tileindex.Timeouts for why these.
    "s3/connect_timeout": 3.0,
    "s3/read_timeout": 10.0,
    "s3/max_attempts": 2,
    "postgres/connect_timeout": 5,
    "postgres/statement_timeout": 30.0,
    "postgres/lock_timeout": 20.0,
    "postgres/keepalive": 10,
    # Maintenance: incomplete multipart uploads and dead runs' folders older than this are stale.
    "maintenance/stale_hours": 6.0,
    # Agencies as collections spell them in keys, whatever case a user types.
    "keys/agencies": "TxDOT,USDA,USGS,TNRIS,NASA,NRCS,AMS",
    # The counties a collection may name: a CSV (state,fips,county); empty: Texas's 254
    "keys/county_list": "",
    "postgres/connection": "",
    "postgres/mapfile_connection": "service=ls4",
    "mapserver/wms_url_template": "",
    "mapserver/map_dir": "",
    # Where MapProxy caches the tiles: "file" (the map folder: publish on the tile server) or
    # "s3" (the bucket: any machine's publish clears the tiles of the frames it changes).
    "tiles/cache": "file",
    # Dask scheduler of publishcollection (tcp://host:8786); empty: publish on this machine.
    "dask/scheduler": "",
    "sns/topic_arn": "",
    # STAC (core/stac.py): the static catalog under stac/ with every publish; pgSTAC on request
    # (pgstac_connection empty: the tile index's database); the tile service's URLs when one
    # serves the collections ({collection} replaced; XYZ keeps {z}/{x}/{y}).
    "stac/enabled": True,
    "stac/pgstac": False,
    "stac/pgstac_connection": "",
    "stac/tile_links": False,  # link the MapProxy tiles LS4 writes beside the WMS
    "stac/wmts_url_template": "",
    "stac/xyz_url_template": "",
    # The collections' license (STAC 1.1: an SPDX id, or "other" with license_url required) and
    # the publisher named as host and processor in their providers (core/stac.py, StacConfig).
    "stac/license": "CC0-1.0",
    "stac/license_url": "https://creativecommons.org/publicdomain/zero/1.0/legalcode",
    "stac/publisher": "Texas Natural Resources Information System (TNRIS)",
    "stac/publisher_url": "",
}


def value(name):
    default = DEFAULTS[name]
    return QgsSettings().value(PREFIX + name, default, type=type(default))


def set_value(name, new_value):
    if name not in DEFAULTS:
        raise KeyError(name)
    QgsSettings().setValue(PREFIX + name, new_value)


# The credentials the main thread loaded last, by configuration id, for the algorithms' worker
# threads. QGIS 3.22's QgsAuthManager deadlocks when one pooled thread reads its database while
# another ends (seen in the dock's tests: the auth mutex against Qt's signal-slot lock of the
# ending thread), so a run reads in its thread what its checks, on the main thread, just read.
_LOADED_ON_MAIN_THREAD = {}


def basic_credentials(authcfg):
    """(user name, password) of a "Basic" authentication configuration; S3 keeps its keys so.

    Read from QgsAuthManager on the main thread (and remembered there); a worker thread gets
    what the main thread read last, and reads itself only what the main thread never did."""
    if not authcfg:
        return None, None
    application = QCoreApplication.instance()
    main = application is None or QThread.currentThread() == application.thread()
    if not main and authcfg in _LOADED_ON_MAIN_THREAD:
        return _LOADED_ON_MAIN_THREAD[authcfg]
    config = QgsAuthMethodConfig()
    if not QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True):
        raise Ls4Error(f"authentication configuration {authcfg!r} not found")
    credentials = config.config("username") or None, config.config("password") or None
    if main:
        _LOADED_ON_MAIN_THREAD[authcfg] = credentials
    return credentials


def s3_config():
    """The S3 settings as the core's ``S3Config``."""
    bucket = value("s3/bucket")
    if not bucket:
        raise Ls4Error("No S3 bucket is set: open LS4 ▸ Settings and set the bucket")
    access_key, secret_key = basic_credentials(value("s3/authcfg"))
    return S3Config(
        bucket=bucket,
        endpoint_url=value("s3/endpoint_url") or None,
        region=value("s3/region") or "us-east-1",
        access_key=access_key,
        secret_key=secret_key,
        public_url_base=value("s3/public_url_base") or None,
        legacy_acl=value("s3/legacy_acl"),
        connect_timeout=value("s3/connect_timeout"),
        read_timeout=value("s3/read_timeout"),
        max_attempts=max(1, value("s3/max_attempts")),
    )


def pg_timeouts():
    """The PostgreSQL wait bounds as the core's ``Timeouts``."""
    return Timeouts(
        connect=value("postgres/connect_timeout"),
        statement=value("postgres/statement_timeout"),
        lock=value("postgres/lock_timeout"),
        keepalive=value("postgres/keepalive"),
    )


def agencies():
    return tuple(name.strip() for name in value("keys/agencies").split(",") if name.strip())


def county_list():
    """The ``counties.CountyList`` the setting keys/county_list names (default: Texas's)."""
    return counties.load(value("keys/county_list") or None)


def store_s3_credentials(access_key, secret_key, authcfg="", name="LS4 S3"):
    """Save S3 credentials in QgsAuthManager; returns the configuration id (kept in settings)."""
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig("Basic")
    if authcfg:
        manager.loadAuthenticationConfig(authcfg, config, True)
    config.setName(name)
    config.setMethod("Basic")
    config.setConfig("username", access_key)
    config.setConfig("password", secret_key)
    if config.id():
        stored = manager.updateAuthenticationConfig(config)
    else:
        stored, config = manager.storeAuthenticationConfig(config)
    if not stored:
        raise Ls4Error("QGIS could not store the S3 credentials: is the master password set?")
    _LOADED_ON_MAIN_THREAD.pop(config.id(), None)  # read afresh on the main thread next time
    return config.id()


def connection_dsn(name):
    """A libpq connection string for the QGIS PostgreSQL connection called ``name``."""
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    try:
        connection = metadata.findConnection(name)
    except Exception as error:  # QgsProviderConnectionException has no Python base of its own
        raise Ls4Error(f"PostgreSQL connection {name!r} cannot be read: {error}") from error
    if connection is None:
        raise Ls4Error(f"There is no PostgreSQL connection named {name!r} in QGIS")
    return uri_to_dsn(connection.uri())


def uri_to_dsn(uri_text):
    """QGIS data source URI → libpq DSN, resolving an authcfg to user and password."""
    uri = QgsDataSourceUri(uri_text)
    user, password = uri.username(), uri.password()
    if uri.authConfigId():
        user, password = basic_credentials(uri.authConfigId())
    parts = {
        "service": uri.service(),
        "host": uri.host(),
        "port": uri.port(),
        "dbname": uri.database(),
        "user": user,
        "password": password,
    }
    return make_dsn(**{key: item for key, item in parts.items() if item})
