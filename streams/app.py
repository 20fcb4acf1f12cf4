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
from datetime import UTC, datetime

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.types import TableT
from prometheus_client import CollectorRegistry

from alerts.building import RuleEngine, make_alert
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData
from alerts.rules import CatalogueOptions, build_catalogue
from alerts.windows.config import WindowConfig
from alerts.windows.engine import WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Observation
from schemas.alert import Alert
from streams.decoding import Rejection, SourceRef, dead_letter_headers
from streams.metrics import Metrics
from streams.screening import Screener, utc_now
from streams.settings import Settings
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
    alerts = _raw_topic(app, settings.topic_alerts, settings)
    dead_letters = _raw_topic(app, settings.topic_dead_letter, settings)
    observations = _raw_topic(app, observations_topic_name(settings), settings, internal=True)
    table = app.Table(
        WINDOW_TABLE,
        default=None,
        # bytes types make faust use the raw codec for the changelog too (a Schema does not).
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topic_partitions,
    )

    async def screen_declarations(stream: faust.StreamT[bytes]) -> None:
        # concurrency=1: with more, faust can commit past an in-flight message (faust #606).
        async for event in stream.events():
            message = event.message
            source = SourceRef(message.topic, message.partition, message.offset)
            received_ms = round(message.timestamp * 1000) if message.timestamp else None
            outcome = screener.screen(event.value, source, received_ms)
            if isinstance(outcome, Rejection):
                await dead_letters.send(
                    key=event.key,
                    value=event.value or b"",
                    headers=dead_letter_headers(outcome, source, utc_now()),
                )
                continue
            for alert in outcome.alerts:
                key, value = _encode(alert)
                await alerts.send(key=key, value=value)
            for observation in outcome.observations:
                await observations.send(
                    key=observation.table_key.encode("utf-8"), value=observation.encode()
                )

    gauge_updated = 0.0
    store = WindowStore(table)

    async def update_windows(stream: faust.StreamT[bytes]) -> None:
        nonlocal gauge_updated
        async for event in stream.events():
            started = time.perf_counter()
            key = event.key or b""
            try:
                observation = Observation.decode(event.value)
                key = observation.table_key.encode("utf-8")
                stream_start = store.stream_start(observation.event_time_ms)
                outcome = windows.process(observation, store.get(key), stream_start)
            except Exception:  # one bad observation must not stop the window stage
                log.exception("window stage failed on an observation")
                metrics.window_errors.inc()
                store.forget(key)  # its cached state may be half-updated
                continue
            admission = outcome.admission
            dimension = observation.dimension.value
            if admission.duplicate:
                metrics.observations.labels(dimension=dimension, outcome="replayed").inc()
            else:
                # Assign back: faust only writes the changelog on assignment (FAUST_NOTES.md).
                store.put(key, outcome.state)
                kind = "late" if admission.late else "counted"
                metrics.observations.labels(dimension=dimension, outcome=kind).inc()
                if admission.late:
                    metrics.late_declarations.labels(dimension=dimension).inc()
            event_time = datetime.fromtimestamp(observation.event_time_ms / 1000, tz=UTC)
            for rule, finding in outcome.findings:
                alert = make_alert(rule, finding, event_time, utc_now())
                metrics.alert(alert.rule_id, alert.category, alert.severity)
                key_bytes, value = _encode(alert)
                await alerts.send(key=key_bytes, value=value)
            finished = time.perf_counter()
            metrics.window_seconds.observe(finished - started)
            if finished - gauge_updated >= _GAUGE_EVERY_S:
                metrics.window_keys.set(len(table))
                gauge_updated = finished

    app.agent(declarations, name="screen_declarations", concurrency=1)(screen_declarations)
    app.agent(observations, name="update_windows", concurrency=1)(update_windows)
    return Tradewatch(app, settings, registry, metrics, screener, windows, reference, table)
