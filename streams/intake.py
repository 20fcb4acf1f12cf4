"""The screening stage on the Kafka side: one batch of input records in; its alerts, dead
letters and observation frames out, delivered before the batch may be acked."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.cases import declaration_case
from alerts.pipeline import Core, frames, utc_now
from alerts.screening import Screened
from alerts.windows.observations import Frame, Observation
from schemas.alert import Alert
from schemas.case import Case
from schemas.wire import Rejection, RejectReason
from streams.decoding import SourceRef, dead_letter
from streams.metrics import Metrics
from streams.outbox import Outbox, arrived


def encode_alert(alert: Alert) -> tuple[bytes, bytes]:
    return alert.alert_id.encode("ascii"), alert.model_dump_json().encode()


def encode_case(case: Case) -> tuple[bytes, bytes]:
    return case.case_id.encode("ascii"), case.model_dump_json().encode()


def split_frame(frame: Frame, max_bytes: int) -> list[bytes]:
    """The frame encoded, in as many frames as it takes for each to fit in max_bytes."""
    encoded = frame.encode()
    if len(encoded) <= max_bytes or len(frame.observations) == 1:
        return [encoded]
    half = len(frame.observations) // 2
    first, second = frame.observations[:half], frame.observations[half:]
    return split_frame(Frame(first[0].event_time_ms, first), max_bytes) + split_frame(
        Frame(second[0].event_time_ms, second), max_bytes
    )


@dataclass(frozen=True)
class Topics:
    declarations: str
    alerts: str
    dead_letters: str
    observations: str
    observation_partitions: int
    cases: str | None = None
    """Where declaration cases go; None: no cases (tests of the other outputs)."""


@dataclass
class Sent:
    """What a batch produced, sent and on its way: `Intake.settle` waits for it to arrive."""

    futures: list[Any]
    read: int
    rejected: Counter[RejectReason]
    alerts: list[Alert]
    alerting: list[Screened]
    seconds: float
    cases: list[Case] = field(default_factory=list)


class Intake:
    """Screens batches of input records and sends what they give.

    >>> intake = Intake(core, metrics, outbox, topics, partition_of, max_request_bytes=1 << 20)
    >>> sent = await intake.process(records)   # screened and sent, not yet delivered
    >>> await intake.settle(sent)              # delivered (else DeliveryError), and counted
    """

    def __init__(
        self,
        core: Core,
        metrics: Metrics,
        outbox: Outbox,
        topics: Topics,
        partition_of: Callable[[str, int], int],
        max_request_bytes: int,
    ) -> None:
        self.core = core
        self.metrics = metrics
        self.outbox = outbox
        self.topics = topics
        self.partition_of = partition_of
        self.max_request_bytes = max_request_bytes
        self.max_frame_bytes = max_request_bytes // 2

    def screen(self, records: list[Any], core: Core | None = None) -> list[Screened | Rejection]:
        screen = (core or self.core).screener.screen
        return [
            screen(record.value, record.partition, record.offset, record.timestamp)
            for record in records
        ]

    async def process(self, records: list[Any]) -> Sent:
        """Screen a batch and send its outputs, without waiting for them to arrive. The whole
        batch is screened against one core (reference data swaps in between batches)."""
        started = time.perf_counter()
        core = self.core
        return await self.send(records, self.screen(records, core), started, core)

    async def settle(self, sent: Sent) -> None:
        """Wait until a batch's outputs arrived (DeliveryError if any did not); count them."""
        await arrived(sent.futures)
        self._count(sent.read, sent.rejected, sent.alerts, sent.alerting, sent.seconds)
        for case in sent.cases:
            self.metrics.cases.labels(severity=case.severity.value).inc()

    async def send(
        self,
        records: list[Any],
        outcomes: list[Screened | Rejection],
        started: float,
        core: Core | None = None,
    ) -> Sent:
        """Send what screening gave for these records (in the same order)."""
        scoring = (core or self.core).scoring
        topics = self.topics
        outbox = self.outbox
        send = outbox.send
        observations: list[Observation] = []
        alerts: list[Alert] = []
        cases: list[Case] = []
        rejected: Counter[RejectReason] = Counter()
        alerting: list[Screened] = []
        now = None
        for record, outcome in zip(records, outcomes, strict=True):
            if isinstance(outcome, Rejection):
                now = now or utc_now()
                letter = dead_letter(
                    outcome,
                    SourceRef(topics.declarations, record.partition, record.offset),
                    now,
                    record.key,
                    record.value,
                    list(record.headers or ()),
                    self.max_request_bytes,
                )
                await send(topics.dead_letters, letter.key, letter.value, letter.headers)
                rejected[outcome.reason] += 1
                continue
            if outcome.alerts:
                alerting.append(outcome)
                for alert in outcome.alerts:
                    await send(topics.alerts, *encode_alert(alert))
                    alerts.append(alert)
                case = (
                    declaration_case(outcome.alerts, scoring, outcome.declaration)
                    if topics.cases
                    else None
                )
                if case is not None and topics.cases:
                    await send(topics.cases, *encode_case(case))
                    cases.append(case)
            observations.extend(outcome.observations)
        for partition, frame in frames(
            observations, topics.observation_partitions, self.partition_of
        ).items():
            for encoded in split_frame(frame, self.max_frame_bytes):
                await send(topics.observations, b"%d" % partition, encoded, partition=partition)
        return Sent(
            outbox.take(),
            len(records),
            rejected,
            alerts,
            alerting,
            time.perf_counter() - started,
            cases,
        )

    def _count(
        self,
        read: int,
        rejected: Counter[RejectReason],
        alerts: list[Alert],
        alerting: list[Screened],
        seconds: float,
    ) -> None:
        """Metrics count what reached Kafka: called once the batch's sends were delivered."""
        metrics = self.metrics
        bad = sum(rejected.values())
        metrics.declarations_ok.inc(read - bad)
        for reason, count in rejected.items():
            metrics.dead_letter(reason, count)
        for alert in alerts:
            metrics.alert(
                alert.rule_id, alert.category, alert.severity, alert.suppressed_by is not None
            )
        for screened in alerting:
            metrics.alerting(screened.declaration)
        if read:
            metrics.screening_seconds(seconds, read)
