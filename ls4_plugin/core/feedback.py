"""Progress, cancel and messages for core functions.

The core speaks the same small protocol as ``QgsProcessingFeedback`` (``setProgress``,
``isCanceled``, ``pushInfo``, ``pushWarning``) so an algorithm passes its feedback straight in,
while tests and scripts use ``Feedback`` below without QGIS.
"""

import logging
from collections.abc import Callable
from typing import Protocol

from .errors import Canceled

log = logging.getLogger("ls4")


class FeedbackLike(Protocol):
    """What the core asks of a feedback: QgsProcessingFeedback, ``Feedback``, ``SubFeedback``."""

    def setProgress(self, percent: float) -> None: ...

    def isCanceled(self) -> bool: ...

    def pushInfo(self, text: str) -> None: ...

    def pushWarning(self, text: str) -> None: ...


class Feedback:
    """A feedback for use outside QGIS: logs messages, keeps the last progress, can be canceled."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.canceled = False
        self.warnings: list[str] = []

    def setProgress(self, percent: float) -> None:
        self.progress = percent

    def isCanceled(self) -> bool:
        return self.canceled

    def cancel(self) -> None:
        self.canceled = True

    def pushInfo(self, text: str) -> None:
        log.info(text)

    def pushWarning(self, text: str) -> None:
        self.warnings.append(text)
        log.warning(text)


class SubFeedback:
    """Maps 0–100 % of a step onto the range ``start``–``end`` of its parent's progress."""

    def __init__(self, parent: FeedbackLike, start: float, end: float) -> None:
        self.parent = parent
        self.start = start
        self.end = end

    def setProgress(self, percent: float) -> None:
        self.parent.setProgress(self.start + (self.end - self.start) * percent / 100.0)

    def isCanceled(self) -> bool:
        return self.parent.isCanceled()

    def pushInfo(self, text: str) -> None:
        self.parent.pushInfo(text)

    def pushWarning(self, text: str) -> None:
        self.parent.pushWarning(text)


def ensure(feedback: FeedbackLike | None) -> FeedbackLike:
    """The given feedback, or a fresh ``Feedback`` when there is none."""
    return feedback if feedback is not None else Feedback()


def check_canceled(feedback: FeedbackLike | None) -> None:
    """Raise ``Canceled`` when the user has asked to stop."""
    if feedback is not None and feedback.isCanceled():
        raise Canceled()


def gdal_progress(feedback: FeedbackLike) -> Callable[[float, str, object], int]:
    """A GDAL progress callback that reports to ``feedback`` and stops GDAL on cancel."""

    def callback(complete: float, _message: str, _data: object) -> int:
        feedback.setProgress(100.0 * complete)
        return 0 if feedback.isCanceled() else 1

    return callback
