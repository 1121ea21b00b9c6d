"""Processing algorithms run from the GUI as tasks of QGIS's task manager.

A job is one ``QgsProcessingAlgRunnerTask``: the algorithm runs in a worker thread, its progress
and cancel go through its feedback, and ``done`` is emitted on the main thread, after the
algorithm's ``postProcessAlgorithm`` (which is where algorithms touch the project). Every message
the algorithm writes goes to the log panel under the LS4 tab.
"""

from contextlib import suppress

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMessageLog,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsTask,
)
from qgis.PyQt.QtCore import QCoreApplication, QObject, QThreadPool, QTimer, pyqtSignal, pyqtSlot

from .messages import localize

LOG_TAG = "LS4"
TR_CONTEXT = "Ls4Jobs"
# Jobs whose task may still be running: the task holds references to their context and
# feedback, so these must live until it has ended, whatever happens to the widget that started it.
_ALIVE = set()
# How often a queued task is looked at, and how many looks in a row it may sit queued beside an
# idle thread before it is taken for lost (see AlgorithmJob._look).
WATCH_MS = 1000
LOST_AFTER = 2


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


class LogFeedback(QgsProcessingFeedback):
    """Feedback that writes the algorithm's messages to the log panel and keeps its errors.

    Called from the worker thread: it only appends to lists and logs (QgsMessageLog is
    thread-safe).
    """

    def __init__(self, title):
        super().__init__()
        self.title = title
        self.errors = []
        self.warnings = []
        self.quiet = False  # a lost task's feedback: what its cancel says is not the user's news

    def _log(self, text, level):
        if not self.quiet:
            QgsMessageLog.logMessage(f"{self.title}: {text}", LOG_TAG, level)

    def reportError(self, error, fatalError=False):
        self.errors.append(error)
        # a cancel is what the user asked for, not an error of the algorithm
        level = Qgis.MessageLevel.Info if self.isCanceled() else Qgis.MessageLevel.Critical
        self._log(error, level)
        super().reportError(error, fatalError)

    def pushWarning(self, warning):
        self.warnings.append(warning)
        self._log(warning, Qgis.MessageLevel.Warning)
        super().pushWarning(warning)

    def pushInfo(self, info):
        self._log(info, Qgis.MessageLevel.Info)
        super().pushInfo(info)


class AlgorithmJob(QObject):
    """One run of an ``ls4:`` algorithm as a task; ``done(ok, results)`` on the main thread."""

    done = pyqtSignal(bool, dict)
    progress = pyqtSignal(float)

    def __init__(self, algorithm_id, parameters, title, project=None):
        super().__init__()
        self.algorithm_id = algorithm_id
        self.parameters = dict(parameters)
        self.title = title
        self.context = QgsProcessingContext()
        self.context.setProject(project or QgsProject.instance())
        self.feedback = None
        self._new_feedback()
        self.task = None
        self.ok = None
        self.results = {}
        self.resubmitted = 0
        self._queued_looks = 0
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._look)

    @property
    def running(self):
        return self.ok is None

    @property
    def canceled(self):
        return self.feedback.isCanceled()

    def start(self):
        """Check the parameters and submit the task; ``done`` comes later, even for a refusal."""
        algorithm = QgsApplication.processingRegistry().algorithmById(self.algorithm_id)
        if algorithm is None:
            message = tr("The algorithm {} is not available: is the LS4 plugin loaded?")
            self._refuse(message.format(self.algorithm_id))
            return
        valid, message = algorithm.checkParameterValues(self.parameters, self.context)
        if not valid:
            self._refuse(message)
            return
        _ALIVE.add(self)
        self._submit(algorithm)

    def _new_feedback(self):
        # a feedback is canceled with its task, so a task submitted again needs a fresh one
        self.feedback = LogFeedback(self.title)
        self.feedback.progressChanged.connect(self._on_progress)

    def _submit(self, algorithm):
        self.task = QgsProcessingAlgRunnerTask(
            algorithm, self.parameters, self.context, self.feedback
        )
        self.task.setDescription(self.title)
        # Also emitted for a task canceled before it ran, or one whose prepare step failed.
        self.task.executed.connect(self._on_executed)
        self._queued_looks = 0
        QgsApplication.taskManager().addTask(self.task)
        self._watch.start()

    def _look(self):
        """Submit the task again if QGIS's task manager has lost it.

        QGIS (3.40 at least, QGIS issue #53806) can drop a queued task's runnable from its
        thread pool when the allocator gives a new runnable the address of one that just ended:
        the task then stays "queued" forever while the pool's threads idle, and the dock waits
        for it. A task left queued beside an idle thread for LOST_AFTER looks is such a task.
        """
        if self.task is None or self.task.status() != QgsTask.TaskStatus.Queued:
            self._watch.stop()
            return
        pool = task_pool()
        idle = pool.activeThreadCount() < pool.maxThreadCount()
        self._queued_looks = self._queued_looks + 1 if idle else 0
        if self._queued_looks < LOST_AFTER:
            return
        algorithm = QgsApplication.processingRegistry().algorithmById(self.algorithm_id)
        if self.canceled or algorithm is None:
            self.task.cancel()  # it will never run: end it, and ``done`` says canceled
            return
        lost, self.task = self.task, None
        lost.executed.disconnect(self._on_executed)
        self.feedback.quiet = True
        lost.cancel()  # the task manager forgets it; it never ran, so nothing is undone
        self.resubmitted += 1
        self._log_resubmit()
        self._new_feedback()
        self._submit(algorithm)

    def _log_resubmit(self):
        text = tr("{}: QGIS's task manager lost the queued task; submitted it again.")
        QgsMessageLog.logMessage(text.format(self.title), LOG_TAG, Qgis.MessageLevel.Info)

    def _refuse(self, message):
        self.feedback.reportError(message)
        _ALIVE.add(self)
        # from the event loop, as a task's end would: the caller connects to ``done`` first
        QTimer.singleShot(0, lambda: self._finish(False, {}))

    def cancel(self):
        # The feedback, not the task: the task manager deletes the task once it has ended.
        self.feedback.cancel()

    def error_text(self):
        """What went wrong, in the algorithm's words: its last error, or that it was canceled."""
        if self.canceled:
            return tr("Canceled.")
        if self.feedback.errors:
            return localize(self.feedback.errors[-1])
        return tr("{} failed; the log panel (LS4) has the details.").format(self.title)

    @pyqtSlot(float)
    def _on_progress(self, value):
        self.progress.emit(value)

    @pyqtSlot(bool, "QVariantMap")
    def _on_executed(self, ok, results):
        self._finish(ok and not self.canceled, dict(results))

    def _finish(self, ok, results):
        if self.ok is not None:
            return
        self._watch.stop()
        self.ok, self.results = ok, results
        self.task = None  # the task manager deletes it
        _ALIVE.discard(self)
        self.done.emit(ok, results)
        # Its layers have been taken by now; a context left to the garbage collector may be
        # deleted after QGIS has exited, which crashes.
        self.context = None

    def abandon(self):
        """Cancel, and tell no one: for a widget that goes away before the job ends."""
        self.cancel()
        for signal in (self.done, self.progress):
            with suppress(TypeError):  # nothing was connected
                signal.disconnect()


def task_pool():
    """The thread pool QGIS's task manager runs tasks on: its own in QGIS 3.40 and 3.44 (read in
    their libraries), the global one in 3.22."""
    manager = QgsApplication.taskManager()
    return manager.threadPool() if hasattr(manager, "threadPool") else QThreadPool.globalInstance()
