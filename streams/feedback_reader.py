"""Every worker reads the whole decisions topic: a suppression must hold in every partition.

Analysts' decisions arrive on the feedback topic, where the case reviews (streams/review_agent.py)
rule on each suppression against its case. Their rulings, keyed by the decision's id, are on the
decisions topic; each worker reads all of them from the beginning (streams/global_reader.py)
and keeps the suppressions in force in memory (alerts/feedback.py). Screening waits until the
reader has caught up with the topic as it was at start, so that a restart applies the same
suppressions to the same findings. A record that cannot be read is refused: logged in one line,
counted and skipped.

**Losing the decisions fails closed.** The reader keeps, in the worker's data folder, how many
decisions it had read. A worker that starts to find fewer there than it had read (the topic
deleted and made anew, or cut short) suppresses nothing from then on (every finding opens its
case), says so in one line and sets `tradewatch_suppressions_failed_closed` to 1, which pages.
Restoring the topic and restarting ends it; so does removing the count file, once the loss is
accepted.
"""

import json
import logging
from collections.abc import Callable
from typing import Any

from alerts.feedback import Ruling, Status, Suppressions, apply_ruling
from streams.global_reader import GlobalReader
from streams.sensors import Sensor
from streams.settings import Settings

log = logging.getLogger("tradewatch.feedback")
MAX_RULING_BYTES = 64 * 1024


class FeedbackReader(GlobalReader):
    """>>> reader = FeedbackReader(settings, core.suppressions, sensor, on_failure=fail_stop)
    >>> await reader.ready()"""

    def __init__(
        self,
        settings: Settings,
        suppressions: Suppressions,
        sensor: Sensor,
        on_failure: Callable[[str], None],
    ) -> None:
        super().__init__(settings, settings.decisions_topic, self._apply_all, on_failure)
        self.suppressions = suppressions
        self.sensor = sensor
        self.known: set[str] = set()
        """Every decision id read (revoked and refused ones too)."""
        self.count_file = settings.data_dir / "decisions-read.json"
        self.failed_closed = False
        self._checked = False

    def _apply_all(self, records: list[Any]) -> None:
        for record in records:
            self.apply(record.value)
        if self._checked:
            self._record_count()

    def apply(self, value: bytes | None) -> None:
        try:
            if not value or len(value) > MAX_RULING_BYTES:
                raise ValueError(f"a record of {len(value or b'')} bytes")
            ruling = Ruling.decode(value)
        except Exception as exc:  # a record never stops the worker
            log.warning("refusing a record on %s: %s", self.topic, str(exc)[:300])
            self.sensor.on_control_refused("decisions", "invalid")
            return
        self.known.add(ruling.feedback.feedback_id)
        if self.failed_closed:
            return
        if apply_ruling(self.suppressions, ruling) or ruling.status is not Status.ACTIVE:
            self.sensor.on_suppressions(len(self.suppressions))

    def on_tick(self) -> None:
        if self.caught_up.is_set() and not self._checked:
            self._checked = True
            self._check_count()

    def _check_count(self) -> None:
        try:
            recorded = json.loads(self.count_file.read_text())
        except (OSError, ValueError):
            recorded = {}
        had = int(recorded.get("decisions", 0)) if recorded.get("topic") == self.topic else 0
        if len(self.known) < had:
            self.failed_closed = True
            self.suppressions.clear()
            self.sensor.on_suppressions(0, failed_closed=True)
            log.critical(
                "%s holds %d decisions where this worker had read %d: suppressing nothing, every "
                "finding opens its case (restore the topic and restart, or remove %s to accept "
                "the loss)",
                self.topic,
                len(self.known),
                had,
                self.count_file,
            )
            return
        self._record_count()

    def _record_count(self) -> None:
        if self.failed_closed:
            return
        try:
            self.count_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.count_file.with_suffix(".tmp")
            temporary.write_text(json.dumps({"topic": self.topic, "decisions": len(self.known)}))
            temporary.replace(self.count_file)
        except OSError as exc:
            log.warning("could not record the decisions read in %s: %s", self.count_file, exc)
