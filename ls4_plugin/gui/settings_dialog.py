"""LS4 settings: where to publish, and a real test of each service.

Secrets never pass through this dialog's settings: S3 keys are an authentication configuration of
QgsAuthManager (only its id is kept), PostgreSQL is one of QGIS's own connections.
"""

import json
from html import escape as html_escape

from qgis.gui import QgsAuthConfigSelect, QgsFileWidget, QgsProviderConnectionComboBox
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from .. import settings
from .jobs import AlgorithmJob

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
        layout = QVBoxLayout(self)
        layout.addWidget(self._s3_group())
        layout.addWidget(self._postgres_group())
        layout.addWidget(self._mapserver_group())
        layout.addWidget(self._cluster_group())
        self.test_button = QPushButton(tr("Test connections"))
        self.test_button.clicked.connect(self.test_connections)
        self.results = QLabel()
        self.results.setWordWrap(True)
        self.results.setTextFormat(Qt.TextFormat.RichText)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.test_button)
        layout.addWidget(self.results)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.load()

    def _s3_group(self):
        group = QGroupBox(tr("S3"))
        form = QFormLayout(group)
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
        form = QFormLayout(group)
        self.connection = QgsProviderConnectionComboBox("postgres")
        self.connection.setAllowEmptyConnection(True)
        self.mapfile_connection = QLineEdit()
        self.mapfile_connection.setToolTip(
            tr("How MapServer connects: a PostgreSQL service name, never a password")
        )
        form.addRow(tr("Connection"), self.connection)
        form.addRow(tr("MapServer connects with"), self.mapfile_connection)
        return group

    def _mapserver_group(self):
        group = QGroupBox(tr("MapServer"))
        form = QFormLayout(group)
        self.wms_url_template = QLineEdit()
        self.wms_url_template.setPlaceholderText("https://maps.example.org/wms/{collection}")
        self.map_dir = QgsFileWidget()
        self.map_dir.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        form.addRow(tr("WMS URL"), self.wms_url_template)
        form.addRow(tr("Map folder"), self.map_dir)
        return group

    def _cluster_group(self):
        group = QGroupBox(tr("Dask cluster"))
        form = QFormLayout(group)
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
        self.test_button.setEnabled(False)
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
            text = escape(f"{mark} {entry['service']}: {entry['message']}")
            lines.append(f"<span style='color:{color}'>{text}</span>")
        failed = results["FAILED"]
        summary = tr("Failed: {}").format(failed) if failed else tr("All three work.")
        self.results.setText("<br>".join([*lines, f"<b>{escape(summary)}</b>"]))

    def testing(self):
        return self.job is not None and self.job.running

    def done(self, result):
        if self.job is not None:
            self.job.abandon()
        super().done(result)
