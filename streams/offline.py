"""The worker's whole core without Kafka: screening, observations and windows, in one process.

The faust agents and this pipeline call the same code in the same way, so for the same input it
gives the same alert ids as a live run: windows and baselines depend on event time only, and
window alerts are identified by rule, subject and window, not by the order events arrived in.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from alerts.building import make_alert
from alerts.windows.state import KeyState
from schemas.alert import Alert
from streams.app import create_app
from streams.decoding import Rejection, SourceRef
from streams.screening import utc_now
from streams.settings import Settings


@dataclass
class OfflinePipeline:
    """Feed it messages in order; it returns each one's alerts, or its Rejection.

    >>> pipeline = OfflinePipeline(Settings())
    >>> pipeline.feed(raw, SourceRef("customs.declarations", 0, 41))
    """

    settings: Settings
    states: dict[str, KeyState] = field(default_factory=dict)
    stream_start_ms: int | None = None

    def __post_init__(self) -> None:
        # The same construction as the worker's (reference data, catalogue, window config).
        worker = create_app(self.settings, CollectorRegistry())
        self.screener = worker.screener
        self.windows = worker.windows
        self.metrics = worker.metrics

    def feed(
        self, raw: bytes | None, source: SourceRef, received_ms: int | None = None
    ) -> list[Alert] | Rejection:
        outcome = self.screener.screen(raw, source, received_ms)
        if isinstance(outcome, Rejection):
            return outcome
        alerts = list(outcome.alerts)
        for observation in outcome.observations:
            if self.stream_start_ms is None or observation.event_time_ms < self.stream_start_ms:
                self.stream_start_ms = observation.event_time_ms
            result = self.windows.process(
                observation, self.states.get(observation.table_key), self.stream_start_ms
            )
            self.states[observation.table_key] = result.state
            event_time = datetime.fromtimestamp(observation.event_time_ms / 1000, tz=UTC)
            alerts.extend(make_alert(rule, f, event_time, utc_now()) for rule, f in result.findings)
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
