"""What the worker's parts report, as faust's sensors do: each part says what happened, once,
through one of these hooks; what is counted and how lives with the metrics (streams/metrics.py).

    class Slow(Sensor):                       # a sensor of one's own: log slow checkpoints
        def on_checkpoint(self, seconds, keys):
            if seconds > 1: log.warning("checkpoint of %d keys took %.1f s", keys, seconds)

Every hook does nothing here. `Metrics` is the sensor the worker runs with; a part given none
reports to this one.
"""

from collections.abc import Iterable
from typing import Any

from alerts.pipeline import FrameResult, Screening
from schemas.alert import Alert
from schemas.case import Case


class Sensor:
    """The events of a worker's life, one hook each."""

    # Screening

    def on_batch_delivered(self, read: int, screening: Screening, seconds: float) -> None:
        """A batch of `read` records was screened in `seconds` and everything it gave (dead
        letters, alerts, cases, frames) arrived at Kafka."""

    # Windows

    def on_frame_unreadable(self) -> None:
        """A frame on the observations topic could not be decoded: skipped."""

    def on_frame_applied(self, result: FrameResult) -> None:
        """A frame went through the window stage: its observations by dimension and outcome,
        and those the engine failed on."""

    def on_frames_applied(self, frames: int, seconds: float) -> None:
        """A batch event's frames took `seconds` in all."""

    def on_findings_delivered(self, alerts: list[Alert], cases: list[Case]) -> None:
        """The window stage's (and look backs') alerts and cases since the last checkpoint
        arrived at Kafka."""

    def on_checkpoint(self, seconds: float, keys: int) -> None:
        """A checkpoint wrote `keys` states to the changelog and acked the frames held; it
        took `seconds` in all."""

    def on_window_keys(self, keys: int, broad_suppressions: int) -> None:
        """Now and then: the keys the window stage holds, and the suppressions broader than
        the settings allow."""

    def on_look_back(self, pending: int, parties: int = 0) -> None:
        """A look back at newly listed parties looked at `parties` more; `pending` remain."""

    # The control plane

    def on_reference_in_use(self, files: Iterable[Any], rules: int) -> None:
        """These reference files, and `rules` rules over them, are the ones in use."""

    def on_reference_waiting(self, parts: int) -> None:
        """Parts of versions still on their way (a file split over several records)."""

    def on_reference_missing(self, files: int) -> None:
        """Files a version needs that no record on the topic holds."""

    def on_reference_update(self, outcome: str, files: int = 1) -> None:
        """A version on the reference topic was applied, held for a person, or refused."""

    def on_reference_held(self, versions: int) -> None:
        """Versions held for a person's approval."""

    def on_control_refused(self, topic: str, reason: str) -> None:
        """A record on a control topic ("reference", "feedback", "decisions") was refused."""

    def on_suppressions(self, count: int, failed_closed: bool = False) -> None:
        """The suppressions in force, or none at all because decisions were lost."""

    def on_feedback_read(self, outcome: str) -> None:
        """A decision on the feedback topic was read: "applied" or "invalid"."""

    def on_ruling(self, status: str) -> None:
        """A decision was ruled on (the ruling's status)."""

    def on_decision(self, rule: str, decision: str) -> None:
        """A decision counted against one of its case's rules."""

    # Progress

    def on_progress(self, topic: str, partition: int, timestamp: float, position: int) -> None:
        """A partition was done with up to `position`, at wall-clock `timestamp`."""

    def on_partition_lag(self, topic: str, partition: int, lag: int) -> None:
        """Records of a partition not yet done with."""

    def on_partition_gone(self, topic: str, partition: int) -> None:
        """A partition is no longer this worker's."""
