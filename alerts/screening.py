"""Screening one message: decode, validate, run the rules, derive the window observations.

No Kafka in here: the worker hands in bytes and where they came from, and sends what comes back;
the backtest does the same with the lines of a file.
"""

import logging
from dataclasses import dataclass, field

from alerts.building import RuleEngine
from alerts.retro import party_observations
from alerts.windows.fx import FxRates
from alerts.windows.observations import Declared, Dimension, Observation, observations_for
from alerts.windows.registry import WINDOW_DIMENSIONS
from schemas.alert import Alert
from schemas.wire import DeclarationRecord, Rejection, RejectReason, decode_declaration

log = logging.getLogger("tradewatch.screening")


@dataclass(frozen=True, slots=True)
class Screened:
    """A valid declaration, its alerts, and its observations for the window stage."""

    declaration: DeclarationRecord
    alerts: list[Alert]
    observations: list[Observation] = field(default_factory=list)


class Screener:
    """Turns the raw value of one input message into alerts and observations, or a Rejection.

    It never raises: a rule that fails on a declaration sends that declaration to the
    dead-letter topic (reason rule_error), where it can be replayed once the rule is fixed.

    >>> screener.screen(raw, source_partition=0, source_offset=41, received_ms=1678865000000)
    """

    def __init__(
        self,
        engine: RuleEngine,
        fx: FxRates,
        max_message_bytes: int,
        max_future_ms: int = 86_400_000,
        index_parties: bool = True,
        dimensions: tuple[Dimension, ...] = WINDOW_DIMENSIONS,
    ) -> None:
        self.index_parties = index_parties
        self.dimensions = dimensions
        self.engine = engine
        self.fx = fx
        self.max_message_bytes = max_message_bytes
        self.max_future_ms = max_future_ms

    def screen(
        self,
        raw: bytes | None,
        source_partition: int,
        source_offset: int,
        received_ms: int | None = None,
    ) -> Screened | Rejection:
        """Screen one message. `received_ms` is its Kafka timestamp: a declaration dated more
        than a day after it reached Kafka is rejected, since one absurd date would otherwise
        move its keys' event-time watermarks and make every real declaration after it late."""
        declaration = decode_declaration(raw, self.max_message_bytes)
        if isinstance(declaration, Rejection):
            return declaration
        if received_ms is not None:
            event_ms = declaration.declared_at.timestamp() * 1000
            if event_ms > received_ms + self.max_future_ms:
                return Rejection(
                    RejectReason.FUTURE_EVENT_TIME,
                    f"declared_at {declaration.declared_at.isoformat()} is more than "
                    f"{self.max_future_ms // 3_600_000} h after the message reached Kafka",
                )
        try:
            alerts, facts = self.engine.assess(declaration)
            catalogue = self.engine.catalogue
            watched = catalogue.on_risky_route(declaration) and bool(
                catalogue.controls.controls(facts)
            )
            declared = Declared(
                declaration,
                watched=watched,
                fx=self.fx,
                source_partition=source_partition,
                source_offset=source_offset,
            )
            observations = observations_for(declared, self.dimensions)
            if self.index_parties:
                observations += party_observations(declared)
            return Screened(declaration, alerts, observations)
        except Exception as exc:  # a rule bug must not stop the stream or lose the declaration
            log.exception("rule failure on a declaration; sent to the dead-letter topic")
            return Rejection(RejectReason.RULE_ERROR, f"{type(exc).__name__}: {exc}"[:1000])
