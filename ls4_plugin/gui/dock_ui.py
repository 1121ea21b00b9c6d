"""The dock's widgets, laid out in the order of a georeferencer's day."""

from types import SimpleNamespace

from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .widgets import FileTable, FlowLayout

TR_CONTEXT = "Ls4Dock"


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


def build_ui(parent):
    """Every widget of the dock, as attributes of a namespace; ``root`` holds them all."""
    ui = SimpleNamespace()
    content = QWidget()
    layout = QVBoxLayout(content)
    layout.addWidget(_collection_group(ui))
    layout.addWidget(_files_group(ui), 1)
    layout.addWidget(_publish_group(ui))
    # the bucket's settings: the public-read policy, offered when a look-up finds it missing
    ui.policy = _label()
    ui.apply_policy = QPushButton(tr("Apply the policy"))  # short: the dock is 298 px wide
    ui.apply_policy.setToolTip(
        tr(
            "The public-read policy: scanned/, georef/, cog/ and geojson/ of the bucket become "
            "readable by anyone"
        )
    )
    ui.policy.setVisible(False)
    ui.apply_policy.setVisible(False)
    layout.addWidget(ui.policy)
    ui.settings = QPushButton(tr("Settings…"))
    ui.settings.setToolTip(tr("S3, PostgreSQL and MapServer, and a test of each"))
    footer = QHBoxLayout()
    footer.addStretch(1)
    footer.addWidget(ui.apply_policy)
    footer.addWidget(ui.settings)
    layout.addLayout(footer)
    ui.root = QScrollArea(parent)
    ui.root.setWidgetResizable(True)
    ui.root.setWidget(content)
    return ui


def _collection_group(ui):
    group = QGroupBox(tr("1. Collection"))
    form = QFormLayout(group)
    ui.county = QLineEdit()
    ui.county.setPlaceholderText(tr("e.g. Fort Bend; empty for a multi-county mission"))
    ui.agency = QLineEdit()
    ui.agency.setPlaceholderText(tr("e.g. TxDOT"))
    ui.year = QLineEdit()
    ui.year.setPlaceholderText(tr("e.g. 1952, or a mission code like AR-1963"))
    ui.year_label = QLabel(tr("Year"))
    ui.type = QComboBox()
    for key, label in (
        ("frames", tr("Frames")),
        ("index", tr("Index sheets")),
        ("mosaic", tr("Mosaic")),
    ):
        ui.type.addItem(label, key)
    ui.band = QComboBox()
    ui.band.addItem(tr("Black and white (1 band)"), "bw")
    ui.band.addItem(tr("Natural color (3 bands)"), "nc")
    for combo in (ui.type, ui.band):
        _narrow(combo)
    form.addRow(tr("County"), ui.county)
    form.addRow(tr("Agency"), ui.agency)
    form.addRow(ui.year_label, ui.year)
    form.addRow(tr("Type"), ui.type)
    form.addRow(tr("Bands"), ui.band)
    ui.collection = _label()
    ui.exists = _label()
    ui.capabilities = _label()
    ui.capabilities.setOpenExternalLinks(True)
    form.addRow(ui.collection)
    form.addRow(ui.exists)
    form.addRow(ui.capabilities)
    return group


def _files_group(ui):
    group = QGroupBox(tr("2. Files"))
    box = QVBoxLayout(group)
    ui.add_files = QPushButton(tr("Add files…"))
    ui.add_layers = QToolButton()
    ui.add_layers.setText(tr("From project"))
    ui.add_layers.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    ui.layers_menu = QMenu(ui.add_layers)
    ui.add_layers.setMenu(ui.layers_menu)
    ui.remove = QPushButton(tr("Remove"))
    box.addLayout(_row(ui.add_files, ui.add_layers, ui.remove))
    ui.table = FileTable()
    ui.table.setMinimumHeight(100)  # it takes the height there is; this is when there is none
    box.addWidget(ui.table, 1)
    ui.details = _label()  # the selected files' status in full: the column is narrow
    ui.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.addWidget(ui.details)
    ui.transform = QComboBox()
    for label in (
        tr("Polynomial 1"),
        tr("Polynomial 2"),
        tr("Polynomial 3"),
        tr("Thin plate spline"),
    ):
        ui.transform.addItem(label)
    ui.transform.setToolTip(tr("Transformation used by Apply .points"))
    _narrow(ui.transform)
    ui.apply_points = QPushButton(tr("Apply .points"))
    ui.apply_points.setToolTip(tr("Georeference the selected scans with the .points next to them"))
    ui.georeferencer = QPushButton(tr("Georeferencer…"))
    ui.georeferencer.setToolTip(tr("Open QGIS's Georeferencer to place the points of a scan"))
    ui.preview = QPushButton(tr("Preview"))
    ui.preview.setToolTip(tr("Show the selected frame and its footprint on the map"))
    box.addLayout(_row(ui.transform, ui.apply_points, ui.georeferencer, ui.preview))
    return group


def _publish_group(ui):
    group = QGroupBox(tr("3. Publish and check"))
    box = QVBoxLayout(group)
    ui.upload = QPushButton(tr("Upload scans"))
    ui.upload.setToolTip(tr("Upload the raw scans to the collection's scanned/ folder"))
    ui.publish = QPushButton(tr("Publish"))
    ui.publish.setToolTip(tr("COGs, tile index and mapfile for every frame ready to publish"))
    ui.cancel = QPushButton(tr("Cancel"))
    ui.check = QPushButton(tr("Load WMS"))
    ui.check.setToolTip(tr("Add the collection's live WMS to the map and zoom to it"))
    box.addLayout(_row(ui.upload, ui.publish, ui.cancel, ui.check))
    ui.progress = QProgressBar()
    ui.progress.setRange(0, 100)
    ui.progress.setValue(0)
    box.addWidget(ui.progress)
    ui.message = _label()
    ui.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.addWidget(ui.message)
    return group


def _narrow(combo):
    """A combo box that may be narrower than its longest choice (the dock is 298 px wide)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)


def _label():
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def _row(*widgets):
    """The widgets in a row that wraps: the dock is 298 px wide when QGIS first docks it."""
    row = FlowLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row
