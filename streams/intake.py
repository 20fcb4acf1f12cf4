"""The screening stage on the Kafka side: one batch of input records in; what the dataflow's first
half gives for it (alerts/pipeline.py) out, as dead letters, alerts, cases and observation frames,
delivered before the batch may be acked."""

import time
from dataclasses import dataclass
from typing import Any

from alerts.pipeline import Dataflow, Screening, utc_now
from alerts.windows.observations import Frame
from schemas.alert import Alert
from schemas.case import Case
from streams.decoding import SourceRef, dead_letter
from streams.outbox import Outbox, arrived
from streams.sensors import Sensor


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
    screening: Screening
    seconds: float


class Intake:
    """Sends what the dataflow's first half gives for batches of input records.

    >>> intake = Intake(Dataflow(core, 6, partition_of), sensor, outbox, topics, 1 << 20)
    >>> sent = await intake.process(records)   # screened and sent, not yet delivered
    >>> await intake.settle(sent)              # delivered (else DeliveryError), and counted
    """

    def __init__(
        self,
        flow: Dataflow,
        sensor: Sensor,
        outbox: Outbox,
        topics: Topics,
        max_request_bytes: int,
    ) -> None:
        self.flow = flow
        self.sensor = sensor
        self.outbox = outbox
        self.topics = topics
        self.max_request_bytes = max_request_bytes
        self.max_frame_bytes = max_request_bytes // 2

    async def process(self, records: list[Any]) -> Sent:
        """Screen a batch and send its outputs, without waiting for them to arrive."""
        started = time.perf_counter()
        return await self.send(records, self.flow.screen(records), started)

    async def settle(self, sent: Sent) -> None:
        """Wait until a batch's outputs arrived (DeliveryError if any did not); report them."""
        await arrived(sent.futures)
        self.sensor.on_batch_delivered(sent.read, sent.screening, sent.seconds)

    async def send(self, records: list[Any], screening: Screening, started: float) -> Sent:
        """Send what screening gave for these records: dead letters, alerts, cases, frames."""
        topics = self.topics
        send = self.outbox.send
        if rejections := screening.rejections():
            now = utc_now()
            for n, rejection in rejections:
                record = records[n]
                letter = dead_letter(
                    rejection,
                    SourceRef(topics.declarations, record.partition, record.offset),
                    now,
                    record.key,
                    record.value,
                    list(record.headers or ()),
                    self.max_request_bytes,
                )
                await send(topics.dead_letters, letter.key, letter.value, letter.headers)
        for alert in screening.alerts:
            await send(topics.alerts, *encode_alert(alert))
        if topics.cases:
            for case in screening.cases:
                await send(topics.cases, *encode_case(case))
        for partition, frame in screening.frames.items():
            for encoded in split_frame(frame, self.max_frame_bytes):
                await send(topics.observations, b"%d" % partition, encoded, partition=partition)
        return Sent(self.outbox.take(), len(records), screening, time.perf_counter() - started)
