"""Screening one message: decode, validate, run the rules, derive observations, count.

No Kafka in here: the faust agent hands in bytes and where they came from, and sends what comes
back.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerts.building import RuleEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Observation, observations_for
from schemas.alert import Alert
from schemas.declaration import Declaration
from streams.decoding import Rejection, RejectReason, SourceRef, decode_declaration
from streams.metrics import Metrics

log = logging.getLogger("tradewatch.screening")


@dataclass(frozen=True, slots=True)
class Screened:
    """A valid declaration's alerts, and its observations for the window stage."""

    alerts: list[Alert]
    observations: list[Observation] = field(default_factory=list)


class Screener:
    """Turns the raw value of one input message into alerts and observations, or a Rejection.

    It never raises: a rule that fails on a declaration sends that declaration to the
    dead-letter topic (reason rule_error), where it can be replayed once the rule is fixed.
    """

    def __init__(
        self,
        engine: RuleEngine,
        metrics: Metrics,
        max_message_bytes: int,
        fx: FxRates | None = None,
        max_future_ms: int = 86_400_000,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes
        self.fx = fx
        self.max_future_ms = max_future_ms

    def screen(
        self, raw: bytes | None, source: SourceRef | None = None, received_ms: int | None = None
    ) -> Screened | Rejection:
        """Screen one message. `received_ms` is its Kafka timestamp: a declaration dated more
        than a day after it reached Kafka is rejected, since one absurd date would otherwise
        move its keys' event-time watermarks and make every real declaration after it late."""
        started = time.perf_counter()
        outcome = self._screen(raw, source, received_ms)
        self.metrics.processing_seconds.observe(time.perf_counter() - started)
        if isinstance(outcome, Rejection):
            self.metrics.dead_letter(outcome.reason)
        else:
            self.metrics.declarations_ok.inc()
            for alert in outcome.alerts:
                self.metrics.alert(alert.rule_id, alert.category, alert.severity)
        return outcome

    def _screen(
        self, raw: bytes | None, source: SourceRef | None, received_ms: int | None
    ) -> Screened | Rejection:
        declaration = decode_declaration(raw, self.max_message_bytes)
        if isinstance(declaration, Rejection):
            return declaration
        event_ms = round(declaration.declared_at.timestamp() * 1000)
        if received_ms is not None and event_ms > received_ms + self.max_future_ms:
            return Rejection(
                RejectReason.FUTURE_EVENT_TIME,
                f"declared_at {declaration.declared_at.isoformat()} is more than "
                f"{self.max_future_ms // 3_600_000} h after the message reached Kafka",
            )
        try:
            alerts, facts = self.engine.assess(declaration)
            observations: list[Observation] = []
            if self.fx is not None and source is not None:
                catalogue = self.engine.catalogue
                observations = observations_for(
                    declaration,
                    watched=catalogue.on_risky_route(declaration)
                    and bool(catalogue.controls.controls(facts)),
                    fx=self.fx,
                    source_partition=source.partition,
                    source_offset=source.offset,
                )
            if alerts:
                self._count_alerting(declaration)
            return Screened(alerts, observations)
        except Exception as exc:  # a rule bug must not stop the stream or lose the declaration
            log.exception("rule failure on a declaration; sent to the dead-letter topic")
            return Rejection(RejectReason.RULE_ERROR, f"{type(exc).__name__}: {exc}"[:1000])

    def _count_alerting(self, declaration: Declaration) -> None:
        self.metrics.alerting_routes.labels(
            dispatch_country=declaration.dispatch_country,
            destination_country=declaration.destination_country,
        ).inc()
        for role, party in (("exporter", declaration.exporter), ("importer", declaration.importer)):
            self.metrics.alerting_parties.labels(
                role=role, country=party.country or "unknown"
            ).inc()


def utc_now() -> datetime:
    return datetime.now(UTC)
