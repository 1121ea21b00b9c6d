"""Point a QGIS profile's LS4 settings at the local stack (used by the demo and the tests).

Secrets go to QgsAuthManager, which needs a master password: for a development profile one is
generated and kept beside the profile's auth database (mode 600), the way
``QGIS_AUTH_PASSWORD_FILE`` works for headless runs. Never do this with a real user's profile.
"""

import secrets
from pathlib import Path

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsDataSourceUri, QgsProviderRegistry

from ls4.ls4_plugin import settings

CONNECTION_NAME = "ls4-stack"
COLORADO_COUNTIES = Path(__file__).resolve().with_name("colorado_counties.csv")


def own_settings(folder, application="ls4-dev"):
    """Keep every QSettings/QgsSettings of this process in ``folder``: call it before the
    QgsApplication is made. A standalone PyQGIS script that does not would write LS4's settings
    to ~/.config/Unknown Organization.conf, shared by every such script (and by every test run
    on the machine at once)."""
    from qgis.PyQt.QtCore import QCoreApplication, QSettings

    Path(folder).mkdir(parents=True, exist_ok=True)
    QCoreApplication.setOrganizationName("LS4")
    QCoreApplication.setApplicationName(application)
    for settings_format in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(settings_format, QSettings.Scope.UserScope, str(folder))
        QSettings.setPath(settings_format, QSettings.Scope.SystemScope, str(folder))
    return Path(folder)


def unlock_auth():
    """Set (first time) or give the master password of this profile's authentication database."""
    manager = QgsApplication.authManager()
    if manager.masterPasswordIsSet():
        return
    path = Path(QgsApplication.qgisSettingsDirPath()) / "ls4-dev-master-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    if not manager.setMasterPassword(path.read_text().strip(), True):
        raise RuntimeError("QGIS refused the stack's master password for its auth database")


def basic_authcfg(name, user, password):
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig("Basic")
    config.setName(name)
    config.setConfig("username", user)
    config.setConfig("password", password)
    stored, config = manager.storeAuthenticationConfig(config)
    if not stored:
        raise RuntimeError(f"could not store authentication configuration {name}")
    return config.id()


def configure(endpoints):
    """Write the stack's endpoints into LS4's settings and a QGIS PostgreSQL connection."""
    unlock_auth()
    s3, pg, ms = endpoints["s3"], endpoints["postgres"], endpoints["mapserver"]
    settings.set_value("s3/endpoint_url", s3["endpoint_url"])
    settings.set_value("s3/region", s3["region"])
    settings.set_value("s3/bucket", s3["bucket"])
    settings.set_value("s3/public_url_base", s3["public_url_base"])
    settings.set_value(
        "s3/authcfg", settings.store_s3_credentials(s3["access_key"], s3["secret_key"])
    )
    settings.set_value("mapserver/wms_url_template", ms["wms_url_template"])
    settings.set_value("mapserver/map_dir", ms["map_dir"])
    settings.set_value("postgres/mapfile_connection", f"service={pg['service']}")
    save_pg_connection(pg)
    settings.set_value("postgres/connection", CONNECTION_NAME)
    # the sample imagery is of Colorado (the shipped county list is Texas's)
    settings.set_value("keys/county_list", str(COLORADO_COUNTIES))


def save_pg_connection(pg):
    uri = QgsDataSourceUri()
    uri.setConnection(str(pg["host"]), str(pg["port"]), pg["dbname"], "", "")
    uri.setAuthConfigId(basic_authcfg("LS4 stack PostgreSQL", pg["user"], pg["password"]))
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    connection = metadata.createConnection(uri.uri(False), {})
    metadata.saveConnection(connection, CONNECTION_NAME)
