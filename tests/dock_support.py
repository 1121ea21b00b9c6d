"""What the dock, settings and screenshot tests share (helpers, no fixtures, no conftest).

Tests may spin the event loop (production code never does): tasks report on the main thread.
"""

import time
from pathlib import Path

import numpy as np
import pytest
from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, Qt, QUrl
from qgis.PyQt.QtGui import QDropEvent, QImage, QTextDocumentFragment

import ls4
from ls4.ls4_plugin.gui.jobs import task_pool


def spin(seconds=0.01):
    QgsApplication.processEvents()
    time.sleep(seconds)


def wait_until(predicate, what, timeout=120):
    """Spin the event loop until ``predicate()`` holds; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        spin()


def wait_idle(dock, timeout=120):
    def running():
        jobs = list(dock.jobs) + [dock.main_job]
        tasks = QgsApplication.taskManager().tasks()
        pool = task_pool()  # a queued task waits for a thread of this pool
        return (
            f"the dock's algorithms to finish: {[j.title for j in jobs if j and j.running]}, "
            f"tasks {[(t.description(), t.status()) for t in tasks]}, "
            f"{pool.activeThreadCount()} of {pool.maxThreadCount()} pool threads busy"
        )

    wait_until(lambda: not dock.busy(), running, timeout)
    spin(0)


def delete_later_now():
    """Run the deletions ``deleteLater`` has queued (QGIS does it in its event loop)."""
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def start_plugin(iface):
    """The plugin as QGIS starts it (the ``ls4`` provider of an earlier test removed first)."""
    registry = QgsApplication.processingRegistry()
    if registry.providerById("ls4") is not None:
        registry.removeProvider(registry.providerById("ls4"))
    plugin = ls4.classFactory(iface)
    plugin.initGui()
    return plugin


def stop_plugin(plugin):
    """Unload, and give back the provider the other tests expect to find."""
    plugin.unload()
    delete_later_now()
    from conftest import ensure_provider

    ensure_provider()


def set_collection(dock, county, agency, year, type_index=0, band="bw"):
    dock.ui.county.setText(county)
    dock.ui.agency.setText(agency)
    dock.ui.year.setText(year)
    dock.ui.type.setCurrentIndex(type_index)
    dock.ui.band.setCurrentIndex(dock.ui.band.findData(band))


def drop_files(widget, paths):
    """Drop files on ``widget`` as a file manager does (a drag with file URLs)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(QPoint(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    widget.dropEvent(event)
    return event.isAccepted()


def table_rows(dock):
    """The table as a user reads it: {file name: {column: text}}."""
    table = dock.ui.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return {
        table.item(r, 0).text(): {
            headers[c]: table.item(r, c).text() for c in range(table.columnCount())
        }
        for r in range(table.rowCount())
    }


def render_canvas(canvas, timeout=60):
    """Render the canvas as QGIS does and return what it shows as an RGBA array."""
    events = []

    def started():
        events.append("start")

    def finished():
        events.append("done")

    canvas.renderStarting.connect(started)
    canvas.mapCanvasRefreshed.connect(finished)
    canvas.refreshAllLayers()
    try:
        # a render asked for earlier may end first: wait for the end of the last one to start
        wait_until(
            lambda: "start" in events and events[-1] == "done" and not canvas.isDrawing(),
            "the canvas to render",
            timeout,
        )
    finally:
        canvas.renderStarting.disconnect(started)
        canvas.mapCanvasRefreshed.disconnect(finished)
    return image_array(canvas.grab().toImage())


def image_array(image):
    image = image.convertToFormat(QImage.Format_RGBA8888)
    width, height = image.width(), image.height()
    data = image.constBits().asstring(width * height * 4)
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)


def project_layers(name_part):
    return [
        layer for layer in QgsProject.instance().mapLayers().values() if name_part in layer.name()
    ]


def forget_collection(stack, collection):
    """Remove what an earlier run published for ``collection`` (a reused stack keeps it)."""
    from publish_support import target

    from ls4.ls4_plugin.core import storage, tileindex

    config = target(stack).s3
    keys = list(storage.list_keys(config, collection.prefix()))
    storage.delete_keys(config, keys + [collection.mapfile_key])
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.drop_table(conn, collection.table)
    map_path = Path(stack["mapserver"]["map_dir"]) / f"{collection.name}.map"
    map_path.unlink(missing_ok=True)


def plain(label):
    """A rich-text label's text as it reads on screen."""
    return QTextDocumentFragment.fromHtml(label.text()).toPlainText()


def private_canvas(iface, monkeypatch):
    """A map canvas of the test's own, as ``iface.mapCanvas()``.

    pytest-qgis shares one canvas with every test of the session: a test that zooms it to its
    own collection leaves it rendering over there when the next test adds and removes layers.
    """
    from qgis.core import QgsCoordinateReferenceSystem
    from qgis.gui import QgsMapCanvas

    canvas = QgsMapCanvas()
    canvas.resize(600, 400)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    monkeypatch.setattr(iface, "mapCanvas", lambda: canvas)
    return canvas


def drop_canvas(canvas):
    canvas.stopRendering()
    canvas.setLayers([])
    canvas.deleteLater()
    delete_later_now()
