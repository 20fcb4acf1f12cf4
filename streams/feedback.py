"""`tradewatch feedback`: an analyst's decision on a case, sent to the feedback topic.

    tradewatch feedback 9a1e… --benign --reason "licensed importer" --suppress-days 90
    tradewatch feedback 9a1e… --confirmed --reason "matches the OFAC entry, tax id agrees"

A suppression silences what the case found: its rules, for findings in its scope (the parties
of a declaration case, the series of a window case), from now until it expires. To build it the
command reads the case from the case topic (only the case's partition); a decision without a
suppression needs nothing but the case id, and may name a case that is not there yet.
"""

import getpass
import os
import time
import uuid
from datetime import datetime, timedelta

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from alerts.feedback import suppression_for
from alerts.pipeline import utc_now
from schemas.case import Case
from schemas.feedback import Decision, Feedback
from streams.errors import BrokerError, StreamsError
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.produce import make_producer
from streams.settings import Settings
from streams.topics import require_topic


class CaseNotFound(StreamsError):
    """The case a suppression is to be built from is not on the case topic."""


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the worker's producer) gives."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def find_case(settings: Settings, case_id: str, timeout_s: float = 30.0) -> Case | None:
    """The latest version of a case, read from its partition of the case topic."""
    announce(settings)
    try:
        consumer = KafkaConsumer(
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-feedback",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    key = case_id.encode()
    try:
        partitions = consumer.partitions_for_topic(settings.topic_cases)
        if not partitions:
            raise BrokerError(f"topic {settings.topic_cases} does not exist")
        tp = TopicPartition(settings.topic_cases, partition_for(key, len(partitions)))
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        found: bytes | None = None
        deadline = time.monotonic() + timeout_s
        while consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise BrokerError(f"timed out reading {settings.topic_cases}")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.key == key and record.value is not None:
                        found = record.value
        return Case.model_validate_json(found) if found is not None else None
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    finally:
        consumer.close()


def decide(
    case_id: str,
    decision: Decision,
    reason: str,
    analyst: str | None = None,
    case: Case | None = None,
    suppress_days: int | None = None,
    now: datetime | None = None,
) -> Feedback:
    """The decision as the feedback topic carries it (ValidationError if it makes no sense)."""
    now = now or utc_now()
    suppression = (
        suppression_for(case, now, now + timedelta(days=suppress_days))
        if case is not None and suppress_days is not None
        else None
    )
    return Feedback(
        feedback_id=uuid.uuid4().hex,
        case_id=case_id,
        decision=decision,
        reason=reason,
        analyst=analyst or os.environ.get("TRADEWATCH_ANALYST") or getpass.getuser(),
        decided_at=now,
        suppression=suppression,
    )


def send_feedback(
    settings: Settings,
    case_id: str,
    decision: Decision,
    reason: str,
    analyst: str | None = None,
    suppress_days: int | None = None,
) -> Feedback:
    """Build the decision (reading the case if it suppresses), send it, wait until it arrived."""
    if decision is Decision.SUPPRESS and suppress_days is None:
        suppress_days = 90
    require_topic(settings, settings.topic_feedback)
    case = None
    if suppress_days is not None:
        case = find_case(settings, case_id)
        if case is None:
            raise CaseNotFound(
                f"case {case_id} is not on {settings.topic_cases}: a suppression is built from "
                "the case's rules and scope (decide without --suppress-days, or wait for it)"
            )
    feedback = decide(case_id, decision, reason, analyst, case, suppress_days)
    producer = make_producer(settings)
    try:
        producer.send(
            settings.topic_feedback, key=case_id.encode(), value=feedback.model_dump_json().encode()
        ).get(timeout=30)
    except KafkaError as exc:
        raise BrokerError(f"could not send to {settings.topic_feedback}: {exc}") from exc
    finally:
        producer.close(timeout=10)
    return feedback
