"""The RDC dock in QGIS (pytest-qgis, offscreen) against the real stack: from scans to a WMS."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from dock_support import (
    drop_canvas,
    drop_files,
    forget_collection,
    plain,
    private_canvas,
    render_canvas,
    set_collection,
    spin,
    start_plugin,
    stop_plugin,
    table_rows,
    wait_idle,
    wait_until,
)
from osgeo import gdal
from publish_support import index_rows, objects, s3_client, target
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDatumTransform,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
)
from qgis.PyQt.QtCore import QCoreApplication, QRect, Qt
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QAbstractButton, QAction, QDockWidget, QGroupBox, QLabel
from translations import read_ts, source_strings

import ls4
from ls4.ls4_plugin import settings
from ls4.ls4_plugin.core import (
    cog,
    counties,
    keys,
    mapfile,
    publish,
    rasterinfo,
    stac,
    storage,
    tileindex,
)
from ls4.ls4_plugin.core.errors import Ls4Error
from ls4.ls4_plugin.gui.messages import localize
from ls4.processing_provider.algorithms.publishcollection import no_frame_published
from tools import qgis_env, sample_collection

REPO = Path(__file__).resolve().parents[1]
AGENCY, YEAR = "USGS", "2014"
LANDSAT = "landsat_rgb_utm18n.tif"


@pytest.fixture(scope="module")
def configured(stack, qgis_app):
    qgis_env.configure(stack)
    storage.apply_public_policy(target(stack).s3)
    return stack


@pytest.fixture
def real_docking(qgis_iface, monkeypatch):
    """pytest-qgis's iface only pretends to dock: let its main window really do it."""
    window = qgis_iface.mainWindow()
    monkeypatch.setattr(qgis_iface, "addDockWidget", window.addDockWidget)
    monkeypatch.setattr(qgis_iface, "removeDockWidget", window.removeDockWidget)
    canvas = private_canvas(qgis_iface, monkeypatch)
    yield window
    drop_canvas(canvas)


@pytest.fixture
def plugin(qgis_iface, qgis_processing, real_docking):
    started = start_plugin(qgis_iface)
    yield started
    stop_plugin(started)


@pytest.fixture
def dock(plugin, configured):
    yield plugin.dock
    wait_idle(plugin.dock)
    QgsProject.instance().removeAllMapLayers()


def test_dock_docks_through_the_iface_and_unload_leaves_nothing(qgis_iface, plugin):
    window = qgis_iface.mainWindow()
    dock = plugin.dock
    assert window.dockWidgetArea(dock) == Qt.RightDockWidgetArea
    assert window.findChildren(QDockWidget, "Ls4Dock") == [dock]
    assert {action.objectName() for action in plugin.actions} == {
        "mActionLs4Panel",
        "mActionLs4Settings",
    }
    assert QgsApplication.processingRegistry().providerById("ls4") is plugin.provider

    plugin.unload()
    from dock_support import delete_later_now

    delete_later_now()
    assert window.findChildren(QDockWidget, "Ls4Dock") == []
    assert window.findChildren(QAction, "mActionLs4Panel") == []
    assert window.findChildren(QAction, "mActionLs4Settings") == []
    assert QgsApplication.processingRegistry().providerById("ls4") is None
    assert plugin.dock is None and plugin.actions == [] and plugin.translator is None


def test_invalid_county_or_year_says_why_and_disables_publish(dock, tmp_path):
    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    set_collection(dock, "Weld", AGENCY, YEAR)
    dock.add_files(frames)
    wait_idle(dock)
    assert dock.ui.publish.isEnabled()
    text = plain(dock.ui.collection)
    assert "weld_usgs_2014_frames" in text
    assert "mapfiles/weld_usgs_2014_frames.map" in text
    assert "bw/Weld/USGS_2014/frames/" in text
    assert "Weld County USGS 2014 frames (black and white)" in text

    dock.ui.year.setText("19x2")
    assert not dock.ui.publish.isEnabled()
    assert "year '19x2' must be four digits" in plain(dock.ui.collection)

    dock.ui.year.setText("2014")
    dock.ui.county.setText("W3ld")
    assert not dock.ui.publish.isEnabled()
    assert "county 'W3ld' may only contain ASCII letters" in plain(dock.ui.collection)

    dock.ui.county.setText("")  # a multi-county mission: the year field is its mission code
    assert dock.ui.year_label.text() == "Mission"
    dock.ui.year.setText("AR-1963")
    assert "usgs_ar1963_frames" in plain(dock.ui.collection)
    assert "bw/MultiCounty/USGS_AR-1963/frames/" in plain(dock.ui.collection)


def type_into(edit, text):
    """Clear ``edit`` and type ``text`` key by key, as a user does."""
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    QTest.keyClicks(edit, text)


def test_a_misspelled_county_is_refused_with_a_suggestion_and_the_list_spelling_wins(dock):
    settings.set_value("keys/county_list", "")  # the shipped list: Texas's 254 counties
    try:
        type_into(dock.ui.agency, "TxDOT")
        type_into(dock.ui.year, "1952")
        type_into(dock.ui.county, "Travs")
        assert not dock.ui.publish.isEnabled()
        assert "'Travs' is not in the county list of Texas: did you mean Travis?" in plain(
            dock.ui.collection
        )
        type_into(dock.ui.county, "fort bend")
        text = plain(dock.ui.collection)
        assert "fort_bend_txdot_1952_frames" in text and "Fort Bend County TxDOT 1952" in text
        assert "bw/Fort_Bend/TxDOT_1952/frames/" in text
        assert dock.collection_fields()["COUNTY"] == "Fort Bend"
        assert dock.collection.county == "Fort Bend"
        type_into(dock.ui.agency, "txdot")  # the WMS layer's title: the agency as it is spelt
        assert dock.layer_title() == "Fort Bend County TxDOT 1952 frames"
    finally:
        settings.set_value("keys/county_list", str(qgis_env.COLORADO_COUNTIES))


def test_a_county_off_the_list_is_taken_when_its_collection_is_published_and_refused_if_not(
    dock, configured, tmp_path
):
    """As the algorithms judge it: a collection published before the list (county "Bonanza",
    not one of Colorado's) goes on being published from the dock, under its own prefix, once
    the background look-up has found it; a county no collection has stays refused."""
    bonanza = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Bonanza", year=YEAR)
    forget_collection(configured, bonanza)
    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    publish.publish_collection(target(configured), bonanza, [str(frames[0])])
    try:
        type_into(dock.ui.agency, AGENCY)
        type_into(dock.ui.year, YEAR)
        type_into(dock.ui.county, "bonanza")
        dock.add_files(frames[1:])
        assert plain(dock.ui.collection) == (
            "Not a valid collection: 'bonanza' is not in the county list of Colorado"
        )
        assert plain(dock.ui.exists) == "Looking for a collection published under 'bonanza'…"
        assert not dock.ui.publish.isEnabled()
        wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
        text = plain(dock.ui.collection)
        assert "bonanza_usgs_2014_frames" in text
        assert "bw/Bonanza/USGS_2014/frames/" in text  # the spelling it was published with
        assert text.endswith(
            "'bonanza' is not in the county list; taken, as bonanza_usgs_2014_frames is already "
            "published."
        )
        assert plain(dock.ui.exists) == "Published: 1 frame(s) in the tile index."
        assert table_rows(dock)[frames[1].name]["Status"] == "Ready to publish"
        assert dock.ui.publish.isEnabled()
        dock.ui.publish.click()
        wait_idle(dock)
        assert plain(dock.ui.message).startswith(
            "bonanza_usgs_2014_frames: 1 published, 0 unchanged, 0 failed, 0 not attempted."
        )
        assert len(index_rows(configured, bonanza.table)) == 2
        keyed = objects(configured, "bw/")
        assert not [key for key in keyed if key.startswith("bw/bonanza/")]  # one prefix
        assert len([k for k in keyed if k.startswith(bonanza.prefix() + "cog/")]) == 2

        type_into(dock.ui.county, "Wled")  # off the list, and nothing published under it
        assert plain(dock.ui.exists) == "Looking for a collection published under 'Wled'…"
        wait_until(lambda: not dock.busy(), "the look-up to answer")
        assert plain(dock.ui.collection) == (
            "Not a valid collection: 'Wled' is not in the county list of Colorado: "
            "did you mean Weld?"
        )
        assert plain(dock.ui.exists) == ""
        assert not dock.ui.publish.isEnabled()
        assert dock.collection is None
    finally:
        forget_collection(configured, bonanza)


def completions(edit):
    """The names the completion list under ``edit`` shows, when it shows."""
    popup = edit.completer().popup()
    model = popup.model()
    return (
        [model.index(row, 0).data() for row in range(model.rowCount())] if popup.isVisible() else []
    )


def test_county_and_agency_offer_the_spellings_they_know_as_one_types(dock):
    """The agencies of LS4 settings as keys spell them, the county list's names (Colorado's in
    the tests' settings): typed in lowercase, picked from the list."""
    # the window has the keyboard, as QGIS's has when one types (a line edit takes what its
    # completer picks only while it has the focus)
    window, shown = dock.window(), dock.window().isVisible()
    window.show()
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)
    type_into(dock.ui.agency, "tx")
    assert completions(dock.ui.agency) == ["TxDOT"]
    popup = dock.ui.agency.completer().popup()
    QTest.keyClick(popup, Qt.Key.Key_Down)  # into the list, on TxDOT
    QTest.keyClick(popup, Qt.Key.Key_Return)
    assert dock.ui.agency.text() == "TxDOT"
    type_into(dock.ui.county, "la")
    assert completions(dock.ui.county) == ["La Plata", "Lake", "Larimer", "Las Animas"]
    type_into(dock.ui.county, "las")
    assert completions(dock.ui.county) == ["Las Animas"]
    dock.ui.county.completer().popup().hide()
    window.setVisible(shown)


def test_agency_offers_the_agencies_of_the_published_collections(
    qgis_iface, qgis_processing, real_docking, configured, tmp_path
):
    """QGIS started after a collection of "SCS" (not in LS4 settings' agencies) was published:
    typing "sc" offers SCS; a new agency published from the dock is offered next."""
    scs = keys.Collection(band="bw", type="frames", agency="SCS", county="Baca", year=YEAR)
    fairchild = replace(scs, agency="Fairchild")
    frames = sample_collection.cut_frames("bw", tmp_path, count=1)
    for collection in (scs, fairchild):
        forget_collection(configured, collection)
    publish.publish_collection(target(configured), scs, [str(frames[0])])
    plugin = start_plugin(qgis_iface)
    dock = plugin.dock
    window, shown = dock.window(), dock.window().isVisible()
    try:
        window.show()
        window.activateWindow()
        assert QTest.qWaitForWindowActive(window)
        wait_idle(dock)  # the published collections listed in the background
        type_into(dock.ui.agency, "sc")
        assert completions(dock.ui.agency) == ["SCS"]
        dock.ui.agency.completer().popup().hide()
        type_into(dock.ui.agency, "Fairchild")
        type_into(dock.ui.year, YEAR)
        type_into(dock.ui.county, "Baca")
        dock.add_files(frames)
        wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
        dock.ui.publish.click()
        wait_idle(dock)
        assert plain(dock.ui.message).startswith("baca_fairchild_2014_frames: 1 published")
        type_into(dock.ui.agency, "fa")
        assert completions(dock.ui.agency) == ["Fairchild"]
        dock.ui.agency.completer().popup().hide()
    finally:
        window.setVisible(shown)
        wait_idle(dock)
        stop_plugin(plugin)
        for collection in (scs, fairchild):
            forget_collection(configured, collection)


def test_a_colour_frame_cannot_join_a_published_bw_collection_and_the_dock_says_why(
    dock, configured, tmp_path
):
    """The hint "choose the other band layout" would lead into a merge the core refuses: once the
    collection is published in black and white, the dock says what to do instead."""
    mesa = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Mesa", year=YEAR)
    forget_collection(configured, mesa)
    (tmp_path / "bw").mkdir()
    (tmp_path / "nc").mkdir()
    bw = sample_collection.cut_frames("bw", tmp_path / "bw", count=2)
    publish.publish_collection(target(configured), mesa, [str(bw[0])])
    colour = sample_collection.cut_frames("nc", tmp_path / "nc", count=2)[1:]
    type_into(dock.ui.county, "Mesa")
    type_into(dock.ui.agency, AGENCY)
    type_into(dock.ui.year, YEAR)
    dock.add_files(colour)
    wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
    status = table_rows(dock)[colour[0].name]["Status"]
    assert "choose the other band layout" not in status
    assert status.startswith(
        "A natural color image: mesa_usgs_2014_frames is published in black and white, and a "
        "collection has one band layout; publish it as a collection of its own (another "
        "agency, year or type)"
    ), status
    assert not dock.ui.publish.isEnabled()

    # the other band layout gives the same table: the dock says so instead of offering Publish
    dock.ui.band.setCurrentIndex(dock.ui.band.findData("nc"))
    wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
    assert plain(dock.ui.exists) == (
        "mesa_usgs_2014_frames is published in black and white (1 frame(s)): a collection has "
        "one band layout, so natural color frames cannot join it. Publish them as a collection "
        "of their own (another agency, year or type)."
    )
    assert "is published in black and white" in table_rows(dock)[colour[0].name]["Status"]
    assert not dock.ui.publish.isEnabled() and dock.frames_to_publish() == []
    assert [row["location"] for row in index_rows(configured, mesa.table)] == [
        storage.vsis3_path(target(configured).s3, mesa.key("cog", bw[0].name))
    ]

    # a collection of its own (another year) takes them
    forget_collection(configured, replace(mesa, year="2015", band="nc"))
    type_into(dock.ui.year, "2015")
    wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
    assert plain(dock.ui.exists) == "New collection: nothing published yet."
    assert table_rows(dock)[colour[0].name]["Status"] == "Ready to publish"
    assert dock.ui.publish.isEnabled()


def test_a_failed_look_up_clears_what_it_showed_and_clears_itself_once_the_service_is_back(
    dock, configured, tmp_path
):
    delta = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Delta", year=YEAR)
    forget_collection(configured, delta)
    frames = sample_collection.cut_frames("bw", tmp_path, count=2)
    publish.publish_collection(target(configured), delta, [str(frames[0])])
    type_into(dock.ui.county, "Delta")
    type_into(dock.ui.agency, AGENCY)
    type_into(dock.ui.year, YEAR)
    dock.add_files(frames[1:])
    wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
    assert plain(dock.ui.exists) == "Published: 1 frame(s) in the tile index."
    assert "REQUEST=GetCapabilities" in dock.ui.capabilities.text()
    assert dock.ui.check.isEnabled()

    good = settings.value("postgres/connection")
    settings.set_value("postgres/connection", "gone")  # as if the database went away
    try:
        type_into(dock.ui.year, YEAR)  # retyped: looked up again
        wait_until(lambda: "Cannot look" in plain(dock.ui.exists), "the look-up to fail")
        wait_idle(dock)
        assert plain(dock.ui.exists).startswith("Cannot look the collection up: ")
        assert plain(dock.ui.exists).endswith("(Trying again every 10 s.)")
        assert dock.ui.capabilities.text() == ""  # no link from the last answer
        assert not dock.ui.check.isEnabled()
        status = table_rows(dock)[frames[1].name]["Status"]
        assert status == "Looking the collection up…"  # not "Ready to publish": not known
    finally:
        settings.set_value("postgres/connection", good)
    # the service is back: the dock finds out by itself, and the error goes
    wait_until(lambda: dock.info, "the look-up to be tried again", timeout=30)
    wait_idle(dock)
    assert plain(dock.ui.exists) == "Published: 1 frame(s) in the tile index."
    assert "REQUEST=GetCapabilities" in dock.ui.capabilities.text()
    assert table_rows(dock)[frames[1].name]["Status"] == "Ready to publish"


def test_sample_files_are_inspected_and_a_scan_becomes_a_frame(
    dock, configured, sample, data_dir, tmp_path
):
    weld = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Weld", year=YEAR)
    forget_collection(configured, weld)  # not published: the band advice is for a new one
    set_collection(dock, "Weld", AGENCY, YEAR)
    names = ["hro_colorado_gray.tif", "hro_colorado_rgb.tif", "hro_colorado_gray_scan.tif"]
    paths = [sample(name) for name in names]
    dock.add_files(paths[:1])
    QgsProject.instance().addMapLayer(QgsRasterLayer(str(paths[1]), "colour aerial"))
    dock.ui.layers_menu.aboutToShow.emit()  # "From project ▾" lists the project's rasters
    texts = [action.text() for action in dock.ui.layers_menu.actions()]
    assert texts == ["All raster layers", "", "colour aerial"]
    dock.ui.layers_menu.actions()[2].trigger()
    assert drop_files(dock.ui.table, paths[2:])
    wait_idle(dock)
    rows = table_rows(dock)
    gray, rgb, scan = (rows[name] for name in names)
    assert (gray["Kind"], gray["CRS"], gray["Bands"]) == (
        "Frame",
        "EPSG:26913",
        "1 (bw)",
    )
    assert (rgb["Kind"], rgb["CRS"], rgb["Bands"]) == (
        "Frame",
        "EPSG:26913",
        "3 (nc)",
    )
    assert "A natural color image in a black and white collection" in rgb["Status"]
    assert (scan["Kind"], scan["CRS"]) == ("Scan", "")
    assert "Not georeferenced" in scan["Status"]
    for row in (gray, rgb, scan):  # sample names are not frame names
        assert "Rename it like 04-15-52_12-034.tif" in row["Status"]
    assert dock.frames_to_publish() == []
    assert not dock.ui.publish.isEnabled()

    # the scan as the scanner names it, with the Georeferencer's points saved next to it
    folder = tmp_path / "scans"
    folder.mkdir()
    raw = folder / sample_collection.frame_name(1)
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif", raw)
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif.points", f"{raw}.points")
    dock.add_files([raw])
    wait_idle(dock)
    assert "its .points file is ready" in table_rows(dock)[raw.name]["Status"]
    dock.ui.table.select_paths([raw])
    assert dock.ui.apply_points.isEnabled()
    dock.ui.apply_points.click()
    wait_idle(dock)

    frame = dock.row(folder / "georeferenced" / raw.name)
    assert frame is not None and frame.kind == "frame" and frame.scan_of == str(raw)
    assert frame.ready(dock.collection)
    assert dock.frames_to_publish() == [frame]
    assert dock.ui.publish.isEnabled()
    shown = [row for row in dock.ui.table.findItems(raw.name, Qt.MatchExactly)]
    assert len(shown) == 2  # the scan and its georeferenced frame
    table = dock.ui.table
    statuses = sorted(table.item(item.row(), 4).text() for item in shown)
    # the scan no longer says it waits for its points
    assert statuses == [f"Georeferenced as georeferenced/{raw.name}", "Ready to publish"]
    # the README: a correct georeferencing reproduces the gray aerial's geotransform
    expected = gdal.Open(str(data_dir / "hro_colorado_gray.tif")).GetGeoTransform()
    assert gdal.Open(frame.path).GetGeoTransform() == pytest.approx(expected, abs=1e-6)
    assert dock.row(raw).kind == "scan" and dock.scans_to_upload() == [dock.row(raw)]


def test_nodata_that_the_pixels_cannot_hold_is_said(dock, data_dir, tmp_path):
    set_collection(dock, "Weld", AGENCY, YEAR)
    path = tmp_path / sample_collection.frame_name(7)
    gdal.Translate(str(path), str(data_dir / "hro_colorado_gray.tif"))
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.GetRasterBand(1).SetNoDataValue(256)
    dataset = None
    dock.add_files([path])
    wait_idle(dock)
    status = table_rows(dock)[path.name]["Status"]
    assert "Its NoData value does not fit its pixels (band 1: NoData 256" in status


def test_georeferencer_then_points_then_upload_the_scan(dock, configured, data_dir, tmp_path):
    weld = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Weld", year=YEAR)
    forget_collection(configured, weld)
    set_collection(dock, "Weld", AGENCY, YEAR)
    scan = tmp_path / sample_collection.frame_name(1)
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif", scan)
    dock.add_files([scan])
    wait_idle(dock)
    status = table_rows(dock)[scan.name]["Status"]
    assert status == (
        "Not georeferenced: open it in the Georeferencer and save the points next to it "
        f"({scan.name}.points)"
    )
    dock.ui.table.select_paths([scan])
    assert not dock.ui.apply_points.isEnabled()

    # QGIS's own action (pytest-qgis's main window has none): the dock finds it by name
    georeferencer = QAction("Georeferencer…", dock.iface.mainWindow())
    georeferencer.setObjectName("mActionShowGeoreferencer")
    opened = []
    georeferencer.triggered.connect(lambda: opened.append(True))
    dock.ui.georeferencer.click()
    assert opened == [True]
    assert QgsApplication.clipboard().text() == str(scan)
    assert f"open {scan.name} (its path is on the clipboard)" in plain(dock.ui.message)
    georeferencer.deleteLater()

    # the Georeferencer saves the points: the dock notices the new file by itself
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif.points", f"{scan}.points")
    wait_until(
        lambda: "its .points file is ready" in table_rows(dock)[scan.name]["Status"],
        "the dock to see the .points file",
    )
    assert dock.ui.apply_points.isEnabled()

    dock.ui.upload.click()
    wait_idle(dock)
    key = weld.key("scanned", scan.name)
    assert set(objects(configured, weld.prefix())) == {key}
    assert table_rows(dock)[scan.name]["Status"].startswith(f"Scan uploaded to {key}")


def test_a_failed_publish_says_why_in_the_dock_and_details_in_the_log(dock, configured, tmp_path):
    logged = []

    def log(message, tag, level):
        logged.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(log)
    good = settings.value("s3/authcfg")
    s3 = configured["s3"]
    settings.set_value(
        "s3/authcfg", qgis_env.basic_authcfg("LS4 bad", s3["access_key"], "wrong-secret")
    )
    try:
        add_frames(dock, configured, tmp_path, "Gilpin", count=2)
        dock.ui.publish.click()
        wait_idle(dock)
    finally:
        settings.set_value("s3/authcfg", good)
        QgsApplication.messageLog().messageReceived.disconnect(log)
    message = plain(dock.ui.message)
    assert message.startswith("S3 refused bucket 'ls4'") and "403" in message
    assert message.endswith("(Details: View ▸ Panels ▸ Log Messages, LS4 tab.)")
    assert any(
        tag == "LS4" and "LS4: publish gilpin_usgs_2014_frames: S3 refused" in text
        for tag, text in logged
    )
    assert objects(configured, collection_of("Gilpin").prefix()) == {}
    assert dock.ui.publish.isEnabled()  # nothing is stuck: the user can try again


def collection_of(county):
    return keys.Collection(band="nc", type="frames", agency=AGENCY, county=county, year=YEAR)


def add_frames(dock, stack, folder, county, count=3):
    """Frames cut from the Landsat sample: MapServer's extents (six digits) need km, not m."""
    forget_collection(stack, collection_of(county))
    frames = sample_collection.cut_frames("nc", folder, count=count, source_name=LANDSAT)
    set_collection(dock, county, AGENCY, YEAR, band="nc")
    dock.add_files(frames)
    wait_idle(dock)
    assert dock.frames_to_publish() == [dock.row(frame) for frame in frames]
    return frames


def preview(dock, iface, frame):
    """Preview ``frame``: its raster and footprint in the preview group, the map zoomed to them."""
    dock.ui.table.select_paths([frame])
    dock.ui.preview.click()
    wait_idle(dock)
    assert plain(dock.ui.message).startswith(f"Preview of {frame.name}"), plain(dock.ui.message)
    group = QgsProject.instance().layerTreeRoot().findGroup("LS4 preview")
    raster, footprint = (node.layer() for node in group.findLayers())
    assert raster.isValid() and footprint.isValid() and footprint.featureCount() == 1
    outline = next(footprint.getFeatures()).geometry()
    to_footprint = QgsCoordinateTransform(raster.crs(), footprint.crs(), QgsProject.instance())
    box = to_footprint.transformBoundingBox(raster.extent())
    # the valid pixels, without the Landsat collar: inside the frame, and well short of it
    assert box.buffered(1.0).contains(outline.boundingBox())
    assert 0.3 < outline.area() / box.area() < 0.95
    shown = QgsCoordinateTransform(
        iface.mapCanvas().mapSettings().destinationCrs(), footprint.crs(), QgsProject.instance()
    ).transformBoundingBox(iface.mapCanvas().extent())
    assert shown.contains(outline.boundingBox())
    return raster, footprint


def test_preview_chooses_the_datum_transformation_instead_of_asking(dock, qgis_iface, tmp_path):
    """A NAD83 frame on the EPSG:3857 (WGS 84) map: PROJ offers several operations, so QGIS
    would ask with its dialog unless the project has one chosen; Preview chooses it."""
    nad83 = QgsCoordinateReferenceSystem("EPSG:26913")
    web = qgis_iface.mapCanvas().mapSettings().destinationCrs()
    assert web.authid() == "EPSG:3857"
    project = QgsProject.instance()
    context = project.transformContext()
    context.removeCoordinateOperation(nad83, web)
    project.setTransformContext(context)
    operations = QgsDatumTransform.operations(nad83, web)
    assert len(operations) >= 2  # QGIS would ask (it lists those whose grid is missing too)
    offered = [op for op in operations if op.isAvailable]
    frame = sample_collection.cut_frames("bw", tmp_path, count=2)[0]
    dock.add_files([frame])
    wait_idle(dock)
    dock.ui.table.select_paths([frame])
    dock.ui.preview.click()
    wait_idle(dock)
    assert plain(dock.ui.message) == f"Preview of {frame.name}"
    chosen = project.transformContext()
    assert chosen.hasTransform(nad83, web)
    assert chosen.calculateCoordinateOperation(nad83, web) == offered[0].proj


def test_a_bucket_that_is_not_public_is_said_before_publishing_and_made_public_in_one_click(
    dock, configured, tmp_path
):
    """Preview of a published frame answered 403 until the policy was applied, and then still
    failed from GDAL's cache until QGIS restarted: the dock says it, applies it, reads again."""
    kiowa = keys.Collection(band="bw", type="frames", agency=AGENCY, county="Kiowa", year=YEAR)
    forget_collection(configured, kiowa)
    frame = sample_collection.cut_frames("bw", tmp_path, count=2)[0]
    publish.publish_collection(target(configured), kiowa, [str(frame)])
    config = target(configured).s3
    s3_client(configured).delete_bucket_policy(Bucket=config.bucket)
    try:
        type_into(dock.ui.county, "Kiowa")
        type_into(dock.ui.agency, AGENCY)
        type_into(dock.ui.year, YEAR)
        dock.add_files([frame])
        wait_until(lambda: not dock.busy() and dock.info, "the collection to be looked up")
        assert dock.ui.policy.isVisibleTo(dock) and dock.ui.apply_policy.isVisibleTo(dock)
        assert plain(dock.ui.policy) == (
            "The bucket is not public: published frames and downloads answer 403 (access "
            "denied) until its policy is applied."
        )
        dock.ui.table.select_paths([frame])
        dock.ui.preview.click()  # the published COG, read over HTTP: refused
        wait_idle(dock)
        assert plain(dock.ui.message).startswith(f"{frame.name}: "), plain(dock.ui.message)

        dock.ui.apply_policy.click()
        wait_idle(dock)
        assert plain(dock.ui.message) == (
            "The public-read policy is applied: the public stages are public."
        )
        assert not dock.ui.policy.isVisibleTo(dock) and not dock.ui.apply_policy.isVisibleTo(dock)
        assert storage.missing_public_read(config) == []
        dock.ui.table.select_paths([frame])
        dock.ui.preview.click()  # read again, not answered from GDAL's cache
        wait_idle(dock)
        assert plain(dock.ui.message) == f"Preview of {frame.name} (COG)"
    finally:
        storage.apply_public_policy(config)


def test_publish_from_the_dock_then_check_the_wms(dock, configured, qgis_iface, tmp_path):
    collection = collection_of("Larimer")
    frames = add_frames(dock, configured, tmp_path, "Larimer")
    raster, footprint = preview(dock, qgis_iface, frames[0])
    assert raster.source() == str(frames[0])

    # the first frame's scan is in scanned/, the others' are not: the dock must say so
    config = target(configured).s3
    storage.upload_file(config, frames[0], collection.key("scanned", frames[0].name))
    progress = []
    dock.ui.progress.valueChanged.connect(progress.append)
    dock.ui.publish.click()
    assert dock.ui.cancel.isEnabled() and not dock.ui.publish.isEnabled()
    wait_idle(dock)

    assert dock.main_job.ok, plain(dock.ui.message)
    assert any(0 < value < 100 for value in progress) and progress[-1] == 100, progress
    expected = {
        collection.key(stage, frame.name) for stage in ("georef", "cog") for frame in frames
    }
    expected.add(collection.key("scanned", frames[0].name))
    assert set(objects(configured, collection.prefix())) == expected
    assert collection.mapfile_key in objects(configured, "mapfiles/")
    rows = index_rows(configured, collection.table)
    assert sorted(row["location"] for row in rows) == sorted(
        storage.vsis3_path(target(configured).s3, collection.key("cog", f.name)) for f in frames
    )

    def missing(frame):
        key = collection.key("scanned", frame.name)
        return f"its scan is missing from scanned/ (expected s3://{config.bucket}/{key})"

    assert plain(dock.ui.message) == (
        "larimer_usgs_2014_frames: 3 published, 0 unchanged, 0 failed, 0 not attempted. "
        f"Warnings: {frames[1].name}: {missing(frames[1])} · {frames[2].name}: {missing(frames[2])}"
        " (Details: View ▸ Panels ▸ Log Messages, LS4 tab.)"
    )
    statuses = {name: row["Status"] for name, row in table_rows(dock).items()}
    assert statuses == {
        frames[0].name: "Published",
        frames[1].name: f"Published; {missing(frames[1])}",
        frames[2].name: f"Published; {missing(frames[2])}",
    }
    assert "Published: 3 frame(s) in the tile index." in plain(dock.ui.exists)
    assert "REQUEST=GetCapabilities" in dock.ui.capabilities.text()

    dock.ui.publish.click()  # again: nothing changed, and the dock does not say "published"
    wait_idle(dock)
    assert plain(dock.ui.message) == (
        "larimer_usgs_2014_frames: 0 published, 3 unchanged, 0 failed, 0 not attempted."
    )
    statuses = {name: row["Status"] for name, row in table_rows(dock).items()}
    assert statuses == {frame.name: "Published (no change)" for frame in frames}

    raster, footprint = preview(dock, qgis_iface, frames[0])  # now the COG, as published
    cog_url = storage.public_url(target(configured).s3, collection.key("cog", frames[0].name))
    assert raster.source() == f"/vsicurl/{cog_url}"
    assert raster.crs().authid() == "EPSG:3857"

    dock.ui.check.click()
    wait_idle(dock)
    assert dock.main_job.ok, plain(dock.ui.message)
    layer = QgsProject.instance().mapLayer(dock.main_job.results["LAYER_ID"])
    assert isinstance(layer, QgsRasterLayer) and layer.isValid()
    assert layer.providerType() == "wms" and layer.name() == keys.words(collection.name)
    # the selected frame's STAC item: its URL in the message, and it answers with the item
    item_url = storage.public_url(
        target(configured).s3, stac.item_key(collection.name, frames[0].stem)
    )
    assert f"STAC item of {frames[0].name}: {item_url}" in plain(dock.ui.message)
    with urllib.request.urlopen(item_url, timeout=30) as reply:
        assert json.loads(reply.read())["id"] == frames[0].stem
    canvas = qgis_iface.mapCanvas()
    assert QgsProject.instance().layerTreeRoot().findLayer(layer.id()) is not None
    canvas.setLayers([layer])
    dock.zoom_to(layer)
    pixels = render_canvas(canvas)
    white = np.all(pixels[..., :3] == 255, axis=-1)
    # the frames fill much of the view (their collar is transparent: the white background)
    assert (~white).mean() > 0.3

    # checked again: the collection's layer is replaced, not doubled
    first_id = layer.id()
    dock.ui.check.click()
    wait_idle(dock)
    assert dock.main_job.ok, plain(dock.ui.message)
    again = QgsProject.instance().mapLayer(dock.main_job.results["LAYER_ID"])
    layers = QgsProject.instance().mapLayers().values()
    assert [other.id() for other in layers if other.source() == again.source()] == [again.id()]
    assert again.id() != first_id and QgsProject.instance().mapLayer(first_id) is None


def test_preview_after_republishing_a_changed_frame_shows_its_new_pixels(
    dock, configured, qgis_iface, tmp_path
):
    """GDAL keeps what it read of a COG's URL (its size, its blocks): the dock drops that for
    each frame it publishes, or Preview would show the frame as it was before."""
    (frame,) = add_frames(dock, configured, tmp_path, "Mesa", count=1)
    dock.ui.publish.click()
    wait_idle(dock)
    assert dock.main_job.ok, plain(dock.ui.message)
    before = previewed_pixels(dock, qgis_iface, frame)
    changed = gdal.Open(str(frame), gdal.GA_Update)
    for index in range(1, changed.RasterCount + 1):
        band = changed.GetRasterBand(index)
        values = band.ReadAsArray()  # new pixels, the same collar (0) and so the same footprint
        band.WriteArray(np.where(values > 0, np.maximum(255 - values, 1), 0))
    changed = band = None
    dock.ui.publish.click()
    wait_idle(dock)
    assert table_rows(dock)[frame.name]["Status"].startswith("Published;"), table_rows(dock)
    after = previewed_pixels(dock, qgis_iface, frame)
    key = collection_of("Mesa").key("cog", frame.name)
    published = tmp_path / "published.tif"
    s3_client(configured).download_file(configured["s3"]["bucket"], key, str(published))
    assert np.array_equal(after, gdal.Open(str(published)).ReadAsArray())
    assert not np.array_equal(after, before)


def previewed_pixels(dock, iface, frame):
    """The pixels of the COG that Preview shows, read the way QGIS reads it (GDAL, its cache)."""
    raster, _footprint = preview(dock, iface, frame)
    assert raster.source().startswith("/vsicurl/")
    return gdal.Open(raster.source()).ReadAsArray()


def test_cancel_mid_publish_leaves_nothing_half_written(dock, configured, tmp_path):
    collection = collection_of("Boulder")
    frames = add_frames(dock, configured, tmp_path, "Boulder")
    reached, release = threading.Event(), threading.Event()

    def hold_in_second_frame(value):
        # in the worker thread: the second frame (30–60 %) is being made; wait for the click
        if value > 35 and not reached.is_set():
            reached.set()
            release.wait(60)

    logged = []

    def log(message, tag, level):
        logged.append((tag, level, message))

    QgsApplication.messageLog().messageReceived.connect(log)
    dock.ui.publish.click()
    dock.main_job.feedback.progressChanged.connect(hold_in_second_frame, Qt.DirectConnection)
    wait_until(reached.is_set, "the second frame to start")
    spin()
    dock.ui.cancel.click()
    release.set()
    try:
        wait_idle(dock)
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(log)

    assert dock.main_job.ok is False and dock.main_job.canceled
    first = frames[0].name
    assert plain(dock.ui.message) == (
        f"Canceled. Kept (published before the cancel, in the index and the WMS): {first}. "
        "2 frame(s) not published: click Publish to go on."
    )
    # a cancel is not an error: nothing of the run is logged as critical
    ours = [(level, text) for tag, level, text in logged if tag == "LS4"]
    assert ours and all(level != Qgis.MessageLevel.Critical for level, _ in ours), ours
    # the progress bar says how the job ended, not the percentage it had reached
    assert dock.ui.progress.text() == f"{dock.main_job.title}: canceled"
    assert dock.ui.progress.value() == 0
    assert set(objects(configured, collection.prefix())) == {
        collection.key("georef", first),
        collection.key("cog", first),
    }
    assert [
        row["location"].rsplit("/", 1)[1] for row in index_rows(configured, collection.table)
    ] == [first]
    # the collection stays consistent: its mapfile shows the frame that was finished
    assert collection.mapfile_key in objects(configured, "mapfiles/")
    statuses = {name: row["Status"] for name, row in table_rows(dock).items()}
    assert statuses == {
        first: "Published",
        frames[1].name: "Ready to publish",
        frames[2].name: "Ready to publish",
    }

    # another collection: nothing the canceled job said stays
    type_into(dock.ui.county, "Weld")
    assert (dock.ui.progress.text(), dock.ui.progress.value()) == ("", 0)
    assert plain(dock.ui.message) == ""
    wait_idle(dock)
    statuses = {name: row["Status"] for name, row in table_rows(dock).items()}
    assert "Published" not in " ".join(statuses.values())


def test_every_gui_string_has_a_spanish_translation():
    translated = read_ts(REPO / "i18n" / "ls4_es.ts")
    strings = source_strings()
    assert sum(len(texts) for texts in strings.values()) > 100
    for context, texts in strings.items():
        for text in texts:
            translation = translated.get((context, text))
            assert translation, f"{context}: {text!r} has no Spanish translation"
            assert translation.count("{") == text.count("{"), (text, translation)


@pytest.fixture
def spanish(qgis_iface, qgis_processing, real_docking, tmp_path):
    """The plugin started by a QGIS whose locale is Spanish, with the compiled translation."""
    lrelease = shutil.which("lrelease") or shutil.which("lrelease-qt5")
    subprocess.run(
        [lrelease, "-silent", str(REPO / "i18n" / "ls4_es.ts"), "-qm", str(tmp_path / "ls4_es.qm")],
        check=True,
    )
    qgis_settings = QgsSettings()
    before = qgis_settings.value("locale/userLocale", "")
    qgis_settings.setValue("locale/userLocale", "es_ES")
    registry = QgsApplication.processingRegistry()
    if registry.providerById("ls4") is not None:
        registry.removeProvider(registry.providerById("ls4"))
    plugin = ls4.classFactory(qgis_iface)
    plugin.i18n_dir = str(tmp_path)  # where the build puts the compiled translations
    try:
        plugin.initGui()
        yield plugin
    finally:
        if plugin.dock is not None:  # not unloaded by the test itself
            wait_idle(plugin.dock)
            stop_plugin(plugin)
        qgis_settings.setValue("locale/userLocale", before)


def test_spanish_qgis_gets_a_spanish_dock_and_unload_removes_the_translation(spanish):
    dock = spanish.dock
    assert dock.windowTitle() == "LS4 — publicar una colección"
    assert (dock.ui.publish.text(), dock.ui.check.text()) == ("Publicar", "Cargar WMS")
    assert plain(dock.ui.collection).startswith("Escriba la agencia")
    assert [action.text() for action in spanish.actions] == [
        "Panel LS4",
        "Configuración de LS4…",
    ]
    assert QCoreApplication.translate("Ls4Dock", "Publish") == "Publicar"
    stop_plugin(spanish)
    assert QCoreApplication.translate("Ls4Dock", "Publish") == "Publish"


# Words of English that are not Spanish: none of them may reach the Spanish dock
ENGLISH_WORDS = (
    "the is not of and to in cannot could connect connection there named failed with from "
    "which this be are was has have does found missing published enter year look up trying "
    "again every server refused running must digits four collection frames frame ready "
    "publish settings load upload details nothing answers port did you mean list county "
    "agency mission code letters only contain"
)
ENGLISH = frozenset(ENGLISH_WORDS.split())


def english_words(text):
    """The English words of ``text``, leaving out the values it quotes and names it holds."""
    text = re.sub(r"'[^']*'|“[^”]*”|\([^)]*=[^)]*\)|\S*[/=_.:]\S*", " ", text)
    return sorted({word for word in re.findall(r"[A-Za-z]+", text) if word.lower() in ENGLISH})


def shown_texts(dock):
    """Every text the dock shows: labels, buttons, group titles, table, progress bar."""
    root = dock.ui.root
    texts = [plain(label) for label in root.findChildren(QLabel) if label.isVisibleTo(dock)]
    texts += [b.text() for b in root.findChildren(QAbstractButton) if b.isVisibleTo(dock)]
    texts += [group.title() for group in root.findChildren(QGroupBox)]
    table = dock.ui.table
    texts += [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    texts += [cell["Status"] for cell in table_rows(dock).values()]
    texts.append(dock.ui.progress.text())
    return [text for text in texts if text]


def test_no_english_reaches_the_spanish_dock_after_a_failed_look_up(spanish, configured):
    dock = spanish.dock
    type_into(dock.ui.agency, "USGS")
    type_into(dock.ui.county, "Wled")
    type_into(dock.ui.year, "19x5")
    refusal = plain(dock.ui.collection)
    assert refusal == "No es una colección válida: el año '19x5' debe tener cuatro cifras"
    type_into(dock.ui.year, "2014")
    assert plain(dock.ui.collection) == (
        "No es una colección válida: 'Wled' no está en la lista de condados de Colorado: "
        "¿quiso decir Weld?"
    )
    good = settings.value("postgres/connection")
    settings.set_value("postgres/connection", "desaparecida")
    try:
        type_into(dock.ui.county, "Weld")
        wait_until(lambda: "No se puede" in plain(dock.ui.exists), "the look-up to fail")
        wait_idle(dock)
        failed = plain(dock.ui.exists)
        assert failed == (
            "No se puede buscar la colección: No hay ninguna conexión PostgreSQL llamada "
            "'desaparecida' en QGIS (Se vuelve a intentar cada 10 s.)"
        )
        texts = shown_texts(dock)
        assert failed in texts and len(texts) > 15
        assert {text: english_words(text) for text in texts if english_words(text)} == {}
    finally:
        settings.set_value("postgres/connection", good)


def core_messages(stack):
    """Messages the core gives a georeferencer, made by the core itself."""
    said = []

    def refusal(call, *args):
        with pytest.raises(Ls4Error) as caught:
            call(*args)
        said.append(str(caught.value))

    refusal(keys.check_year, "19x5")
    refusal(keys.check_year, "1703")
    refusal(keys.check_agency, "1usgs")
    refusal(keys.check_mission, "1963")
    refusal(keys.collection_from_form, {"COUNTY": "W3ld", "AGENCY": "USGS", "YEAR": "2014"}, "bw")
    refusal(keys.collection_from_form, {"COUNTY": "multicounty", "AGENCY": "USGS"}, "bw")
    refusal(counties.load(qgis_env.COLORADO_COUNTIES).canonical, "Wled")
    refusal(counties.load(qgis_env.COLORADO_COUNTIES).canonical, "Xyzzy")
    colour = collection_of("Weld")
    refusal(keys.reconcile, colour, replace(colour, band="bw").prefix())
    refusal(settings.connection_dsn, "gone")
    refusal(tileindex.connect, "host=127.0.0.1 port=1 dbname=none connect_timeout=2")
    weld = replace(colour, band="bw")
    said += publish._scan_warnings(target(stack), weld, "04-15-14_1-002.tif", None)
    frame_and_service_messages(stack, refusal)
    said += run_messages(stack)
    return said


def run_messages(stack):
    """publishcollection's error for a run that published no frame (with and without its
    REPORT), from a real run of the core over frames it cannot read."""
    folder = Path(tempfile.mkdtemp(prefix="ls4-run-messages-"))
    moffat = replace(collection_of("Moffat"), band="bw")
    try:
        whole = (sample_collection.DATA / "hro_colorado_gray.tif").read_bytes()
        truncated, empty = folder / "04-15-14_1-001.tif", folder / "04-15-14_1-002.tif"
        truncated.write_bytes(whole[: len(whole) // 2])
        empty.write_bytes(b"")
        both = publish.publish_collection(target(stack), moffat, [str(truncated), str(empty)])
        one = publish.publish_collection(target(stack), moffat, [str(empty)])
        return [
            no_frame_published(both, str(folder / "report.json")),
            no_frame_published(one),
        ]
    finally:
        forget_collection(stack, moffat)
        shutil.rmtree(folder)


def frame_and_service_messages(stack, refusal):
    """Files the core cannot read or publish, and services it cannot reach, made by the core."""
    folder = Path(tempfile.mkdtemp(prefix="ls4-messages-"))
    try:
        empty, truncated, no_crs = (folder / name for name in ("e.tif", "t.tif", "n.tif"))
        empty.write_bytes(b"")
        whole = (sample_collection.DATA / "hro_colorado_gray.tif").read_bytes()
        truncated.write_bytes(whole[: len(whole) // 2])
        made = gdal.GetDriverByName("GTiff").Create(str(no_crs), 8, 8, 1, gdal.GDT_Byte)
        made.SetGeoTransform([500000, 1, 0, 4000000, 0, -1])  # and no CRS
        made = None
        for path in (folder / "gone.tif", folder, empty, truncated):
            refusal(rasterinfo.inspect_raster, path)
        refusal(
            cog.make_cog, sample_collection.DATA / "hro_colorado_gray_scan.tif", folder / "c.tif"
        )
        refusal(cog.make_cog, no_crs, folder / "c.tif")
    finally:
        shutil.rmtree(folder)
    closed = replace(target(stack).s3, endpoint_url="http://127.0.0.1:1", max_attempts=1)
    refusal(storage.head, closed, "bw/x.tif")
    refusal(
        mapfile.build_mapfile,
        "weld_usgs_2014_frames",
        "Weld",
        "weld_usgs_2014_frames",
        None,
        "http://h/wms",
    )
    refusal(stac.frame_dates, collection_of("Weld"), "04-15-64_1-001.tif")


def test_the_core_messages_read_as_the_core_wrote_them_in_english(configured):
    messages = core_messages(configured)
    assert len(messages) == 23
    plainly = ("Cannot connect to PostgreSQL", "S3 at http://127.0.0.1:1 cannot be reached")
    for message in messages:
        if not message.startswith(plainly):  # libpq's and botocore's words, said plainly
            assert localize(message) == message
    refused = next(m for m in messages if m.startswith(plainly[0]))
    assert localize(refused).endswith(
        ": nothing answers at this host and port (is the server running?)"
    )
    unreachable = next(m for m in messages if m.startswith(plainly[1]))
    assert localize(unreachable) == (
        "S3 at http://127.0.0.1:1 cannot be reached for s3://ls4/bw/x.tif: "
        "nothing answers at this address (is the server running?)"
    )


def test_the_core_messages_a_georeferencer_meets_are_all_in_spanish(spanish, configured):
    english = {}
    for message in core_messages(configured):
        words = english_words(localize(message))
        if words:
            english[localize(message)] = words
    assert english == {}


def test_the_spanish_settings_dialog_tests_the_connections_in_spanish(spanish, configured):
    from ls4.ls4_plugin.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(collection="")
    try:
        dialog.show()
        dialog.test_button.click()
        wait_until(lambda: not dialog.testing(), "Test connections to answer", timeout=60)
        results = plain(dialog.results)
        assert "✔ S3: el bucket 'ls4' en http://127.0.0.1" in results, results
        assert "Los tres funcionan." in results, results
        texts = [results] + [
            label.text() for label in dialog.findChildren(QLabel) if label.isVisibleTo(dialog)
        ]
        texts += [b.text() for b in dialog.findChildren(QAbstractButton) if b.isVisibleTo(dialog)]
        texts += [group.title() for group in dialog.findChildren(QGroupBox)]
        assert len(texts) > 15
        assert {text: english_words(text) for text in texts if english_words(text)} == {}
    finally:
        dialog.reject()
        dialog.deleteLater()


def test_every_button_is_visible_at_the_default_dock_width(plugin):
    """QGIS docks the panel 298 px wide: every button lies inside the visible part of the dock,
    with no horizontal scrolling and none squeezed below the width its text needs."""
    dock = plugin.dock
    dock._show_public_read("no")  # as a look-up shows it: the policy's offer has a button too
    dock.setFloating(True)
    dock.resize(298, 1100)
    dock.show()
    spin()
    viewport = dock.ui.root.viewport()
    if os.environ.get("LS4_SCREENSHOT_DIR"):  # docs/dock-298px.png, as test_screenshot does
        dock.grab().save(str(Path(os.environ["LS4_SCREENSHOT_DIR"]) / "dock-298px.png"), "PNG")
    assert not dock.ui.root.horizontalScrollBar().isVisible()
    buttons = [value for value in vars(dock.ui).values() if isinstance(value, QAbstractButton)]
    assert {dock.ui.check, dock.ui.settings, dock.ui.publish, dock.ui.cancel} <= set(buttons)
    for button in buttons:
        corner = button.mapTo(viewport, button.rect().topLeft())
        inside = viewport.rect().contains(QRect(corner, button.size()))
        assert inside, (button.text(), corner, button.size(), viewport.size())
        assert button.width() >= button.minimumSizeHint().width(), button.text()
    shown = [button for button in buttons if button.isVisible()]
    for number, button in enumerate(shown):  # wrapped onto new lines, not drawn over each other
        for other in shown[number + 1 :]:
            here = QRect(button.mapTo(viewport, button.rect().topLeft()), button.size())
            there = QRect(other.mapTo(viewport, other.rect().topLeft()), other.size())
            assert not here.intersects(there), (button.text(), other.text())


def test_a_long_status_is_read_whole_at_the_default_dock_width(dock, sample):
    """At 298 px the Status column is narrow: the selected file's status is shown in full
    under the table, wrapped, and its cell wraps too (no tooltip needed)."""
    dock.setFloating(True)
    dock.resize(298, 1100)
    dock.show()
    set_collection(dock, "Weld", AGENCY, YEAR)
    path = sample("hro_colorado_rgb.tif")
    dock.add_files([path])
    wait_idle(dock)
    status = table_rows(dock)[path.name]["Status"]
    assert len(status) > 150 and "Rename it like 04-15-52_12-034.tif" in status
    dock.ui.table.select_paths([path])
    for _ in range(5):  # the layout settles in the event loop
        spin()
    details = dock.ui.details
    assert plain(details) == f"{path.name}: {status}"
    viewport = dock.ui.root.viewport()
    corner = details.mapTo(viewport, details.rect().topLeft())
    assert details.isVisible() and corner.x() >= 0
    assert corner.x() + details.width() <= viewport.width()  # wrapped inside the dock
    assert details.height() >= details.heightForWidth(details.width())  # no line cut off
    table = dock.ui.table
    cell = table.visualItemRect(table.item(0, 4))
    assert cell.height() > 2 * table.fontMetrics().height()  # the cell wraps its status
    assert fits(table, 0, 4), "the status cell cuts its text"
    dock.resize(640, 1100)  # wider: the rows are fitted to the new column width again
    for _ in range(5):
        spin()
    assert fits(table, 0, 4), "the status cell cuts its text"
    assert table.rowHeight(0) < cell.height()  # and no taller than it needs
    dock.ui.table.clearSelection()
    spin()
    assert plain(details) == ""


def fits(table, row, column):
    """Whether the cell is tall enough for its whole text, wrapped at its width."""
    rect = table.visualItemRect(table.item(row, column))
    text = table.item(row, column).text()
    needed = table.fontMetrics().boundingRect(
        QRect(0, 0, rect.width() - 8, 100000), Qt.TextFlag.TextWordWrap, text
    )
    return needed.height() <= rect.height()
