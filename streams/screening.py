"""Screening one message: decode, validate, run the rules, count. No Kafka in here."""

import logging
import time
from datetime import UTC, datetime

from alerts.building import RuleEngine
from schemas.alert import Alert
from streams.decoding import Rejection, RejectReason, decode_declaration
from streams.metrics import Metrics

log = logging.getLogger("tradewatch.screening")


class Screener:
    """Turns the raw value of one input message into alerts, or into a Rejection.

    It never raises: a rule that fails on a declaration sends that declaration to the
    dead-letter topic (reason rule_error), where it can be replayed once the rule is fixed.
    """

    def __init__(self, engine: RuleEngine, metrics: Metrics, max_message_bytes: int) -> None:
        self.engine = engine
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes

    def screen(self, raw: bytes | None) -> list[Alert] | Rejection:
        started = time.perf_counter()
        outcome = self._screen(raw)
        self.metrics.processing_seconds.observe(time.perf_counter() - started)
        if isinstance(outcome, Rejection):
            self.metrics.dead_letter(outcome.reason)
        else:
            self.metrics.declarations_ok.inc()
            for alert in outcome:
                self.metrics.alert(alert.rule_id, alert.category, alert.severity)
        return outcome

    def _screen(self, raw: bytes | None) -> list[Alert] | Rejection:
        declaration = decode_declaration(raw, self.max_message_bytes)
        if isinstance(declaration, Rejection):
            return declaration
        try:
            return self.engine.screen(declaration)
        except Exception as exc:  # a rule bug must not stop the stream or lose the declaration
            log.exception("rule failure on a declaration; sent to the dead-letter topic")
            return Rejection(RejectReason.RULE_ERROR, f"{type(exc).__name__}: {exc}"[:1000])


def utc_now() -> datetime:
    return datetime.now(UTC)
