"""Creating tradewatch's topics with kafka-python's admin client."""

import logging

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.errors import BrokerError
from streams.kafka_security import kafka_python_options, unreachable
from streams.settings import Settings

log = logging.getLogger("tradewatch.topics")


def topic_names(settings: Settings) -> list[str]:
    return [settings.topic_declarations, settings.topic_alerts, settings.topic_dead_letter]


def admin_client(settings: Settings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-admin",
            request_timeout_ms=15000,
        )
    except KafkaError as exc:
        raise BrokerError(unreachable(settings, exc)) from exc


def ensure_topics(settings: Settings) -> list[str]:
    """Create the input, alert and dead-letter topics that are missing; return those created."""
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        created: list[str] = []
        for name in missing:
            try:
                admin.create_topics(
                    [NewTopic(name, settings.topic_partitions, settings.topic_replication_factor)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another worker of the group created it first
        for name in created:
            log.info("created topic %s (%d partitions)", name, settings.topic_partitions)
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
        raise BrokerError(unreachable(settings, exc)) from exc
    finally:
        admin.close()
