"""The desk's reader: keeps its store up to date from the case, feedback, decisions and alert
topics, outside any consumer group.

It resumes from the offsets the store holds (each batch and its offsets are committed in one
transaction), or from the beginning of every partition when the store is new: deleting the
file rebuilds it from the topics. A record that cannot be read is logged in one line, counted
and skipped; the broker going away is retried with a pause, never given up.

    reader = DeskReader(settings, store)
    reader.start()            # a daemon thread
    reader.behind             # records not read yet, of the topics as they stood last looked at
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from alerts.feedback import Ruling
from schemas.alert import Alert
from schemas.case import Case
from schemas.control import InvalidControlRecord, decode_control
from schemas.feedback import MAX_FEEDBACK_BYTES, Feedback
from streams.feedback_reader import MAX_RULING_BYTES
from streams.kafka_security import kafka_python_options
from streams.settings import Settings
from tools.desk.store import Store

log = logging.getLogger("tradewatch.desk")
BATCH_RECORDS = 5000
REFRESH_SECONDS = 30.0
RETRY_SECONDS = 2.0
_NOT_SUPPRESSED = b'"suppressed_by":null'


class DeskReader:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.topics = (
            settings.topic_cases,
            settings.topic_feedback,
            settings.decisions_topic,
            settings.topic_alerts,
        )
        self.read = 0
        self.skipped = 0
        self.behind: int | None = None
        """Records not yet read (None until the topics were first looked at)."""
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="desk-reader", daemon=True)
        self._changed = threading.Condition()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def wait_for(self, found: Callable[[], bool], timeout: float) -> bool:
        """Wait until `found()` holds (checked after each batch the reader stores)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not found():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except (KafkaError, OSError) as exc:
                self.error = f"cannot read the topics: {exc}"
                log.warning("desk reader: %s; retrying in %.0f s", self.error, RETRY_SECONDS)
                self._stop.wait(RETRY_SECONDS)
            except Exception as exc:  # the store failing: say it on every page, keep trying
                self.error = f"cannot update the store: {exc}"
                log.exception("desk reader failed; retrying in %.0f s", RETRY_SECONDS)
                self._stop.wait(RETRY_SECONDS)

    def _follow(self) -> None:
        consumer = KafkaConsumer(
            **kafka_python_options(self.settings),
            client_id=f"{self.settings.app_id}-desk",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            auto_offset_reset="earliest",
            max_poll_records=BATCH_RECORDS,
        )
        try:
            assigned: list[TopicPartition] = []
            looked = 0.0
            while not self._stop.is_set():
                if time.monotonic() - looked > REFRESH_SECONDS or not assigned:
                    assigned = self._assign(consumer, assigned)
                    looked = time.monotonic()
                    if not assigned:
                        self.error = f"none of {', '.join(self.topics)} exists yet"
                        self._stop.wait(RETRY_SECONDS)
                        continue
                batch = consumer.poll(timeout_ms=500)
                if batch:
                    self._store(batch)
                ends = consumer.end_offsets(assigned)
                self.behind = sum(max(0, end - consumer.position(tp)) for tp, end in ends.items())
                self.error = None
                with self._changed:
                    self._changed.notify_all()
        finally:
            consumer.close()

    def _assign(self, consumer: KafkaConsumer, assigned: list[TopicPartition]) -> list[Any]:
        wanted = [
            TopicPartition(topic, partition)
            for topic in self.topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if wanted == assigned:
            return assigned
        consumer.assign(wanted)
        stored = self.store.offsets()
        for tp in wanted:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        return wanted

    def _store(self, batch: dict[Any, list[Any]]) -> None:
        cases: list[Case] = []
        decisions: list[Feedback] = []
        rulings: list[Ruling] = []
        suppressed: list[tuple[str, str, str, str]] = []
        offsets: dict[tuple[str, int], int] = {}
        settings = self.settings
        for tp, records in batch.items():
            for record in records:
                self.read += 1
                offsets[(tp.topic, tp.partition)] = record.offset + 1
                value = record.value
                if value is None:
                    continue  # a tombstone
                try:
                    if tp.topic == settings.topic_cases:
                        cases.append(Case.model_validate_json(value))
                    elif tp.topic == settings.topic_feedback:
                        decisions.append(decode_control(value, Feedback, MAX_FEEDBACK_BYTES))
                    elif tp.topic == settings.decisions_topic:
                        if len(value) <= MAX_RULING_BYTES:
                            rulings.append(Ruling.decode(value))
                    elif _NOT_SUPPRESSED not in value:
                        alert = Alert.model_validate_json(value)
                        if alert.suppressed_by is not None:
                            day = alert.event_time.date().isoformat()
                            suppressed.append(
                                (alert.alert_id, alert.rule_id, day, alert.suppressed_by)
                            )
                except (ValidationError, InvalidControlRecord, ValueError, KeyError) as exc:
                    self.skipped += 1
                    where = f"{tp.topic}[{tp.partition}]@{record.offset}"
                    log.warning("desk reader: skipped %s: %s", where, str(exc).splitlines()[0])
        self.store.apply(cases, decisions, rulings, suppressed, offsets)
