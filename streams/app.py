"""The faust app: topics, the two agents, the window table and the metrics page.

    customs.declarations ─► screen_declarations ─► customs.alerts
                                 │                ─► customs.declarations.dlq
                                 ▼
                 <app_id>-observations (keyed by aggregation key)
                                 │
                                 ▼
                 update_windows ◄─► window table (changelog <app_id>-window-state-changelog)
                                 │
                                 ▼
                           customs.alerts

The agents only move data: the rules, the windows and the statistics live in alerts/.
"""

import logging
import time
from dataclasses import dataclass
from typing import cast

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.types import TableT
from prometheus_client import CollectorRegistry

from alerts.building import RuleEngine
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData
from alerts.rules import CatalogueOptions, build_catalogue
from alerts.windows.config import WindowConfig
from alerts.windows.engine import WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Frame, Observation
from schemas.alert import Alert
from streams.decoding import Rejection, SourceRef, dead_letter_headers
from streams.kafka_security import faust_credentials
from streams.metrics import Metrics
from streams.screening import Screener, utc_now
from streams.settings import Settings
from streams.window_stage import WindowStage, frames
from streams.window_store import WindowStore

log = logging.getLogger("tradewatch.app")

WINDOW_TABLE = "window-state"
_GAUGE_EVERY_S = 5.0


@dataclass(frozen=True)
class Tradewatch:
    """A configured worker: the faust app and the parts tests and the CLI look at."""

    app: faust.App
    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    screener: Screener
    windows: WindowEngine
    reference: ReferenceData
    window_table: TableT[bytes, bytes]


def catalogue_options(settings: Settings) -> CatalogueOptions:
    return CatalogueOptions(
        restricted_destinations=frozenset(settings.restricted_destinations) or None,
        extra_watchlists=settings.watchlists,
        party_match_threshold=settings.party_match_threshold,
    )


def window_config(settings: Settings) -> WindowConfig:
    return WindowConfig(
        tumbling_days=settings.window_tumbling_days,
        hopping_days=settings.window_hopping_days,
        hopping_step_days=settings.window_hopping_step_days,
        grace_ms=settings.window_grace_seconds * 1000,
        baseline_windows=settings.window_baseline_windows,
        min_history_windows=settings.window_min_history_windows,
        split_window_days=settings.split_window_days,
        split_value_threshold_usd=settings.split_value_threshold_usd,
    )


def observations_topic_name(settings: Settings) -> str:
    return f"{settings.app_id}-observations"


def _raw_topic(
    app: faust.App, name: str, settings: Settings, internal: bool = False
) -> faust.TopicT:
    # Bytes in, bytes out: faust must never decode untrusted input itself (FAUST_NOTES.md).
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
        replicas=settings.topic_replication_factor,
        internal=internal,
    )


def _encode(alert: Alert) -> tuple[bytes, bytes]:
    return alert.alert_id.encode("ascii"), alert.model_dump_json().encode()


class Outbox:
    """Sends straight through faust's producer, without faust's per-message Topic machinery
    (a FutureMessage, sensors and a debug log call per send: 13% of the worker's time).

    Delivery is unchanged: faust flushes this same producer before every offset commit.
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        await self.app.producer.send(
            topic, key, value, partition=partition, timestamp=None, headers=headers
        )


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """RocksDB sizes for one partition of the window table: the memory budget split over the
    partitions, half block cache, half write buffers."""
    per_partition = settings.rocksdb_memory_mb * 1024 * 1024 // settings.topic_partitions
    return {
        "block_cache_size": per_partition // 2,
        "block_cache_compressed_size": 0,
        "write_buffer_size": per_partition // 4,
        "max_write_buffer_number": 2,
        "target_file_size_base": 16 * 1024 * 1024,
    }


def key_count(data: object) -> int:
    """Keys in the table's local store. RocksDB's is an estimate it keeps (counting by
    iteration would read every key on disk every few seconds)."""
    databases = getattr(data, "_dbs", None)  # faust's rocksdb Store: one database per partition
    if databases is None:
        return len(data)  # type: ignore[arg-type]
    return sum(
        int(db.property_int_value("rocksdb.estimate-num-keys") or 0) for db in databases.values()
    )


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> Tradewatch:
    """Build the faust app with its agents from settings. Nothing connects until it starts."""
    registry = registry if registry is not None else CollectorRegistry()
    reference = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
    catalogue = build_catalogue(reference, catalogue_options(settings))
    fx = (
        FxRates.from_file(settings.fx_rates_file)
        if settings.fx_rates_file
        else FxRates.from_reference(reference)
    )
    windows = WindowEngine.build(reference, window_config(settings), fx)
    metrics = Metrics(registry)
    metrics.rules.set(len(catalogue.rules) + len(windows.rules))
    metrics.prepare_alert_series(
        [(rule.rule_id, rule.category) for rule in [*catalogue.rules, *windows.rules]]
    )
    for loaded in reference.files.values():
        metrics.reference_data.labels(file=loaded.label).set(1)
    screener = Screener(
        RuleEngine(catalogue, clock=utc_now),
        metrics,
        settings.max_message_bytes,
        fx=fx,
        max_future_ms=settings.max_future_seconds * 1000,
    )

    app = faust.App(
        settings.app_id,
        env={},  # only TRADEWATCH_* settings configure tradewatch
        broker=settings.broker_url,
        broker_credentials=faust_credentials(settings),
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
        # A worker that dies holds its partitions until the session times out.
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        # Windows expire in event time inside the state (alerts/windows/state.py); faust's own
        # wall-clock window expiry is not used.
        table_cleanup_interval=3600.0,
    )
    setup_prometheus_sensors(app, registry=registry, name_prefix="faust")

    declarations = _raw_topic(app, settings.topic_declarations, settings)
    # Alerts and dead letters go out through the Outbox; streams/topics.py creates their topics.
    observations = _raw_topic(app, observations_topic_name(settings), settings, internal=True)
    table = app.Table(
        WINDOW_TABLE,
        default=None,
        # bytes types make faust use the raw codec for the changelog too (a Schema does not).
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topic_partitions,
        options=rocksdb_options(settings) if settings.store.startswith("rocksdb") else None,
    )

    outbox = Outbox(app)
    stage = WindowStage(windows, metrics)
    # The table's local data: written directly, changelog sent by the agent (window_store.py).
    store = WindowStore(table.data)
    changelog_topic = table.changelog_topic.get_topic_name()
    alerts_topic = settings.topic_alerts
    dead_letter_topic = settings.topic_dead_letter
    observations_topic = observations_topic_name(settings)
    observation_partitions = settings.topic_partitions  # faust declares the topic with these

    async def screen_declarations(stream: faust.StreamT[bytes]) -> None:
        # concurrency=1: with more, faust can commit past an in-flight message (faust #606).
        # take_events acks a batch only after this body has sent everything it derived, and
        # faust flushes the producer before it commits, so a crash repeats work, never loses it.
        batches = cast("faust.Stream[bytes]", stream).take_events(
            settings.batch_max, settings.batch_seconds
        )
        async for events in batches:  # (StreamT does not declare take_events; Stream has it)
            derived: list[Observation] = []
            for event in events:
                message = event.message
                source = SourceRef(message.topic, message.partition, message.offset)
                received_ms = round(message.timestamp * 1000) if message.timestamp else None
                outcome = screener.screen(event.value, source, received_ms)
                if isinstance(outcome, Rejection):
                    await outbox.send(
                        dead_letter_topic,
                        event.key,
                        event.value or b"",
                        dead_letter_headers(outcome, source, utc_now()),
                    )
                    continue
                for alert in outcome.alerts:
                    await outbox.send(alerts_topic, *_encode(alert))
                derived.extend(outcome.observations)
            # The repartitioning: one message per batch and partition of the observations topic.
            for partition, frame in frames(derived, observation_partitions).items():
                await outbox.send(
                    observations_topic, b"%d" % partition, frame.encode(), partition=partition
                )

    gauge_updated = 0.0

    async def update_windows(stream: faust.StreamT[bytes]) -> None:
        # One event per frame. The store writes the table's local data from inside the event's
        # iteration (a rocksdb store picks the partition from it) and the changelog records
        # are sent below, to the frame's partition: every key in it hashes there.
        nonlocal gauge_updated
        async for event in stream.events():
            try:
                frame = Frame.decode(event.value or b"")
            except Exception:  # written by our own screening agent: a bug, not bad input
                log.exception("undecodable observation frame at offset %s", event.message.offset)
                metrics.window_errors.inc()
                continue
            for alert in stage.apply(frame, store):
                await outbox.send(alerts_topic, *_encode(alert))
            # Every key of a frame hashes to the frame's partition: so does its changelog record.
            partition = event.message.partition
            for key, value in store.drain():
                await outbox.send(changelog_topic, key, value, partition=partition)
            now = time.perf_counter()
            if now - gauge_updated >= _GAUGE_EVERY_S:
                metrics.window_keys.set(key_count(table.data))
                gauge_updated = now

    app.agent(declarations, name="screen_declarations", concurrency=1)(screen_declarations)
    app.agent(observations, name="update_windows", concurrency=1)(update_windows)
    return Tradewatch(app, settings, registry, metrics, screener, windows, reference, table)
