"""LS4 settings: where to publish, and a real test of each service.

Secrets never pass through this dialog's settings: S3 keys are an authentication configuration of
QgsAuthManager (only its id is kept), PostgreSQL is one of QGIS's own connections.
"""

import json
from html import escape as html_escape

from osgeo import gdal
from qgis.core import QgsProviderRegistry
from qgis.gui import QgsAuthConfigSelect, QgsFileWidget, QgsGui, QgsProviderConnectionComboBox
from qgis.PyQt.QtCore import QCoreApplication, QSize, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from .jobs import AlgorithmJob
from .messages import localize

TR_CONTEXT = "Ls4SettingsDialog"


def escape(text):
    return html_escape(str(text), quote=False)


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


class SettingsDialog(QDialog):
    """The LS4 settings; OK saves them. ``collection`` names the WMS that Test connections asks."""

    def __init__(self, parent=None, collection=""):
        super().__init__(parent)
        self.setObjectName("Ls4SettingsDialog")
        self.setWindowTitle(tr("LS4 settings"))
        self.collection = collection
        self.job = None
        self.policy_job = None
        self.tested = {}  # the values the last Test connections ran with
        self.setSizeGripEnabled(True)  # it may be made larger (and smaller: it scrolls)
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.addWidget(self._s3_group())
        inner.addWidget(self._postgres_group())
        inner.addWidget(self._mapserver_group())
        inner.addWidget(self._cluster_group())
        self.test_button = QPushButton(tr("Test connections"))
        self.test_button.clicked.connect(self.test_connections)
        self.results = QLabel()
        self.results.setWordWrap(True)
        self.results.setTextFormat(Qt.TextFormat.RichText)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.test_button)
        inner.addWidget(self.results)
        self.apply_policy = QPushButton(tr("Apply the public-read policy"))
        self.apply_policy.setToolTip(
            tr(
                "Runs ls4:applypublicpolicy on the bucket of these settings: scanned/, georef/, "
                "cog/ and geojson/ become readable by anyone; everything else stays private"
            )
        )
        self.apply_policy.clicked.connect(self.apply_public_policy)
        self.apply_policy.setVisible(False)
        inner.addWidget(self.apply_policy)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        inner.addWidget(self.problem)
        inner.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        # as narrow as the content allows, never narrower: it scrolls down, never sideways
        margins = layout.contentsMargins().left() + layout.contentsMargins().right()
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(max(MINIMUM_WIDTH, content.minimumSizeHint().width() + bar + margins))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.load()

    def _s3_group(self):
        group = QGroupBox(tr("S3"))
        form = _form(group)
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText(tr("empty for AWS; e.g. https://s3.example.org"))
        self.region = QLineEdit()
        self.bucket = QLineEdit()
        self.authcfg = QgsAuthConfigSelect(self)
        self.authcfg.setToolTip(
            tr("A Basic configuration: user name = access key id, password = secret key")
        )
        self.legacy_acl = QCheckBox(tr("Also send a public-read ACL (buckets that use ACLs)"))
        self.public_url_base = QLineEdit()
        self.public_url_base.setPlaceholderText(tr("e.g. https://data.example.org (optional)"))
        form.addRow(tr("Endpoint URL"), self.endpoint)
        form.addRow(tr("Region"), self.region)
        form.addRow(tr("Bucket"), self.bucket)
        form.addRow(tr("Keys"), self.authcfg)
        form.addRow(self.legacy_acl)
        form.addRow(tr("Public URL base"), self.public_url_base)
        return group

    def _postgres_group(self):
        group = QGroupBox(tr("PostgreSQL (tile index)"))
        form = _form(group)
        self.connection = QgsProviderConnectionComboBox("postgres")
        self.connection.setAllowEmptyConnection(True)
        self.new_connection = QPushButton(tr("New PostGIS connection…"))
        self.new_connection.setToolTip(tr("QGIS's own dialog for a new PostgreSQL connection"))
        self.new_connection.clicked.connect(self.create_connection)
        self.mapfile_connection = QLineEdit()
        self.mapfile_connection.setToolTip(
            tr("How MapServer connects: a PostgreSQL service name, never a password")
        )
        row = QHBoxLayout()
        row.addWidget(self.connection, 1)
        row.addWidget(self.new_connection)
        form.addRow(tr("Connection"), row)
        form.addRow(tr("MapServer connects with"), self.mapfile_connection)
        return group

    def _mapserver_group(self):
        group = QGroupBox(tr("MapServer"))
        form = _form(group)
        self.wms_url_template = QLineEdit()
        self.wms_url_template.setPlaceholderText("https://maps.example.org/wms/{collection}")
        self.map_dir = QgsFileWidget()
        self.map_dir.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.tile_cache = QComboBox()
        self.tile_cache.addItem(tr("Map folder (this machine serves the tiles)"), "file")
        self.tile_cache.addItem(tr("S3 bucket (publish from any machine)"), "s3")
        self.tile_cache.setToolTip(
            tr(
                "Where MapProxy keeps the collections' tiles; publishing a frame clears its "
                "tiles there. Choose the bucket when the tile server is another machine."
            )
        )
        form.addRow(tr("WMS URL"), self.wms_url_template)
        form.addRow(tr("Map folder"), self.map_dir)
        form.addRow(tr("Tile cache"), self.tile_cache)
        return group

    def _cluster_group(self):
        group = QGroupBox(tr("Dask cluster"))
        form = _form(group)
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("tcp://host:8786")
        self.scheduler.setToolTip(
            tr("Publish collections on this Dask scheduler's workers; empty: on this machine")
        )
        form.addRow(tr("Scheduler"), self.scheduler)
        return group

    def load(self):
        self.endpoint.setText(settings.value("s3/endpoint_url"))
        self.region.setText(settings.value("s3/region"))
        self.bucket.setText(settings.value("s3/bucket"))
        self.authcfg.setConfigId(settings.value("s3/authcfg"))
        self.legacy_acl.setChecked(settings.value("s3/legacy_acl"))
        self.public_url_base.setText(settings.value("s3/public_url_base"))
        self.connection.setConnection(settings.value("postgres/connection"))
        self.mapfile_connection.setText(settings.value("postgres/mapfile_connection"))
        self.wms_url_template.setText(settings.value("mapserver/wms_url_template"))
        self.map_dir.setFilePath(settings.value("mapserver/map_dir"))
        self.tile_cache.setCurrentIndex(
            max(0, self.tile_cache.findData(settings.value("tiles/cache")))
        )
        self.scheduler.setText(settings.value("dask/scheduler"))

    def values(self):
        """The settings as the dialog has them now, by LS4 setting name."""
        return {
            "s3/endpoint_url": self.endpoint.text().strip(),
            "s3/region": self.region.text().strip(),
            "s3/bucket": self.bucket.text().strip(),
            "s3/authcfg": self.authcfg.configId(),
            "s3/legacy_acl": self.legacy_acl.isChecked(),
            "s3/public_url_base": self.public_url_base.text().strip(),
            "postgres/connection": self.connection.currentConnection() or "",
            "postgres/mapfile_connection": self.mapfile_connection.text().strip(),
            "mapserver/wms_url_template": self.wms_url_template.text().strip(),
            "mapserver/map_dir": self.map_dir.filePath().strip(),
            "tiles/cache": self.tile_cache.currentData(),
            "dask/scheduler": self.scheduler.text().strip(),
        }

    def problems(self):
        values = self.values()
        template = values["mapserver/wms_url_template"]
        if template and "{collection}" not in template:
            return tr("The WMS URL must contain {collection} where the collection's name goes.")
        return ""

    def accept(self):
        problem = self.problems()
        if problem:
            self.problem.setText(f"<span style='color:#b00020'>{problem}</span>")
            return
        for name, new_value in self.values().items():
            settings.set_value(name, new_value)
        super().accept()

    def test_connections(self):
        """Run ``ls4:testconnections`` on the values shown (saved or not)."""
        values = self.values()
        params = {
            "S3_ENDPOINT": values["s3/endpoint_url"],
            "S3_REGION": values["s3/region"],
            "S3_BUCKET": values["s3/bucket"],
            "S3_AUTHCFG": values["s3/authcfg"],
            "DATABASE": values["postgres/connection"],
            "WMS_URL_TEMPLATE": values["mapserver/wms_url_template"],
            "COLLECTION": self.collection,
        }
        self.tested = values
        self.test_button.setEnabled(False)
        self.apply_policy.setVisible(False)
        self.results.setText(tr("Testing S3, PostgreSQL and MapServer…"))
        self.job = AlgorithmJob("ls4:testconnections", params, tr("LS4: test connections"))
        self.job.done.connect(self._tested)
        self.job.start()

    def _tested(self, ok, results):
        self.test_button.setEnabled(True)
        if not ok:
            self.results.setText(
                f"<span style='color:#b00020'>{escape(self.job.error_text())}</span>"
            )
            return
        lines = []
        for entry in json.loads(results["REPORT"]):
            mark, color = ("✔", "#1b5e20") if entry["ok"] else ("✘", "#b00020")
            text = escape(f"{mark} {entry['service']}: {localize(entry['message'])}")
            lines.append(f"<span style='color:{color}'>{text}</span>")
        failed = results["FAILED"]
        summary = tr("Failed: {}").format(failed) if failed else tr("All three work.")
        if results.get("S3_OK"):
            lines.append(self._show_public_read(results["S3_PUBLIC"], results["S3_PUBLIC_MESSAGE"]))
        self.results.setText("<br>".join([*lines, f"<b>{escape(summary)}</b>"]))
        self._fit()

    def testing(self):
        return any(job is not None and job.running for job in (self.job, self.policy_job))

    def _show_public_read(self, ok, message):
        """The policy's line of the test, and the one-click offer when it is missing."""
        message = localize(message)
        if ok:
            line = "✔ " + tr("Public read: {}").format(message)
            return f"<span style='color:#1b5e20'>{escape(line)}</span>"
        s3_keys = [name for name in self.tested if name.startswith("s3/")]
        saved = all(self.tested[name] == settings.value(name) for name in s3_keys)
        self.apply_policy.setVisible(saved)
        self.apply_policy.setEnabled(saved)
        line = "⚠ " + tr("Public read: {}").format(message)
        if not saved:
            line += " " + tr("Save these settings (OK) and test again to apply the policy.")
        return f"<span style='color:#b00020'>{escape(line)}</span>"

    def apply_public_policy(self):
        """Run ``ls4:applypublicpolicy`` on the saved bucket (the one just tested)."""
        self.apply_policy.setEnabled(False)
        self.policy_job = AlgorithmJob(
            "ls4:applypublicpolicy", {}, tr("LS4: apply the public-read policy")
        )
        self.policy_job.done.connect(self._policy_applied)
        self.policy_job.start()

    def _policy_applied(self, ok, results):
        if not ok:
            self.apply_policy.setEnabled(True)
            text = escape(self.policy_job.error_text())
            self._add_result(f"<span style='color:#b00020'>{text}</span>")
            return
        # reads GDAL answered from its cache (a 403 of a frame published before) are dropped
        gdal.VSICurlClearCache()
        self.apply_policy.setVisible(False)
        text = "✔ " + tr("Public read: the policy is applied to bucket {}.").format(
            settings.value("s3/bucket")
        )
        self._add_result(f"<span style='color:#1b5e20'>{escape(text)}</span>")

    def _add_result(self, html):
        self.results.setText(self.results.text() + "<br>" + html)
        self._fit()

    def _fit(self):
        """Grow to show what the results say, as far as the screen allows (then it scrolls)."""
        wanted = self.sizeHint().expandedTo(self.size())
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            wanted = wanted.boundedTo(screen.size())
        self.resize(wanted)

    def sizeHint(self):  # the content's size, not the scroll area's
        hint = super().sizeHint()
        content = self.scroll.widget().sizeHint()
        return hint.expandedTo(content + QSize(40, 80))

    def create_connection(self):
        """QGIS's own "New PostGIS connection" dialog (the Data Source Manager's), then the new
        connection chosen here."""
        before = set(self._connection_names())
        source_select = QgsGui.sourceSelectProviderRegistry().providerByName("postgres")
        widget = source_select.createDataSourceWidget(self) if source_select else None
        button = widget.findChild(QPushButton, "btnNew") if widget is not None else None
        if button is None:
            self.problem.setText(tr("This QGIS does not offer its PostgreSQL connection dialog."))
            return
        button.click()  # QGIS's dialog, modal; it saves the connection itself
        widget.deleteLater()
        self.connection.setProvider("postgres")  # read the connections again
        added = sorted(set(self._connection_names()) - before)
        if added:
            self.connection.setConnection(added[0])

    @staticmethod
    def _connection_names():
        metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
        return list(metadata.connections().keys())

    def done(self, result):
        for job in (self.job, self.policy_job):
            if job is not None:
                job.abandon()
        super().done(result)


MINIMUM_WIDTH = 520


def _form(group):
    """A form whose fields take the width there is (the S3 fields are not squashed)."""
    form = QFormLayout(group)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    return form
