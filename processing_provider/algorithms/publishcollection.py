"""ls4:publishcollection — georeferenced frames to a published WMS, in one algorithm."""

import json
import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import engines, notify, outputs, publish
from ...ls4_plugin.core.errors import InputError
from .. import params
from ..base import Ls4Algorithm
from ..wms import wms_layer


class PublishCollection(Ls4Algorithm):
    NAME = "publishcollection"
    DISPLAY_NAME = "Publish collection"
    SETTINGS = params.TARGET
    HELP = (
        "Publishes georeferenced frames as one collection: for every frame, inspect, make an "
        "EPSG:3857 COG, upload the georeferenced input and the COG under the shared key layout, "
        "and record its footprint in the collection's PostGIS tile index; then write the "
        "collection's MapServer mapfile. A frame that fails is reported and the others are "
        "published; publishing the same frames again changes nothing. S3 and MapServer come from "
        "LS4 settings."
    )
    INPUT, WORKERS, LOAD_RESULT, REPORT = "INPUT", "WORKERS", "LOAD_RESULT", "REPORT"
    SCHEDULER = "SCHEDULER"
    FILE_INPUTS = (INPUT,)

    def initAlgorithm(self, config=None):
        self.add(
            params.RasterFiles(
                self.INPUT, self.tr("Georeferenced frames"), QgsProcessing.SourceType.TypeRaster
            ),
            "Georeferenced images (GeoTIFF), named by the collection's file-name rules, e.g. "
            "04-15-52_12-034.tif for frames.",
        )
        params.add_collection_params(self)
        params.add_database_param(self)
        params.add_pgstac_param(self)
        self.add(
            QgsProcessingParameterBoolean(
                self.LOAD_RESULT, self.tr("Load the WMS when done"), defaultValue=False
            ),
            "Add the collection's WMS layer to the project once published.",
        )
        self.add(
            QgsProcessingParameterNumber(
                self.WORKERS, self.tr("Frames in parallel"), defaultValue=1, minValue=1, maxValue=16
            ),
            "The most frames in flight at once. LS4 computes one COG per two cores at most "
            "(fewer when memory is short) and, from 2, uploads and indexes a frame while the "
            "next one's COG is computed.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterString(
                self.SCHEDULER,
                self.tr("Dask scheduler"),
                defaultValue=settings.value("dask/scheduler"),
                optional=True,
            ),
            "Publish on a Dask cluster: the address of its scheduler, e.g. tcp://host:8786 (the "
            "default comes from LS4 settings). Each frame becomes one task on a `dask worker`; "
            "the frames are first uploaded to their georef/ keys, the workers read them there "
            "and use their own S3 and PostgreSQL credentials (none is sent). Empty or 'local': "
            "this machine, 'Frames in parallel' at once. A scheduler that does not answer "
            "stops the run within 10 s, before anything is published.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterFileDestination(
                self.REPORT,
                self.tr("Per-frame report"),
                "JSON files (*.json)",
                optional=True,
                createByDefault=False,
            ),
            "Optional JSON file with the status, keys and message of every frame.",
        )
        for name, description in (
            ("WMS_URL", "WMS URL"),
            ("COLLECTION", "Collection"),
            ("TABLE", "Tile index table"),
            ("MAPFILE_KEY", "Mapfile key"),
            ("FRAMES", "Per-frame report (JSON)"),
            ("STATUS", "Run status: complete, or incomplete and why"),
        ):
            self.addOutput(QgsProcessingOutputString(name, self.tr(description)))

    def execute(self, parameters, context, feedback):
        sources = self.raster_paths(parameters, self.INPUT, context)
        if not sources:
            raise InputError("No frames given")
        collection = params.collection_from(self, parameters, context, sources)
        target = params.target_from(self, parameters, context)
        workers = self.parameterAsInt(parameters, self.WORKERS, context)
        scheduler = self.parameterAsString(parameters, self.SCHEDULER, context).strip()
        executor = engines.executor_for("" if scheduler == "local" else scheduler, workers)
        result = publish.publish_collection(
            target, collection, sources, workers, feedback, executor=executor
        )
        failure = notify.publish_failure_message(result)
        if failure:
            notify.deliver(settings.value("sns/topic_arn"), *failure, feedback)
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        report_path = write_report(report_path, result, feedback)
        self._report(result, feedback, report_path)
        self.load = self.parameterAsBool(parameters, self.LOAD_RESULT, context) and (
            result.mapfile_key
        )
        self.wms = (result.wms_url, collection.name, collection.title)
        return {
            "WMS_URL": result.wms_url,
            "COLLECTION": collection.name,
            "TABLE": collection.table,
            "MAPFILE_KEY": result.mapfile_key,
            "FRAMES": json.dumps([frame.to_dict() for frame in result.frames]),
            "STATUS": run_status(result),
            self.REPORT: report_path or None,
        }

    def _report(self, result, feedback, report_path=None):
        for frame in result.frames:
            where = f" (on {frame.worker})" if frame.worker not in ("", "local") else ""
            feedback.pushInfo(f"{frame.status}: {frame.source} {frame.message}{where}")
            for warning in frame.warnings:
                feedback.pushWarning(warning)
        if result.failed and len(result.failed) == len(result.frames):
            # The run fails (exit status 1). qgis_process prints no JSON for a failed algorithm,
            # and with --json it prints none of its log either, only this error: so it names
            # every frame and its status (and REPORT, written before, holds them as JSON).
            raise QgsProcessingException(
                "; ".join([*result.errors, no_frame_published(result, report_path)])
            )
        # Otherwise the run returns its outputs (qgis_process --json prints none for a failed
        # algorithm): FRAMES holds every frame's status, STATUS says what did not complete.
        for error in result.errors:
            feedback.reportError(error, False)
        for frame in result.failed:
            feedback.reportError(f"{frame.source}: {frame.message}", False)

    def postProcessAlgorithm(self, context, feedback):
        if getattr(self, "load", False):
            url, name, title = self.wms
            layer = wms_layer(url, name, title)
            if layer.isValid():
                context.project().addMapLayer(layer)
            else:
                feedback.reportError(f"The WMS at {url} did not load: {layer.error().summary()}")
        return {}


def write_report(path, result, feedback):
    """The per-frame report, written whole (a reader never sees half a file) whatever failed;
    a report that cannot be written (a full disk) is a warning: the run's outcome stands.
    Returns the path, or None when nothing was written."""
    if not path:
        return None
    text = json.dumps(result.to_dict(), indent=2)
    try:
        with (
            outputs.replaced_whole(path) as temporary,
            open(temporary, "w", encoding="utf-8") as handle,
        ):
            handle.write(text)
    except OSError as error:
        feedback.reportError(
            f"The per-frame report {path} was not written: {error.strerror or error} "
            f"({os.path.dirname(os.path.abspath(path))})",
            False,
        )
        return None
    return path


def no_frame_published(result, report_path=None):
    """The error of a run that published no frame: every frame, its status and why."""
    frames = []
    for frame in result.frames:
        said = (
            frame.message
            if frame.message.startswith(frame.status)
            else (f"{frame.status}: {frame.message}" if frame.message else frame.status)
        )
        frames.append(f"{frame.source}: {said}")
    where = f"; every frame's status is in {report_path}" if report_path else ""
    count = f"{len(frames)} frame" + ("" if len(frames) == 1 else "s")
    return f"No frame was published ({count}{where}): " + "; ".join(frames)


def run_status(result):
    """``complete``, or ``incomplete: `` and what did not complete (the run, then the frames)."""
    problems = list(result.errors)
    if result.failed:
        problems.append(f"{len(result.failed)} of {len(result.frames)} frames not published")
    return "incomplete: " + "; ".join(problems) if problems else "complete"
