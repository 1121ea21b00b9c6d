"""The settings dialog: it shows and saves LS4 settings, and Test connections checks for real."""

import json
import re
import socket

import pytest
from dock_support import plain, wait_until
from qgis.core import QgsDataSourceUri, QgsProviderRegistry

from ls4.ls4_plugin import settings
from ls4.ls4_plugin.gui.settings_dialog import SettingsDialog
from tools import qgis_env

CLOSED_CONNECTION = "ls4-closed-port"


@pytest.fixture(scope="module")
def configured(stack, qgis_app):
    qgis_env.configure(stack)
    return stack


@pytest.fixture(scope="module")
def broken(configured):
    """A PostgreSQL connection to a port nothing listens on, and S3 keys with a wrong secret."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and closed again when the probe is
    pg = configured["postgres"]
    uri = QgsDataSourceUri()
    uri.setConnection("127.0.0.1", str(port), pg["dbname"], pg["user"], pg["password"])
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    metadata.saveConnection(metadata.createConnection(uri.uri(False), {}), CLOSED_CONNECTION)
    s3 = configured["s3"]
    wrong = qgis_env.basic_authcfg("LS4 wrong secret", s3["access_key"], "not-the-secret")
    return {"port": port, "authcfg": wrong}


@pytest.fixture
def dialog(configured, qgis_processing, ls4_provider):
    shown = SettingsDialog()
    yield shown
    wait_until(lambda: not shown.testing(), "the connection test to end")
    shown.reject()
    shown.deleteLater()


def run_test(dialog):
    dialog.test_button.click()
    assert not dialog.test_button.isEnabled()
    wait_until(lambda: not dialog.testing(), "Test connections to answer", timeout=60)
    return plain(dialog.results)


def test_dialog_shows_the_settings_and_saves_them(dialog, configured):
    assert dialog.bucket.text() == configured["s3"]["bucket"]
    assert dialog.endpoint.text() == configured["s3"]["endpoint_url"]
    assert dialog.authcfg.configId() == settings.value("s3/authcfg") != ""
    assert dialog.connection.currentConnection() == qgis_env.CONNECTION_NAME
    assert dialog.wms_url_template.text() == configured["mapserver"]["wms_url_template"]
    assert dialog.map_dir.filePath() == configured["mapserver"]["map_dir"]

    dialog.wms_url_template.setText("http://maps.example.org/wms")
    dialog.accept()
    assert "{collection}" in dialog.problem.text() and dialog.isVisible() is False
    assert (
        settings.value("mapserver/wms_url_template") == configured["mapserver"]["wms_url_template"]
    )

    dialog.wms_url_template.setText(configured["mapserver"]["wms_url_template"])
    dialog.public_url_base.setText("https://data.example.org/ls4")
    dialog.accept()
    try:
        assert dialog.result() == dialog.Accepted
        assert settings.value("s3/public_url_base") == "https://data.example.org/ls4"
        assert settings.s3_config().public_url_base == "https://data.example.org/ls4"
    finally:
        settings.set_value("s3/public_url_base", configured["s3"]["public_url_base"])


def test_test_connections_finds_all_three_working(dialog, configured):
    text = run_test(dialog)
    assert f"✔ S3: bucket '{configured['s3']['bucket']}'" in text
    assert f"✔ PostgreSQL: connection '{qgis_env.CONNECTION_NAME}' opens database" in text
    assert "with PostGIS 3." in text
    # A published collection's capabilities, or (none published yet) the plain 404 of the server
    assert re.search(r"✔ MapServer: (MapServer|the WMS path) answers at http://127\.0\.0\.1", text)
    assert "All three work." in text


def test_test_connections_names_a_stopped_postgis_and_a_wrong_s3_secret(dialog, broken):
    dialog.authcfg.setConfigId(broken["authcfg"])
    dialog.connection.setConnection(CLOSED_CONNECTION)
    assert dialog.connection.currentConnection() == CLOSED_CONNECTION
    text = run_test(dialog)
    assert "✘ S3: S3 refused bucket 'ls4'" in text
    assert (
        f"the access key or secret key of authentication configuration '{broken['authcfg']}'"
        in text
    )
    assert f"✘ PostgreSQL: connection '{CLOSED_CONNECTION}': Cannot connect to PostgreSQL" in text
    assert f"port={broken['port']}" in text and "not-the-secret" not in text
    assert "✔ MapServer" in text
    assert "Failed: S3, PostgreSQL" in text


def test_test_connections_as_an_algorithm_checks_a_collection_wms(run_alg, configured, broken):
    results = run_alg(
        "testconnections",
        {"S3_AUTHCFG": broken["authcfg"], "COLLECTION": "nowhere_usgs_1950_frames"},
    )
    assert results["S3_OK"] is False and "403" in results["S3_MESSAGE"]
    assert results["POSTGRES_OK"] is True  # the default: the connection in LS4 settings
    assert results["MAPSERVER_OK"] is False
    # The server says 404 and, for safety, names no mapfile path (tests/test_service.py)
    message = results["MAPSERVER_MESSAGE"]
    assert "answers 404: collection 'nowhere_usgs_1950_frames' is not published" in message
    assert ".map" not in message
    assert results["FAILED"] == "S3, MapServer"
    report = json.loads(results["REPORT"])
    assert [entry["service"] for entry in report] == ["S3", "PostgreSQL", "MapServer"]
