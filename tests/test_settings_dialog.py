"""The settings dialog: it shows and saves LS4 settings, and Test connections checks for real."""

import json
import re
import socket

import pytest
from dock_support import forget_collection, plain, spin, wait_until
from osgeo import gdal
from publish_support import s3_client, target
from qgis.core import QgsDataSourceUri, QgsProviderRegistry
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox, QLineEdit

from ls4.ls4_plugin import settings
from ls4.ls4_plugin.core import keys, publish, storage
from ls4.ls4_plugin.gui.settings_dialog import SettingsDialog
from tools import qgis_env, sample_collection

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


def test_a_bucket_that_is_not_public_is_said_and_made_public_in_one_click(
    dialog, configured, tmp_path
):
    """Test connections checks the bucket's public-read policy and offers to apply it; a COG
    that GDAL failed to read before (403, cached) then reads without restarting QGIS."""
    collection = keys.Collection(
        band="bw", type="frames", agency="USGS", county="Baca", year="2014"
    )
    forget_collection(configured, collection)
    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    publish.publish_collection(target(configured), collection, [str(frames[0])])
    config = target(configured).s3
    cog = "/vsicurl/" + storage.public_url(config, collection.key("cog", frames[0].name))
    # public first, whatever ran before (SeaweedFS refuses to delete a policy that is not there)
    storage.apply_public_policy(config)
    s3_client(configured).delete_bucket_policy(Bucket=config.bucket)
    try:
        gdal.VSICurlClearCache()
        assert not opens(cog)  # 403: the failure is now in GDAL's cache
        dialog.show()
        text = run_test(dialog)
        assert (
            f"⚠ Public read: the public stages of bucket '{config.bucket}' are not public" in text
        )
        assert "answer 403 until the policy is applied" in text
        assert "All three work." in text  # the services work: the policy is another matter
        assert dialog.apply_policy.isVisible() and dialog.apply_policy.isEnabled()

        dialog.apply_policy.click()
        wait_until(lambda: not dialog.testing(), "the policy to be applied", timeout=60)
        text = plain(dialog.results)
        assert text.endswith(f"✔ Public read: the policy is applied to bucket {config.bucket}.")
        assert not dialog.apply_policy.isVisible()
        assert storage.missing_public_read(config) == []
        assert opens(cog)  # read again, not answered from the cache
        text = run_test(dialog)
        assert f"✔ Public read: the public stages of bucket '{config.bucket}' are readable" in text
        assert not dialog.apply_policy.isVisible()
    finally:
        storage.apply_public_policy(config)


def opens(path):
    """Whether GDAL opens ``path`` (GDAL with exceptions on, as in QGIS 3.40, raises)."""
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        return gdal.Open(path) is not None
    except RuntimeError:
        return False
    finally:
        gdal.PopErrorHandler()


def test_the_dialog_grows_with_its_results_and_its_fields_take_the_width(dialog, broken):
    assert dialog.isSizeGripEnabled()
    dialog.show()
    dialog.resize(100, 300)  # as small as it goes: it scrolls down, and nothing is cut
    spin()
    assert dialog.width() == dialog.minimumWidth()
    assert not dialog.scroll.horizontalScrollBar().isVisible()
    assert dialog.bucket.width() >= 250  # the S3 fields are not squashed
    narrow = dialog.bucket.width()
    dialog.resize(dialog.minimumWidth() + 200, 300)
    spin()
    assert dialog.width() == dialog.minimumWidth() + 200
    assert dialog.bucket.width() >= narrow + 150, dialog.bucket.width()  # they grow with it

    dialog.authcfg.setConfigId(broken["authcfg"])  # long messages, to be read whole
    dialog.connection.setConnection(CLOSED_CONNECTION)
    run_test(dialog)
    spin()
    results = dialog.results
    viewport = dialog.scroll.viewport()
    assert results.wordWrap()
    assert results.height() >= results.heightForWidth(results.width())  # not cut off
    corner = results.mapTo(viewport, results.rect().topLeft())
    assert corner.x() >= 0 and corner.x() + results.width() <= viewport.width()  # wrapped
    assert dialog.height() > 300  # it grew to show them (up to the screen's height)
    dialog.hide()


def test_new_postgis_connection_opens_qgis_own_dialog_and_selects_what_it_made(dialog, configured):
    name = "ls4-made-in-the-dialog"
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    if name in metadata.connections():
        metadata.deleteConnection(name)
    seen = []

    def fill_in():  # QGIS's dialog is modal: typed into once it is open
        window = QApplication.activeModalWidget()
        seen.append(type(window).__name__ if window else None)
        if window is None or window is dialog:
            QTimer.singleShot(50, fill_in)
            return
        pg = configured["postgres"]
        for field, value in (
            ("txtName", name),
            ("txtHost", "127.0.0.1"),
            ("txtPort", str(pg["port"])),
            ("txtDatabase", pg["dbname"]),
        ):
            edit = window.findChild(QLineEdit, field)
            edit.selectAll()
            QTest.keyClicks(edit, value)
        box = window.findChild(QDialogButtonBox)
        box.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(50, fill_in)
    dialog.new_connection.click()
    try:
        assert name in metadata.connections()
        assert dialog.connection.currentConnection() == name
        uri = QgsDataSourceUri(metadata.findConnection(name).uri())
        assert (uri.host(), uri.port()) == ("127.0.0.1", str(configured["postgres"]["port"]))
    finally:
        if name in metadata.connections():
            metadata.deleteConnection(name)
