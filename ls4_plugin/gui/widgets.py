"""Small widgets of the dock: the file table that takes drops, and how rows are painted."""

import os

from qgis.core import QgsMimeDataUtils, QgsProviderRegistry
from qgis.PyQt.QtCore import (
    QCoreApplication,
    QItemSelectionModel,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    pyqtSignal,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLayout,
    QTableWidget,
    QTableWidgetItem,
)

from .files import FRAME, SCAN, UNREADABLE, is_raster_path, kind_label

TR_CONTEXT = "Ls4FileTable"
PROBLEM_COLOR = QColor("#b00020")
GOOD_COLOR = QColor("#1b5e20")
TEXT_MARGINS = 10  # what a cell keeps around its text, and some more
WRAP = Qt.TextFlag.TextWordWrap


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


def gdal_path(source):
    """The file behind a GDAL layer source (which may carry options after a ``|``)."""
    parts = QgsProviderRegistry.instance().decodeUri("gdal", source)
    return parts.get("path") or source


def dropped_paths(mime):
    """Raster files in a drop: file URLs (file manager) or raster layers (QGIS browser)."""
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    if QgsMimeDataUtils.isUriList(mime):
        for uri in QgsMimeDataUtils.decodeUriList(mime):
            if uri.layerType == "raster" and uri.providerKey == "gdal":
                paths.append(gdal_path(uri.uri))
    return [path for path in paths if is_raster_path(path)]


class FileTable(QTableWidget):
    """The list of files: one row per file; files dropped on it are offered to the dock."""

    files_dropped = pyqtSignal(list)
    COLUMNS = ("File", "Kind", "CRS", "Bands", "Status")

    def __init__(self, parent=None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(
            [tr("File"), tr("Kind"), tr("CRS"), tr("Bands"), tr("Status")]
        )
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setWordWrap(True)  # a long status wraps in its cell (rows fit their content)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # a wrapped status needs its row's height again whenever its column's width changes
        header.sectionResized.connect(lambda *_: self.fit_rows())
        self._fit_rows = QTimer(self)  # owned by the table: it goes when the table does
        self._fit_rows.setSingleShot(True)
        self._fit_rows.setInterval(0)
        self._fit_rows.timeout.connect(self.fit_rows)
        self.setToolTip(tr("Drop GeoTIFF files or raster layers here"))

    def fit_rows(self):
        """Each row as tall as its wrapped status needs at the column's width (Qt's own
        ``resizeRowsToContents`` measures wrapped text too short)."""
        status = self.COLUMNS.index("Status")
        width = max(20, self.columnWidth(status) - TEXT_MARGINS)
        metrics = self.fontMetrics()
        least = self.verticalHeader().defaultSectionSize()
        for number in range(self.rowCount()):
            item = self.item(number, status)
            text = item.text() if item is not None else ""
            box = metrics.boundingRect(QRect(0, 0, width, 100000), WRAP, text)
            self.setRowHeight(number, max(least, box.height() + TEXT_MARGINS))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        # the stretched Status column has its new width once the header has laid out
        self._fit_rows.start()

    def dragEnterEvent(self, event):
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event):
        self.dragEnterEvent(event)

    def dropEvent(self, event):
        paths = dropped_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped.emit(paths)

    def show_rows(self, rows, collection, stored_band="", pending=False):
        """Fill the table from ``rows`` (FileRow), keeping the selection by path;
        ``stored_band``: the band layout the collection is published with, if it is;
        ``pending``: the collection's look-up has not answered yet."""
        selected = set(self.selected_paths())
        self.clearSelection()
        self.setRowCount(len(rows))
        for number, row in enumerate(rows):
            self._fill(number, row, collection, stored_band, pending)
            if row.path in selected:
                self._select(number)
        self.fit_rows()

    def _fill(self, number, row, collection, stored_band, pending):
        status = row.status(collection, stored_band, pending)
        cells = (row.name, kind_label(row.kind), row.crs, row.bands_text(), status)
        tip = self._tooltip(row, status)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, row.path)
            item.setToolTip(tip)
            self.setItem(number, column, item)
        color = self._status_color(row, collection, stored_band)
        if color is not None:
            self.item(number, 4).setForeground(color)

    @staticmethod
    def _tooltip(row, status):
        return f"{row.path}\n{status}"

    @staticmethod
    def _status_color(row, collection, stored_band):
        problems = row.blocking_problems(collection, stored_band)
        if row.kind == UNREADABLE or row.failed or problems:
            return PROBLEM_COLOR
        if row.kind == SCAN:
            return None
        if row.kind == FRAME:
            return GOOD_COLOR
        return None

    def selected_paths(self):
        rows = sorted({index.row() for index in self.selectedIndexes()})
        return [
            self.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in rows if self.item(row, 0)
        ]

    def _select(self, number):
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().select(self.model().index(number, 0), flags)

    def select_paths(self, paths):
        """Select the rows of ``paths`` (and only those)."""
        wanted = {os.fspath(path) for path in paths}
        self.clearSelection()
        for number in range(self.rowCount()):
            if self.item(number, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                self._select(number)


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto the next line when the width runs out: one row of
    buttons in a wide dock, two or three rows at QGIS's default 298 px."""

    def __init__(self, parent=None, spacing=6):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item):
        self._items.append(item)

    def count(self):
        return len(self._items)

    def itemAt(self, index):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self):
        return True

    def heightForWidth(self, width):
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect):
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self):
        return self.minimumSize()

    def minimumSize(self):
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect, move):
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            if item.widget() is not None and not item.widget().isVisibleTo(self.parentWidget()):
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, line = area.x(), y + line + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y() + margins.bottom()
