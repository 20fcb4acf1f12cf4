"""Creating and checking tradewatch's topics with kafka-python's admin client.

The worker creates every topic it consumes or produces before its agents subscribe, its own
observations topic and changelog included, and checks the partition counts of the topics whose
partitioning it relies on: a consumer that subscribes to a topic before it exists may never be
given its partitions, and a changelog with a different partition count from the observations
topic would restore state into the wrong partitions.
"""

import logging
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

from streams.errors import BrokerError
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.settings import Settings

log = logging.getLogger("tradewatch.topics")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    exact: bool
    """The partition count is part of the design (keyed state), not a default."""
    config: tuple[tuple[str, str], ...] = ()


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic the worker reads or writes, as it would create it."""
    partitions = settings.topic_partitions
    return [
        TopicSpec(settings.topic_declarations, partitions, exact=False),
        TopicSpec(settings.topic_alerts, partitions, exact=False),
        TopicSpec(settings.topic_dead_letter, partitions, exact=False),
        # Cases and decisions are joined by case id: the two must be co-partitioned.
        TopicSpec(
            settings.topic_cases,
            partitions,
            exact=True,
            config=(("cleanup.policy", "compact"),),
        ),
        TopicSpec(
            settings.topic_feedback,
            partitions,
            exact=True,
            config=(("cleanup.policy", "delete"), ("retention.ms", "-1")),
        ),
        # Read whole by every worker: one partition keeps a file's chunks before its manifest.
        TopicSpec(
            settings.topic_reference,
            1,
            exact=False,
            config=(("cleanup.policy", "compact"),),
        ),
        TopicSpec(settings.observations_topic, partitions, exact=True),
        TopicSpec(
            settings.changelog_topic,
            partitions,
            exact=True,
            config=(("cleanup.policy", "compact"),),
        ),
        # Written by the case reviews on the partition of the case; read whole by every worker.
        TopicSpec(
            settings.decisions_topic,
            partitions,
            exact=True,
            config=(("cleanup.policy", "compact"),),
        ),
        TopicSpec(
            settings.review_changelog_topic,
            partitions,
            exact=True,
            config=(("cleanup.policy", "compact"),),
        ),
    ]


def topic_names(settings: Settings) -> list[str]:
    return [spec.name for spec in topic_specs(settings)]


def admin_client(settings: Settings) -> KafkaAdminClient:
    announce(settings)
    try:
        return KafkaAdminClient(
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-admin",
            request_timeout_ms=15000,
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc


def _partition_counts(
    admin: KafkaAdminClient, names: list[str], wait_s: float = 10.0
) -> dict[str, int]:
    """Partitions of each topic; a topic created a moment ago may take a little while to be
    described (its metadata is still spreading), so this asks again for up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    counts: dict[str, int] = {}
    while True:
        described = admin.describe_topics([n for n in names if n not in counts])
        for topic in described:
            name = topic.get("name") or topic.get("topic")
            if not topic.get("error_code") and topic.get("partitions"):
                counts[name] = len(topic["partitions"])
        if len(counts) == len(names) or time.monotonic() >= deadline:
            return counts
        time.sleep(0.2)


def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics, check the partitions of the existing ones; return those
    created. A topic whose partition count the design relies on and differs is a BrokerError."""
    admin = admin_client(settings)
    specs = topic_specs(settings)
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        for spec in specs:
            if spec.name in existing:
                continue
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            spec.partitions,
                            settings.topic_replication_factor,
                            topic_configs=dict(spec.config),
                        )
                    ]
                )
                created.append(spec.name)
                log.debug("created topic %s (%d partitions)", spec.name, spec.partitions)
            except TopicAlreadyExistsError:
                pass  # another worker of the group created it first
        counts = _partition_counts(admin, [s.name for s in specs])
        for spec in specs:
            found = counts.get(spec.name)
            if found is None:
                raise BrokerError(f"topic {spec.name} could not be created or described")
            if spec.exact and found != spec.partitions:
                raise BrokerError(
                    f"topic {spec.name} has {found} partitions, TRADEWATCH_TOPIC_PARTITIONS "
                    f"says {spec.partitions}: set it to {found} (a table's partitions cannot "
                    "change), or use a new TRADEWATCH_APP_ID"
                )
        return created
    except KafkaError as exc:
        raise BrokerError(f"could not create topics: {exc}") from exc
    finally:
        admin.close()


def require_topic(settings: Settings, name: str) -> None:
    """Fail in one line if a topic is missing: the broker does not create topics on demand, and
    a producer would wait a minute for its metadata and end in a timeout."""
    admin = admin_client(settings)
    try:
        if name not in set(admin.list_topics()):
            raise BrokerError(
                f"topic {name} does not exist; create it with `tradewatch topics` "
                "(or start a worker)"
            )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    finally:
        admin.close()


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the worker's producer) gives."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def records_from_start(
    settings: Settings,
    topic: str,
    client_id: str,
    timeout_s: float,
    key: bytes | None = None,
    **options: Any,
) -> Generator[Any, None, None]:
    """Every record of a topic as it stands now, from the beginning (outside any consumer
    group): of all its partitions, or with `key` of the one that key goes to (BrokerError if
    the topic does not exist then); BrokerError if reading takes longer than `timeout_s`."""
    try:
        consumer = KafkaConsumer(
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-{client_id}",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            **options,
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if key is not None:
            if not partitions:
                raise BrokerError(f"topic {topic} does not exist")
            partitions = {partition_for(key, len(partitions))}
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise BrokerError(f"timed out reading {topic}")
            for records in consumer.poll(timeout_ms=500).values():
                yield from records
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    finally:
        consumer.close()
