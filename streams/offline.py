"""The worker's whole core without Kafka: screening, observations and windows, in one process.

The faust agents and this pipeline call the same code in the same way, so for the same input it
gives the same alert ids as a live run: windows and baselines depend on event time only, and
window alerts are identified by rule, subject and window, not by the order events arrived in.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from schemas.alert import Alert
from streams.app import create_app
from streams.decoding import Rejection, SourceRef
from streams.settings import Settings
from streams.window_stage import MemoryStore, WindowStage, frames


@dataclass
class OfflinePipeline:
    """Feed it messages in order; it returns each one's alerts, or its Rejection.

    >>> pipeline = OfflinePipeline(Settings())
    >>> pipeline.feed(raw, SourceRef("customs.declarations", 0, 41))
    """

    settings: Settings
    store: MemoryStore = field(default_factory=MemoryStore)

    def __post_init__(self) -> None:
        # The same construction as the worker's (reference data, catalogue, window config).
        worker = create_app(self.settings, CollectorRegistry())
        self.screener = worker.screener
        self.windows = worker.windows
        self.metrics = worker.metrics
        self.stage = WindowStage(self.windows, self.metrics)

    def feed(
        self, raw: bytes | None, source: SourceRef, received_ms: int | None = None
    ) -> list[Alert] | Rejection:
        outcome = self.screener.screen(raw, source, received_ms)
        if isinstance(outcome, Rejection):
            return outcome
        alerts = list(outcome.alerts)
        for frame in frames(outcome.observations, 1).values():
            alerts.extend(self.stage.apply(frame, self.store))
        return alerts

    def alerts(self, messages: Iterator[tuple[bytes | None, SourceRef]]) -> dict[str, Alert]:
        """Every alert of a sequence of messages, by id (a repeat keeps the first)."""
        found: dict[str, Alert] = {}
        for raw, source in messages:
            outcome = self.feed(raw, source)
            if not isinstance(outcome, Rejection):
                for alert in outcome:
                    found.setdefault(alert.alert_id, alert)
        return found
