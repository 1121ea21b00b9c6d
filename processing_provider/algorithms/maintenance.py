"""ls4:maintenance — find (and, with REPAIR, fix) where tables, mapfiles and COGs disagree."""

import json

from qgis.core import (
    Qgis,
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsMessageLog,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ...ls4_plugin import settings
from ...ls4_plugin.compat import field
from ...ls4_plugin.core import maintenance, notify
from .. import params
from ..base import Ls4Algorithm

FIELDS = ("kind", "subject", "collection", "detail", "repaired")


class Maintenance(Ls4Algorithm):
    NAME = "maintenance"
    DISPLAY_NAME = "Check (and repair) the published estate"
    SETTINGS = params.TARGET
    GROUP = "Operations"
    GROUP_ID = "operations"
    HELP = (
        "Compares the PostGIS tile index tables, the mapfiles in mapfiles/ and the objects in the "
        "bucket, and reports every mismatch: objects in mapfiles/ that are not mapfiles, "
        "mapfiles with no table, tables with no mapfile, rows whose COG is gone, COGs no row "
        "holds, georeferenced uploads whose scan is missing, mapfiles that fail validation or "
        "read the wrong table. Without Repair nothing is changed. With Repair: stray objects are "
        "deleted, dangling rows removed, orphan COGs indexed, mapfiles written again from their "
        "tables (a table is never dropped); a mapfile whose table is gone is rebuilt from the "
        "collection's COGs, or deleted when none is left. Each repair is listed in the report. "
        "When an SNS topic is set, one summary message is sent."
    )
    COLLECTIONS, REPAIR, TOPIC = "COLLECTIONS", "REPAIR", "NOTIFY_TOPIC"
    OUTPUT, REPORT = "OUTPUT", "REPORT"

    def initAlgorithm(self, config=None):
        params.add_database_param(self)
        self.add(
            QgsProcessingParameterString(
                self.COLLECTIONS, self.tr("Collections to check"), optional=True
            ),
            "Comma-separated name patterns of the collections to check, e.g. "
            "bexar_*,usda_ar1963_frames (objects that belong to no collection are matched by "
            "their file name). Empty: the whole estate.",
        )
        self.add(
            QgsProcessingParameterBoolean(self.REPAIR, self.tr("Repair"), defaultValue=False),
            "Off: only report. On: repair what can be repaired and list each repair.",
        )
        topic = QgsProcessingParameterString(
            self.TOPIC, self.tr("SNS topic for the summary"), optional=True
        )
        topic.setDefaultValue(settings.value("sns/topic_arn"))
        self.add(
            topic,
            "ARN of the Amazon SNS topic that receives one summary message (default: the one in "
            "LS4 settings). Empty: the summary goes to the log and the report only. Credentials "
            "and endpoint come from the AWS environment (AWS_ACCESS_KEY_ID…, ~/.aws, a role).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Findings"), QgsProcessing.SourceType.TypeVector
            ),
            "A table (no geometry) with one row per finding: kind, subject (key, table or row), "
            "collection, detail, and what the repair did.",
        )
        self.add(
            QgsProcessingParameterFileDestination(
                self.REPORT, self.tr("Report (JSON)"), "JSON files (*.json)"
            ),
            "The full report as JSON: what was checked, findings, repairs, notification.",
        )
        self.addOutput(QgsProcessingOutputNumber("FINDINGS", self.tr("Number of findings")))
        self.addOutput(QgsProcessingOutputNumber("REPAIRED", self.tr("Repairs that succeeded")))
        self.addOutput(QgsProcessingOutputString("NOTIFICATION", self.tr("Notification")))

    def execute(self, parameters, context, feedback):
        target = params.target_from(self, parameters, context)
        patterns = self.parameterAsString(parameters, self.COLLECTIONS, context).split(",")
        stale_after = settings.value("maintenance/stale_hours") * 3600.0
        report = maintenance.check(target, patterns, feedback, stale_after=stale_after)
        if self.parameterAsBool(parameters, self.REPAIR, context):
            maintenance.repair(target, report, feedback)
        summary = report.summary()
        QgsMessageLog.logMessage(summary, "LS4", Qgis.MessageLevel.Info)
        topic = self.parameterAsString(parameters, self.TOPIC, context)
        report.notification = notify.deliver(topic, report.subject(), summary, feedback)
        sink_id = self._write_sink(report, parameters, context)
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        with open(report_path, "w", encoding="utf-8") as handle:
            json.dump(report.to_dict(), handle, indent=2)
        return {
            self.OUTPUT: sink_id,
            self.REPORT: report_path,
            "FINDINGS": len(report.findings),
            "REPAIRED": sum(1 for repair in report.repairs if repair.ok),
            "NOTIFICATION": report.notification,
        }

    def _write_sink(self, report, parameters, context):
        fields = QgsFields()
        for name in FIELDS:
            fields.append(field(name, "string"))
        sink, sink_id = self.parameterAsSink(
            parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.NoGeometry
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for finding in report.findings:
            feature = QgsFeature(fields)
            feature.setAttributes([getattr(finding, name) for name in FIELDS])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        return sink_id
