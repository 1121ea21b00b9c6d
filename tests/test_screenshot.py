"""The README's screenshot: the dock next to a map of a collection it has just published.

Taken from a real run on the stack. Written to ``tmp_path``; with ``LS4_SCREENSHOT_DIR=docs`` it
replaces ``docs/dock.png`` (look at it before committing).
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from dock_support import (
    drop_canvas,
    forget_collection,
    image_array,
    private_canvas,
    render_canvas,
    set_collection,
    spin,
    start_plugin,
    stop_plugin,
    wait_idle,
)
from publish_support import target
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QImage
from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget

from ls4.ls4_plugin.core import keys, storage
from tools import qgis_env, sample_collection

COUNTY, AGENCY, YEAR = "Jefferson", "USGS", "2014"
SIZE = (1480, 940)


@pytest.fixture
def plugin(stack, qgis_iface, qgis_processing, monkeypatch):
    qgis_env.configure(stack)
    storage.apply_public_policy(target(stack).s3)
    window = qgis_iface.mainWindow()
    monkeypatch.setattr(qgis_iface, "addDockWidget", window.addDockWidget)
    monkeypatch.setattr(qgis_iface, "removeDockWidget", window.removeDockWidget)
    zoomed = private_canvas(qgis_iface, monkeypatch)
    started = start_plugin(qgis_iface)
    yield started
    wait_idle(started.dock)
    stop_plugin(started)
    QgsProject.instance().removeAllMapLayers()
    drop_canvas(zoomed)


def publish_sample(dock, stack, folder, data_dir):
    """The georeferencer's day, briefly: frames and a scan in, publish, preview, load the WMS."""
    collection = keys.Collection(band="nc", type="frames", agency=AGENCY, county=COUNTY, year=YEAR)
    forget_collection(stack, collection)
    frames = sample_collection.cut_frames(
        "nc", folder, count=4, source_name="landsat_rgb_utm18n.tif"
    )
    scan = folder / "scans" / sample_collection.frame_name(1)
    scan.parent.mkdir()
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif", scan)
    shutil.copy(data_dir / "hro_colorado_gray_scan.tif.points", f"{scan}.points")
    set_collection(dock, COUNTY, AGENCY, YEAR, band="nc")
    dock.add_files([scan, *frames])
    wait_idle(dock)
    dock.ui.publish.click()
    wait_idle(dock)
    assert dock.main_job.ok, dock.ui.message.text()
    dock.ui.table.select_paths([frames[1]])
    dock.ui.preview.click()
    wait_idle(dock)
    dock.ui.check.click()
    wait_idle(dock)
    assert dock.main_job.ok, dock.ui.message.text()
    return QgsProject.instance().mapLayer(dock.main_job.results["LAYER_ID"])


def map_next_to_dock(dock, layers):
    """A map canvas and the dock side by side, as in QGIS's main window."""
    window = QWidget()
    window.setWindowTitle("LS4")
    row = QHBoxLayout(window)
    canvas = QgsMapCanvas(window)
    canvas.setCanvasColor(QColor("#f4f4f0"))
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    canvas.setLayers(layers)
    dock.parentWidget().removeDockWidget(dock)
    row.addWidget(canvas, 1)
    row.addWidget(dock)
    dock.setMinimumWidth(640)
    dock.show()
    window.resize(*SIZE)
    window.show()
    return window, canvas


def test_screenshot_of_the_dock_next_to_a_published_collection(plugin, stack, data_dir, tmp_path):
    dock = plugin.dock
    wms = publish_sample(dock, stack, tmp_path, data_dir)
    preview = [
        layer for layer in QgsProject.instance().mapLayers().values() if "footprint" in layer.name()
    ]
    window, canvas = map_next_to_dock(dock, preview + [wms])
    extent = QgsCoordinateTransform(
        wms.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance()
    ).transformBoundingBox(wms.extent())
    extent.scale(1.05)
    canvas.setExtent(extent)
    render_canvas(canvas)
    spin()
    image = window.grab().toImage()
    folder = Path(os.environ.get("LS4_SCREENSHOT_DIR") or tmp_path)
    path = folder / "dock.png"
    # 256 colours: a third of the size, for the repository; the checks below use the original
    small = image.convertToFormat(QImage.Format_Indexed8, Qt.OrderedDither)
    assert small.save(str(path), "PNG", 0)
    window.close()
    plugin.iface.mainWindow().addDockWidget(Qt.RightDockWidgetArea, dock)  # back, for unload

    pixels = image_array(image)
    assert pixels.shape[:2] == (SIZE[1], SIZE[0])
    map_part = pixels[:, : canvas.width()]
    background = np.all(map_part[..., :3] == (0xF4, 0xF4, 0xF0), axis=-1)
    assert (~background).mean() > 0.3, "the published frames cover much of the map"
    dock_part = pixels[:, -dock.width() :]
    assert len(np.unique(dock_part.reshape(-1, 4), axis=0)) > 50, "the dock is drawn, with text"
