"""The batch consumer's merged topics across a seek (streams/batching.py).

faust seeks every partition back to its committed offset once a rebalance's recovery is done,
while its fetcher keeps running: a fetch can complete in the middle of the seek. Whatever the
timing, every record from the committed offset on must reach the stream."""

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

from streams.batching import BatchConsumer, MergedBatch

TOPIC = "customs.declarations"
P0, P1 = TP(TOPIC, 0), TP(TOPIC, 1)


@dataclass
class Record:
    offset: int
    timestamp: int
    partition: int = 0
    timestamp_type: int = 0
    key: bytes | None = None
    value: bytes = b""


class Broker:
    """Two partitions' records, and a fetch position per partition (as aiokafka keeps)."""

    def __init__(self) -> None:
        self.log = {P0: [Record(o, 1000 + o) for o in range(4)], P1: [Record(0, 2000, 1)]}
        self.position = {P0: 0, P1: 0}

    def fetch(self, *tps: TP) -> dict[TP, list[Record]]:
        fetched = {}
        for tp in tps or self.log:
            records = self.log[tp]
            new = records[self.position[tp] :]
            if new:
                fetched[tp] = new
                self.position[tp] = new[-1].offset + 1
        return fetched


def consumer_on(broker: Broker, committed: dict[TP, int]) -> BatchConsumer:
    consumer = BatchConsumer.__new__(BatchConsumer)
    consumer.merge_topics = frozenset({TOPIC})
    consumer.batch_topics = frozenset({TOPIC})
    consumer.flow_active = True
    consumer._stopped = consumer._crashed = asyncio.Event()
    consumer._batch_next = {}
    consumer._assigned = {P0, P1}
    consumer._merges = {}
    consumer._fetched_next = {}
    consumer._buffered_partitions = set()
    consumer._committed_offset = dict(committed)
    consumer._read_offset = defaultdict(lambda: None)
    consumer.app = SimpleNamespace(
        consumer_generation_id=1,
        monitor=SimpleNamespace(track_tp_end_offset=lambda tp, o: None),
        tables=SimpleNamespace(changelog_topics=set()),
    )

    async def seek_to_beginning(*tps: Any) -> None:
        for tp in tps:
            broker.position[TP(tp.topic, tp.partition)] = 0

    consumer._thread = SimpleNamespace(seek_to_beginning=seek_to_beginning)
    consumer.highwater = lambda tp: len(broker.log[tp])  # type: ignore[method-assign]
    consumer.assignment = lambda: {P0, P1}  # type: ignore[method-assign]
    consumer._reset_merges()
    return consumer


async def screened(
    consumer: BatchConsumer, fetches: list[dict[TP, list[Record]]]
) -> list[tuple[int, int]]:
    offsets = []
    for fetch in fetches:

        async def wait_next_records(timeout: float, fetch: Any = fetch) -> Any:
            return fetch, None

        consumer._wait_next_records = wait_next_records  # type: ignore[method-assign]
        async for _, message in consumer.getmany(timeout=0):
            assert isinstance(message, MergedBatch)
            offsets += [(r.partition, r.offset) for r in message.records]
    return offsets


@pytest.mark.parametrize("fetch_during_seek", ["new positions", "old positions"])
def test_records_fetched_while_a_seek_is_under_way_are_neither_lost_nor_doubled(
    monkeypatch: pytest.MonkeyPatch, fetch_during_seek: str
) -> None:
    broker = Broker()
    consumer = consumer_on(broker, committed={P0: 1})
    broker.position[P0] = 3  # offsets 1 and 2 were fetched before the rebalance
    seen: list[tuple[int, int]] = []

    async def seek_to_committed(self: Any) -> None:
        # Partition 1 has a record on the broker not fetched yet: partition 0's records
        # wait in the merge for it (they might be newer).
        if fetch_during_seek == "old positions":
            seen.extend(await screened(consumer, [broker.fetch(P0)]))  # before the seek
        broker.position[P0] = 1
        broker.position[P1] = 0
        if fetch_during_seek == "new positions":
            seen.extend(await screened(consumer, [broker.fetch(P0)]))  # before faust resumes

    monkeypatch.setattr(aiokafka_driver.Consumer, "perform_seek", seek_to_committed)

    async def scenario() -> list[tuple[int, int]]:
        await consumer.perform_seek()
        return seen + await screened(consumer, [broker.fetch(), {}])

    offsets = asyncio.run(scenario())
    assert seen == []  # held back by partition 1 until it came
    assert offsets == [(0, 1), (0, 2), (0, 3), (1, 0)]
