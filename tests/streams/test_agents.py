"""The window stage on the Kafka side: frames applied, alerts sent, state checkpointed in order.

The faust wiring is exercised against the real broker (tests/integration); here the agent's own
logic runs with a recording producer and a table store shaped as faust's in-memory one.
"""

import asyncio

import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts.pipeline import Core, CoreOptions, WindowStage, frames
from alerts.rules.volume_anomaly import IMPORTER_HEADING, ROUTE_CHAPTER
from alerts.state.formats import FRAME_CURSOR, WINDOW_STATE
from alerts.state.keys import frame_cursor_key, stream_start_key
from alerts.windows.observations import Frame, Observation
from alerts.windows.state import N
from streams.metrics import Metrics
from streams.outbox import DeliveryError, Outbox
from streams.partitioning import partition_of
from streams.window_agent import FrameGap, WindowAgent
from streams.window_store import TableStore
from tests.alerts.windows.helpers import declaration, observe
from tests.streams.conftest import RecordingProducer

CORE = Core.build(CoreOptions())
CHANGELOG = "tw-window-state-changelog"


class MemoryData:
    """The shape of faust's in-memory table store."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self._key_partition: dict[bytes, int] = {}


class Message:
    def __init__(self, partition: int) -> None:
        self.partition = partition


class FrameRecord:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class Event:
    """A batch event of the observations topic: frames as records, and whether it was acked."""

    def __init__(self, partition: int, frames: list[bytes], first_offset: int = 0) -> None:
        self.message = Message(partition)
        self.value = [FrameRecord(first_offset + n, f) for n, f in enumerate(frames)]
        self.acked = False

    def ack(self) -> None:
        self.acked = True


def agent(producer: RecordingProducer) -> tuple[WindowAgent, MemoryData]:
    data = MemoryData()
    store = TableStore(CORE.windows, data)
    stage = WindowStage(CORE.windows)
    return (
        WindowAgent(
            stage,
            store,
            Metrics(CollectorRegistry()),
            Outbox(lambda: producer),
            "alerts",
            CHANGELOG,
        ),
        data,
    )


def steady_then_spike() -> list[Observation]:
    """One importer's heading: two declarations a day for 20 days, then 16 within minutes.

    Against a history of exactly 2 a day (Poisson 2), a day alerts from its 13th declaration
    (P(X >= 13) is 2.1e-7, under volume_alpha 1e-6; P(X >= 12) is 1.4e-6)."""
    steady = [
        declaration(day + k / 24, day * 10 + k, invoice_value=5000)
        for day in range(20)
        for k in range(2)
    ]
    spike = [declaration(20 + k / 1440, 1000 + k, invoice_value=5000) for k in range(16)]
    return [o for o in observe([*steady, *spike]) if o.kind is IMPORTER_HEADING]


def test_frames_are_applied_and_checkpointed(producer: RecordingProducer) -> None:
    window_agent, data = agent(producer)
    observations = steady_then_spike()
    # One frame per observation, as a worker screening one declaration per batch would send.
    event = Event(0, [Frame(o.event_time_ms, [o]).encode() for o in observations])

    async def run() -> None:
        await window_agent.apply(event)
        assert not event.acked and not producer.on(CHANGELOG)  # held until the checkpoint
        await window_agent.checkpoint()

    asyncio.run(run())
    alerts = [orjson.loads(r.value) for r in producer.on("alerts")]
    assert {a["rule_id"] for a in alerts} == {"volume_anomaly.window"}
    assert {a["evidence"]["crossed_by"] for a in alerts} == {"D-01012"}  # the 13th of the spike
    assert event.acked
    key = observations[0].table_key.encode()
    state = WINDOW_STATE.decode(data.data[key])
    assert sum(bucket[N] for bucket in state.buckets.values()) == len(observations)
    # One changelog record per changed key per checkpoint, the partition's stream start and
    # the offset after its last frame; the same bytes in the local store.
    changelog = {r.key: r.value for r in producer.on(CHANGELOG)}
    bookkeeping = (stream_start_key(0), frame_cursor_key(0))
    assert changelog == {k: data.data[k] for k in (key, *bookkeeping)}
    assert len(producer.on(CHANGELOG)) == 3
    assert FRAME_CURSOR.decode(data.data[frame_cursor_key(0)]) == len(observations)
    # Alerts were sent before the changelog.
    topics = [r.topic for r in producer.records]
    assert max(i for i, t in enumerate(topics) if t == "alerts") < topics.index(CHANGELOG)


def test_one_frame_gives_the_alerts_of_its_observations_one_by_one(
    producer: RecordingProducer,
) -> None:
    observations = steady_then_spike()
    one_by_one, _ = agent(producer)
    asyncio.run(
        one_by_one.apply(Event(0, [Frame(o.event_time_ms, [o]).encode() for o in observations]))
    )
    expected = sorted(_without_clock(r.value) for r in producer.on("alerts"))
    other = RecordingProducer()
    together, _ = agent(other)
    [(_, frame)] = frames(observations, 1, partition_of).items()
    asyncio.run(together.apply(Event(0, [frame.encode()])))
    assert sorted(_without_clock(r.value) for r in other.on("alerts")) == expected
    assert expected


def _without_clock(raw: bytes) -> str:
    document = orjson.loads(raw)
    document.pop("detected_at")
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


@pytest.mark.parametrize("failing", ["alerts", CHANGELOG])
def test_a_checkpoint_whose_sends_fail_acks_nothing(failing: str) -> None:
    producer = RecordingProducer(fail_on=failing)
    window_agent, data = agent(producer)
    event = Event(0, [Frame(o.event_time_ms, [o]).encode() for o in steady_then_spike()])

    async def run() -> None:
        await window_agent.apply(event)
        await window_agent.checkpoint()

    with pytest.raises(DeliveryError):
        asyncio.run(run())
    assert not event.acked
    if failing == "alerts":  # the state never goes out before its alerts have arrived
        assert not producer.on(CHANGELOG)
    assert not data.data  # nor into the local store before the changelog has it


def test_a_replayed_frame_after_a_restart_is_not_counted_again(
    producer: RecordingProducer,
) -> None:
    observations = steady_then_spike()
    encoded = [Frame(o.event_time_ms, [o]).encode() for o in observations]
    first, data = agent(producer)

    async def apply_and_checkpoint(window_agent: WindowAgent, event: Event) -> None:
        await window_agent.apply(event)
        await window_agent.checkpoint()

    asyncio.run(apply_and_checkpoint(first, Event(0, encoded)))
    alerts_before = len(producer.on("alerts"))
    # A new agent on the same store, as after a restart: the same frames come again.
    second = WindowAgent(
        WindowStage(CORE.windows),
        TableStore(CORE.windows, data),
        Metrics(CollectorRegistry()),
        Outbox(lambda: producer),
        "alerts",
        CHANGELOG,
    )
    asyncio.run(apply_and_checkpoint(second, Event(0, encoded)))
    assert len(producer.on("alerts")) == alerts_before  # nothing found twice
    state = WINDOW_STATE.decode(data.data[observations[0].table_key.encode()])
    assert sum(bucket[N] for bucket in state.buckets.values()) == len(observations)


def test_a_frame_beyond_the_next_expected_stops_the_window_stage_before_it_is_applied(
    producer: RecordingProducer,
) -> None:
    # Frames 0-19 applied and checkpointed; then frames 25 on come while 20-24 never did (a
    # consumer that skipped them). Applying them would count later observations before
    # earlier ones: the agent refuses, and nothing of the batch is applied or held.
    observations = steady_then_spike()
    encoded = [Frame(o.event_time_ms, [o]).encode() for o in observations]
    window_agent, data = agent(producer)

    later = Event(0, encoded[20:], first_offset=20)

    async def run() -> None:
        await window_agent.apply(Event(0, encoded[:20]))
        await window_agent.checkpoint()
        with pytest.raises(FrameGap, match=r"observations\[0\]: frame 25 came while frame 20"):
            await window_agent.apply(Event(0, encoded[25:], first_offset=25))
        assert not window_agent.held and not window_agent.store.dirty
        assert not producer.on("alerts")
        assert FRAME_CURSOR.decode(data.data[frame_cursor_key(0)]) == 20
        # Frames 20 on, in order, as the worker that takes the partition over reads them.
        await window_agent.apply(later)
        await window_agent.checkpoint()

    asyncio.run(run())
    assert later.acked and producer.on("alerts"), "the spike's alerts"


def test_frames_deleted_by_retention_before_they_were_applied_are_passed_over(
    producer: RecordingProducer, caplog: pytest.LogCaptureFixture
) -> None:
    # The worker was away longer than the topic keeps frames: the first it still holds comes
    # after a gap that no restart can fill. It is said, and the stage goes on.
    observations = steady_then_spike()
    encoded = [Frame(o.event_time_ms, [o]).encode() for o in observations]
    window_agent, data = agent(producer)

    async def earliest(partition: int) -> int:
        return 25

    window_agent.earliest = earliest

    async def run() -> None:
        await window_agent.apply(Event(0, encoded[:20]))
        await window_agent.apply(Event(0, encoded[25:], first_offset=25))
        await window_agent.checkpoint()

    asyncio.run(run())
    assert "frames 20..24 of partition 0 were deleted before they were applied" in caplog.text
    assert FRAME_CURSOR.decode(data.data[frame_cursor_key(0)]) == len(observations)


def test_forgetting_a_revoked_partition_drops_its_held_frames(producer: RecordingProducer) -> None:
    window_agent, _ = agent(producer)
    observations = steady_then_spike()
    kept, revoked = (
        Event(0, [Frame(observations[0].event_time_ms, observations[:3]).encode()]),
        Event(1, [Frame(observations[3].event_time_ms, observations[3:6]).encode()]),
    )
    asyncio.run(window_agent.apply(kept))
    asyncio.run(window_agent.apply(revoked))
    window_agent.forget({1})
    asyncio.run(window_agent.checkpoint())
    assert kept.acked and not revoked.acked
    assert all(r.partition == 0 for r in producer.on(CHANGELOG))


def test_stream_start_is_the_first_frame_and_never_moves(producer: RecordingProducer) -> None:
    window_agent, data = agent(producer)
    late_outlier = observe([declaration(-19_000, 1)])  # dated about 1973
    observations = steady_then_spike()
    first = Frame(observations[0].event_time_ms, observations[:5])
    outlier = Frame(
        late_outlier[0].event_time_ms,
        [o for o in late_outlier if o.kind is ROUTE_CHAPTER],
    )
    asyncio.run(window_agent.apply(Event(0, [first.encode(), outlier.encode()])))
    asyncio.run(window_agent.checkpoint())
    from alerts.state.formats import STREAM_START

    assert STREAM_START.decode(data.data[stream_start_key(0)]) == observations[0].event_time_ms
