"""Sending what a batch produced, and knowing that it arrived.

Every send goes straight to the producer (faust flushes this same producer before each offset
commit) and its delivery future is kept; `delivered()` waits for all of them and raises
DeliveryError if any failed. An agent acks its input only after `delivered()`: a message whose
alerts, dead letter or observations did not reach Kafka is never committed.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaError

from streams.errors import StreamsError


class DeliveryError(StreamsError):
    """Something a batch produced could not be sent; the batch must not be acked."""


class Outbox:
    """Sends through an aiokafka producer and tracks delivery.

    >>> outbox = Outbox(lambda: app.producer._ensure_producer())
    >>> await outbox.send("customs.alerts", key, value)
    >>> await outbox.delivered()        # raises DeliveryError on any failure
    """

    def __init__(self, producer: Any) -> None:
        self._producer_of = producer
        self._pending: list[asyncio.Future[Any]] = []

    @property
    def producer(self) -> Any:
        return self._producer_of()

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        try:
            future = await self.producer.send(
                topic, value, key=key, partition=partition, headers=headers
            )
        except KafkaError as exc:
            raise DeliveryError(f"could not send to {topic}: {exc!r}") from exc
        self._pending.append(future)

    async def send_records(
        self, topic: str, partition: int, records: Sequence[tuple[bytes, bytes | None]]
    ) -> list[asyncio.Future[Any]]:
        """Many records to one partition, in as few produce batches as they fit in. Returns
        the batches' futures (each gives the metadata of its batch's last record)."""
        producer = self.producer
        futures: list[asyncio.Future[Any]] = []
        batch = producer.create_batch()
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                futures.append(await self._send_batch(batch, topic, partition))
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    size = len(value or b"")
                    raise DeliveryError(f"a record of {size} bytes does not fit in {topic}")
        if batch.record_count():
            futures.append(await self._send_batch(batch, topic, partition))
        self._pending.extend(futures)
        return futures

    async def _send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[Any]:
        try:
            return await self.producer.send_batch(batch, topic, partition=partition)
        except KafkaError as exc:
            raise DeliveryError(f"could not send to {topic}: {exc!r}") from exc

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[asyncio.Future[Any]]:
        """The futures of everything sent since the last take, to wait for elsewhere."""
        pending, self._pending = self._pending, []
        return pending

    async def delivered(self) -> None:
        """Wait until everything sent so far has arrived; DeliveryError if anything failed."""
        await arrived(self.take())


async def arrived(futures: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for these sends; DeliveryError if any failed."""
    if not futures:
        return
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise DeliveryError(f"a send failed: {result!r}") from result
