"""Progress, cancel and messages for core functions.

The core speaks the same small protocol as ``QgsProcessingFeedback`` (``setProgress``,
``isCanceled``, ``pushInfo``, ``pushWarning``) so an algorithm passes its feedback straight in,
while tests and scripts use ``Feedback`` below without QGIS.
"""

import logging

from .errors import Canceled

log = logging.getLogger("ls4")


class Feedback:
    """A feedback for use outside QGIS: logs messages, keeps the last progress, can be canceled."""

    def __init__(self):
        self.progress = 0.0
        self.canceled = False
        self.warnings = []

    def setProgress(self, percent):
        self.progress = percent

    def isCanceled(self):
        return self.canceled

    def cancel(self):
        self.canceled = True

    def pushInfo(self, text):
        log.info(text)

    def pushWarning(self, text):
        self.warnings.append(text)
        log.warning(text)


class SubFeedback:
    """Maps 0–100 % of a step onto the range ``start``–``end`` of its parent's progress."""

    def __init__(self, parent, start, end):
        self.parent = parent
        self.start = start
        self.end = end

    def setProgress(self, percent):
        self.parent.setProgress(self.start + (self.end - self.start) * percent / 100.0)

    def isCanceled(self):
        return self.parent.isCanceled()

    def pushInfo(self, text):
        self.parent.pushInfo(text)

    def pushWarning(self, text):
        self.parent.pushWarning(text)


def ensure(feedback):
    """The given feedback, or a fresh ``Feedback`` when there is none."""
    return feedback if feedback is not None else Feedback()


def check_canceled(feedback):
    """Raise ``Canceled`` when the user has asked to stop."""
    if feedback is not None and feedback.isCanceled():
        raise Canceled()


def gdal_progress(feedback):
    """A GDAL progress callback that reports to ``feedback`` and stops GDAL on cancel."""

    def callback(complete, _message, _data):
        feedback.setProgress(100.0 * complete)
        return 0 if feedback.isCanceled() else 1

    return callback
