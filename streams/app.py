"""The faust app: topics, the screening agent and the metrics page. It only moves data."""

import logging
from dataclasses import dataclass

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CollectorRegistry

from alerts.building import RuleEngine
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData
from alerts.rules import CatalogueOptions, build_catalogue
from streams.decoding import Rejection, SourceRef, dead_letter_headers
from streams.metrics import Metrics
from streams.screening import Screener, utc_now
from streams.settings import Settings

log = logging.getLogger("tradewatch.app")


@dataclass(frozen=True)
class Tradewatch:
    """A configured worker: the faust app and the parts tests and the CLI look at."""

    app: faust.App
    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    screener: Screener
    reference: ReferenceData


def _raw_topic(app: faust.App, name: str, settings: Settings) -> faust.TopicT:
    # Bytes in, bytes out: faust must never decode untrusted input itself (FAUST_NOTES.md).
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
        replicas=settings.topic_replication_factor,
    )


def catalogue_options(settings: Settings) -> CatalogueOptions:
    return CatalogueOptions(
        restricted_destinations=frozenset(settings.restricted_destinations) or None,
        extra_watchlists=settings.watchlists,
        party_match_threshold=settings.party_match_threshold,
    )


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> Tradewatch:
    """Build the faust app with its agent from settings. Nothing connects until it starts."""
    registry = registry if registry is not None else CollectorRegistry()
    reference = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
    catalogue = build_catalogue(reference, catalogue_options(settings))
    metrics = Metrics(registry)
    metrics.rules.set(len(catalogue.rules))
    for loaded in reference.files.values():
        metrics.reference_data.labels(file=loaded.label).set(1)
    screener = Screener(RuleEngine(catalogue, clock=utc_now), metrics, settings.max_message_bytes)

    app = faust.App(
        settings.app_id,
        env={},  # only TRADEWATCH_* settings configure tradewatch
        broker=settings.broker_url,
        store=settings.store,
        datadir=str(settings.data_dir),
        autodiscover=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=True,
        web_enabled=True,
        web_bind=settings.metrics_host,
        web_host=settings.metrics_host,
        web_port=settings.metrics_port,
        producer_max_request_size=max(1_048_576, settings.max_message_bytes + 65_536),
        consumer_max_fetch_size=max(4_194_304, settings.max_message_bytes * 2),
        stream_wait_empty=False,
    )
    setup_prometheus_sensors(app, registry=registry, name_prefix="faust")

    declarations = _raw_topic(app, settings.topic_declarations, settings)
    alerts = _raw_topic(app, settings.topic_alerts, settings)
    dead_letters = _raw_topic(app, settings.topic_dead_letter, settings)

    async def screen_declarations(stream: faust.StreamT[bytes]) -> None:
        # concurrency=1: with more, faust can commit past an in-flight message (faust #606).
        async for event in stream.events():
            outcome = screener.screen(event.value)
            if isinstance(outcome, Rejection):
                message = event.message
                source = SourceRef(message.topic, message.partition, message.offset)
                await dead_letters.send(
                    key=event.key,
                    value=event.value or b"",
                    headers=dead_letter_headers(outcome, source, utc_now()),
                )
                continue
            for alert in outcome:
                await alerts.send(
                    key=alert.alert_id.encode("ascii"), value=alert.model_dump_json().encode()
                )

    app.agent(declarations, name="screen_declarations", concurrency=1)(screen_declarations)
    return Tradewatch(app, settings, registry, metrics, screener, reference)
