"""Fixtures of the streams tests: a producer that records what would reach Kafka."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] | None
    partition: int | None


class _Batch:
    def __init__(self, limit: int) -> None:
        self.records: list[tuple[bytes | None, bytes]] = []
        self.limit = limit

    def append(self, *, key: bytes | None, value: bytes, timestamp: Any) -> object | None:
        if len(self.records) >= self.limit:
            return None
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)


@dataclass
class _Metadata:
    offset: int


@dataclass
class RecordingProducer:
    """An aiokafka producer's send API that records instead of sending. `fail_on` names a
    topic whose sends fail on delivery; `refuse` one whose sends are refused at once."""

    records: list[Record] = field(default_factory=list)
    fail_on: str | None = None
    refuse: str | None = None
    batch_limit: int = 50

    def _future(self, topic: str, offset: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if topic == self.fail_on:
            future.set_exception(RuntimeError(f"broker refused {topic}"))
        else:
            future.set_result(_Metadata(offset))
        return future

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        if topic == self.refuse:
            from aiokafka.errors import MessageSizeTooLargeError

            raise MessageSizeTooLargeError("too large")
        self.records.append(Record(topic, key, value, headers, partition))
        return self._future(topic, len(self.records) - 1)

    def create_batch(self) -> _Batch:
        return _Batch(self.batch_limit)

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        for key, value in batch.records:
            self.records.append(Record(topic, key, value, None, partition))
        return self._future(topic, len(self.records) - 1)

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.records if r.topic == topic]


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()
