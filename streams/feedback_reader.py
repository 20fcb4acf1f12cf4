"""Every worker reads the whole feedback topic: a suppression must hold in every partition.

Decisions are few (people make them), so each worker reads all of them from the beginning, as
a global table would, and keeps the suppressions in memory (alerts/feedback.py). Screening waits
until the reader has caught up with the topic's end as it was at start, so that a restart
applies the same suppressions to the same findings; after that the reader follows the topic.

An invalid record is logged in one line, counted and skipped. The reader failing (the broker
refusing it, say) stops the worker: a worker that silently lost its suppressions would page
people about what they had already decided on.
"""

import asyncio
import logging
import threading
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from alerts.feedback import Suppressions
from schemas.feedback import Feedback
from streams.kafka_security import kafka_python_options
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger("tradewatch.feedback")


class FeedbackReader:
    """>>> reader = FeedbackReader(settings, core.suppressions, metrics, on_failure=fail_stop)
    >>> reader.start(); await reader.ready()"""

    def __init__(
        self,
        settings: Settings,
        suppressions: Suppressions,
        metrics: Metrics,
        on_failure: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.topic = settings.topic_feedback
        self.suppressions = suppressions
        self.metrics = metrics
        self.on_failure = on_failure
        self.caught_up = threading.Event()
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tradewatch-feedback", daemon=True
                )
                self._thread.start()

    async def ready(self) -> None:
        """Return once every decision made before the worker started is applied."""
        self.start()
        if not self.caught_up.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.caught_up.wait)

    def apply(self, value: bytes | None) -> None:
        try:
            feedback = Feedback.model_validate_json(value or b"")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            log.warning("skipping an invalid record on %s: %s: %s", self.topic, where, first["msg"])
            self.metrics.feedback_read.labels(outcome="invalid").inc()
            return
        self.metrics.feedback_read.labels(outcome="applied").inc()
        if self.suppressions.add(feedback):
            self.metrics.suppressions.set(len(self.suppressions))

    def _run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # never blind: a worker without its suppressions must stop
            self.on_failure(f"reading {self.topic} failed: {type(exc).__name__}: {exc}")

    def _follow(self) -> None:
        consumer = KafkaConsumer(
            **kafka_python_options(self.settings),
            client_id=f"{self.settings.app_id}-feedback-reader",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
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
                for records in consumer.poll(timeout_ms=500).values():
                    for record in records:
                        self.apply(record.value)
                if not self.caught_up.is_set() and all(
                    consumer.position(tp) >= end for tp, end in ends.items()
                ):
                    log.info(
                        "feedback read: %d suppressions from %s", len(self.suppressions), self.topic
                    )
                    self.caught_up.set()
        finally:
            consumer.close()
