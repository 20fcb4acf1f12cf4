"""Every worker reads the whole feedback topic: a suppression must hold in every partition.

Decisions are few (people make them), so each worker reads all of them from the beginning
(streams/global_reader.py) and keeps the suppressions in memory (alerts/feedback.py). Screening
waits until the reader has caught up with the topic as it was at start, so that a restart
applies the same suppressions to the same findings. An invalid record (schemas/control.py) is
refused: logged in one line, counted and skipped.
"""

import logging
from collections.abc import Callable
from typing import Any

from alerts.feedback import Suppressions
from schemas.control import InvalidControlRecord, decode_control
from schemas.feedback import MAX_FEEDBACK_BYTES, Feedback
from streams.global_reader import GlobalReader
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger("tradewatch.feedback")


class FeedbackReader(GlobalReader):
    """>>> reader = FeedbackReader(settings, core.suppressions, metrics, on_failure=fail_stop)
    >>> await reader.ready()"""

    def __init__(
        self,
        settings: Settings,
        suppressions: Suppressions,
        metrics: Metrics,
        on_failure: Callable[[str], None],
    ) -> None:
        super().__init__(settings, settings.topic_feedback, self._apply_all, on_failure)
        self.suppressions = suppressions
        self.metrics = metrics

    def _apply_all(self, records: list[Any]) -> None:
        for record in records:
            self.apply(record.value)
        log.debug("feedback: %d suppressions", len(self.suppressions))

    def apply(self, value: bytes | None) -> None:
        try:
            feedback = decode_control(value, Feedback, MAX_FEEDBACK_BYTES)
        except InvalidControlRecord as exc:
            log.warning("refusing a record on %s: %s", self.topic, exc)
            self.metrics.feedback_read.labels(outcome="invalid").inc()
            self.metrics.control_refused.labels(topic="feedback", reason=exc.reason).inc()
            return
        self.metrics.feedback_read.labels(outcome="applied").inc()
        if self.suppressions.add(feedback):
            self.metrics.suppressions.set(len(self.suppressions))
