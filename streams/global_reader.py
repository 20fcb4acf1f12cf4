"""Reading a whole topic on every worker, as a global table: the feedback and reference topics.

Some state must hold in every partition: an analyst's suppression, a new watchlist version. Each
worker reads every partition of such a topic from the beginning, outside its consumer group, in
a thread of its own, and hands each poll's records to a callback. `ready()` returns once the
records that were there when the worker started have all been handed over, so that a worker
screens nothing before it knows them; after that the reader follows the topic.

The reader failing (the broker refusing it) stops the worker: a worker that silently lost this
state would screen against stale lists or page about decided cases. A record is another matter:
the callbacks refuse what they cannot take, one record at a time, and never raise, so that no
record on these topics can stop a worker (it would stop every worker, at every start).
"""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.kafka_security import kafka_python_options
from streams.settings import Settings


class GlobalReader:
    """>>> reader = GlobalReader(settings, "customs.feedback", on_records, on_failure=fail_stop)
    >>> await reader.ready()"""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        on_records: Callable[[list[Any]], None],
        on_failure: Callable[[str], None],
        poll_ms: int = 500,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.on_records = on_records
        self.on_failure = on_failure
        self.poll_ms = poll_ms
        self.caught_up = threading.Event()
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"tradewatch-read-{self.topic}", daemon=True
                )
                self._thread.start()

    async def ready(self) -> None:
        """Return once every record there at the start has been handed over."""
        self.start()
        if not self.caught_up.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.caught_up.wait)

    def on_tick(self) -> None:
        """Called after every poll, records or not: for what must happen in time."""

    def _run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # never blind: see the module's docstring
            self.on_failure(f"reading {self.topic} failed: {type(exc).__name__}: {exc}")

    def _follow(self) -> None:
        consumer = KafkaConsumer(
            **kafka_python_options(self.settings),
            client_id=f"{self.settings.app_id}-{self.topic}-reader",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            max_partition_fetch_bytes=max(1_048_576, self.settings.max_message_bytes * 2),
        )
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            while not partitions and not self.stop.wait(0.5):
                partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                return
            assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            ends = consumer.end_offsets(assigned)
            while not self.stop.is_set():
                records = [
                    record
                    for batch in consumer.poll(timeout_ms=self.poll_ms).values()
                    for record in batch
                ]
                if records:
                    self.on_records(records)
                self.on_tick()
                if not self.caught_up.is_set() and all(
                    consumer.position(tp) >= end for tp, end in ends.items()
                ):
                    self.caught_up.set()
        finally:
            consumer.close()
