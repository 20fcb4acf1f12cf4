"""The faust app: topics, the two agents, the window table and the metrics page.

    customs.declarations ─► screen_declarations ─► customs.alerts
                                 │                ─► customs.declarations.dlq
                                 ▼
                 <app_id>-observations (frames, by partition of aggregation key)
                                 │
                                 ▼
                 update_windows ◄─► window table (changelog <app_id>-window-state-changelog)
                                 │
                                 ▼
                   customs.alerts, customs.cases

    customs.cases + customs.feedback (co-partitioned by case id) ─► review_cases ◄─► review table
    customs.feedback, all of it, on every worker ─► the suppressions screening applies

Findings open cases (declaration cases from the screening stage, series cases from the window
stage); analysts' decisions come back on the feedback topic: suppressions silence findings in
their scope, and every decision is counted against its case's rules.

The agents only move data: the rules, the windows and the statistics live in alerts/ (the same
`Core` the backtest runs). Records arrive a fetched batch at a time (streams/batching.py); an
agent acks a batch only once everything it produced was delivered, and a failure to deliver
stops the worker (streams/failstop.py) so that nothing past it is ever committed.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.types import TP
from prometheus_client import CollectorRegistry

from alerts.pipeline import Core, Dataflow
from alerts.retro import RETRO_RULE_ID, ListChange, effective_at_swap
from schemas.alert import AlertCategory
from streams import heap
from streams.batching import BatchConsumer, BatchTable, BatchTopic, BatchTransport
from streams.failstop import fail_stop
from streams.feedback_reader import FeedbackReader
from streams.intake import Intake, Sent, Topics
from streams.kafka_security import faust_credentials
from streams.look_back import LookBack
from streams.metrics import Metrics
from streams.offline import core_options
from streams.outbox import DeliveryError, Outbox
from streams.partitioning import partition_of
from streams.progress import Progress
from streams.reference_reader import ReferenceReader
from streams.review_agent import ReviewAgent
from streams.settings import Settings
from streams.window_agent import WindowAgent
from streams.window_store import TableStore

log = logging.getLogger("tradewatch.app")

WINDOW_TABLE = "window-state"
REVIEW_TABLE = "case-reviews"
_GAUGE_EVERY_S = 5.0
_BATCHES_IN_FLIGHT = 4
_SWEEP_EVERY_S = 3600.0


@dataclass(frozen=True)
class Tradewatch:
    """A configured worker: the faust app and the parts tests and the CLI look at."""

    app: faust.App
    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    core: Core
    window_table: Any
    progress: Progress


def observations_topic_name(settings: Settings) -> str:
    return settings.observations_topic


def max_request_bytes(settings: Settings) -> int:
    return max(1_048_576, settings.max_message_bytes + 65_536)


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


def batch_topic(
    app: faust.App, name: str | list[str], settings: Settings, internal: bool
) -> BatchTopic:
    # Bytes in, bytes out: faust never decodes untrusted input itself (README, wire contract).
    return BatchTopic(
        app,
        topics=[name] if isinstance(name, str) else name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
        replicas=settings.topic_replication_factor,
        internal=internal,
    )


def faust_app(
    settings: Settings, batch_topics: set[str], merge_topics: set[str] | None = None
) -> faust.App:
    """The faust App as the worker configures it, delivering these topics a fetched batch at
    a time, and those of `merge_topics` merged across partitions in timestamp order (the
    benchmark's do-nothing agent runs on exactly this)."""
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
        producer_max_request_size=max_request_bytes(settings),
        producer_max_batch_size=256 * 1024,
        consumer_max_fetch_size=max(4_194_304, settings.max_message_bytes * 2),
        broker_max_poll_records=settings.batch_max,
        # Events are whole fetched batches: a few buffered per partition are plenty.
        stream_buffer_maxsize=8,
        stream_wait_empty=False,
        # A worker that dies holds its partitions until the session times out.
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        # Windows expire in event time inside the state (alerts/windows/state.py); faust's own
        # wall-clock window expiry is not used.
        table_cleanup_interval=3600.0,
    )
    app.transport = BatchTransport(app, batch_topics, merge_topics or set())
    return app


def create_app(
    settings: Settings, registry: CollectorRegistry | None = None, core: Core | None = None
) -> Tradewatch:
    """Build the faust app with its agents from settings. Nothing connects until it starts."""
    registry = registry if registry is not None else CollectorRegistry()
    options = core_options(settings)
    core = core or Core.build(options)
    metrics = Metrics(registry)
    metrics.rules.set(core.rule_count)
    rules = [*core.catalogue.rules, *core.windows.rules]
    metrics.prepare_alert_series(
        [(rule.rule_id, rule.category) for rule in rules]
        + [(RETRO_RULE_ID, AlertCategory.RESTRICTED_PARTY)]
    )
    metrics.prepare_feedback_series([rule.rule_id for rule in rules] + [RETRO_RULE_ID])
    metrics.reference_in_use(core.reference.files.values())
    metrics.watch_text_cache(core.catalogue.lexicon)

    request_bytes = max_request_bytes(settings)
    observations_topic = settings.observations_topic
    changelog_topic = settings.changelog_topic
    review_topics = [settings.topic_cases, settings.topic_feedback]
    app = faust_app(
        settings,
        {
            settings.topic_declarations,
            observations_topic,
            changelog_topic,
            *review_topics,
            settings.review_changelog_topic,
        },
        merge_topics={settings.topic_declarations},
    )
    setup_prometheus_sensors(app, registry=registry, name_prefix="faust")
    progress = Progress(metrics, settings.stall_seconds)
    # Watched: the agents' inputs (a table's changelog is only read while it is restored).
    progress.attach(app, frozenset({settings.topic_declarations, observations_topic}))

    declarations = batch_topic(app, settings.topic_declarations, settings, internal=False)
    observations = batch_topic(app, observations_topic, settings, internal=True)
    table: BatchTable = app.tables.add(  # type: ignore[assignment]
        BatchTable(
            app,
            name=WINDOW_TABLE,
            default=None,
            beacon=app.tables.beacon,
            # bytes types make faust use the raw codec for the changelog too (a Schema does not).
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            options=rocksdb_options(settings) if settings.store.startswith("rocksdb") else None,
            # faust applies a restore every this many changelog events; ours are whole fetched
            # batches, so its default (1,000) held most of a large changelog in memory.
            recovery_buffer_size=4,
        )
    )

    reviews_table: BatchTable = app.tables.add(  # type: ignore[assignment]
        BatchTable(
            app,
            name=REVIEW_TABLE,
            default=None,
            beacon=app.tables.beacon,
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            recovery_buffer_size=4,
        )
    )
    reviewed = batch_topic(app, review_topics, settings, internal=False)

    def producer() -> Any:
        return app.producer._ensure_producer()  # type: ignore[attr-defined]

    def consumer() -> BatchConsumer:
        return app.consumer  # type: ignore[return-value]

    intake = Intake(
        Dataflow(
            core, settings.topic_partitions, partition_of, cases=settings.topic_cases is not None
        ),
        metrics,
        Outbox(producer),
        Topics(
            settings.topic_declarations,
            settings.topic_alerts,
            settings.topic_dead_letter,
            observations_topic,
            settings.topic_partitions,
            settings.topic_cases,
        ),
        request_bytes,
    )
    in_use = {"core": core}  # the core of the newest reference data (streams/reference_reader.py)
    store_holder: dict[str, TableStore] = {}

    def store() -> TableStore:
        # The table's local store exists once the app runs.
        found = store_holder.get("store")
        if found is None:
            found = store_holder["store"] = TableStore(in_use["core"].windows, table.data)
        return found

    def on_persisted(partition: int, offset: int) -> None:
        setter = getattr(table.data, "set_persisted_offset", None)
        if setter is not None:
            setter(TP(changelog_topic, partition), offset)

    window_agent: dict[str, WindowAgent] = {}
    waiting_changes: list[ListChange] = []
    restored = {"done": False}

    async def table_restored() -> None:
        # faust has restored the window table's assigned partitions: a look back left
        # unfinished on them can resume (streams/look_back.py).
        restored["done"] = True
        if window_agent:
            windows().restored = True

    table.on_recover(table_restored)

    def windows() -> WindowAgent:
        found = window_agent.get("agent")
        if found is None:
            current = in_use["core"]
            found = window_agent["agent"] = WindowAgent(
                current.window_stage(on_error=_log_window_error),
                store(),
                metrics,
                Outbox(producer),
                settings.topic_alerts,
                changelog_topic,
                settings.checkpoint_seconds,
                on_persisted,
                cases_topic=settings.topic_cases,
            )
            found.restored = restored["done"]
            found.look_back = LookBack(
                found.store, lambda: in_use["core"], metrics, max_keys=settings.retro_step
            )
            found.held_partitions = lambda: {
                tp.partition for tp in consumer().assignment() if tp.topic == observations_topic
            }
            if waiting_changes:  # found at start, before the window stage took its first frame
                found.use(in_use["core"], effective_at_swap(waiting_changes, datetime.now(UTC)))
                waiting_changes.clear()
        return found

    feedback = FeedbackReader(settings, core.suppressions, metrics, on_failure=fail_stop)

    def use_core(new: Core, changes: list[ListChange]) -> None:
        # On the event loop, between two batches: the next batch is screened with it, and the
        # window stage takes it at its next checkpoint (and looks back for new list entries).
        in_use["core"] = new
        intake.flow.core = new
        if window_agent:
            windows().use(new, effective_at_swap(changes, datetime.now(UTC)))
        else:
            waiting_changes.extend(changes)
        metrics.reference_in_use(new.reference.files.values())
        metrics.rules.set(new.rule_count)
        heap.resettle()  # frees the core replaced (0.3 s at 500,000 names)

    reference = ReferenceReader(settings, options, core, metrics, use_core, on_failure=fail_stop)

    def control() -> dict[str, Any]:
        current = in_use["core"]
        return {
            "caught_up": reference.caught_up.is_set() and feedback.caught_up.is_set(),
            "reference": {
                name: {
                    "version": f.header.version,
                    "published_by": reference.publishers.get(f.label),
                }
                for name, f in sorted(current.reference.files.items())
            },
            "reference_held": reference.held(),
            "suppressions": len(current.suppressions),
            "suppressions_failed_closed": feedback.failed_closed,
        }

    progress.control = control

    async def ready() -> None:
        """The newest reference data and every suppression decided before the start."""
        await reference.ready()
        await feedback.ready()

    review_agent: dict[str, ReviewAgent] = {}

    def reviews() -> ReviewAgent:
        found = review_agent.get("agent")
        if found is None:
            found = review_agent["agent"] = ReviewAgent(
                reviews_table.data,
                metrics,
                Outbox(producer),
                settings.review_changelog_topic,
                settings.topic_cases,
                settings.decisions_topic,
            )
        return found

    def failed(stage: str, exc: DeliveryError) -> None:
        consumer().poison(exc)
        fail_stop(f"{stage}: {exc}; nothing past it is committed; exiting so it is retried")

    async def settle(previous: "asyncio.Task[None] | None", sent: Sent, event: Any) -> None:
        # Batches are acked in the order they came, each once its outputs arrived.
        if previous is not None:
            await previous
        try:
            await intake.settle(sent)
        except DeliveryError as exc:
            failed("screening", exc)
        event.ack()
        for tp, _, last in event.message.parts:
            progress.advanced(tp, last)

    async def screen_declarations(stream: faust.StreamT[Any]) -> None:
        # concurrency=1: with more, faust can commit past an in-flight message (faust #606).
        # The next batch is screened while the last one's sends are on their way.
        in_flight: deque[asyncio.Task[None]] = deque()
        await ready()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            try:
                sent = await intake.process(event.value)
            except DeliveryError as exc:
                failed("screening", exc)
            task = asyncio.ensure_future(settle(in_flight[-1] if in_flight else None, sent, event))
            in_flight.append(task)
            while in_flight and (in_flight[0].done() or len(in_flight) > _BATCHES_IN_FLIGHT):
                await in_flight.popleft()

    async def sweep_reviews() -> None:
        held = {tp.partition for tp in consumer().assignment() if tp.topic == settings.topic_cases}
        cutoff = time.time() - settings.review_retention_days * 86_400
        try:
            await reviews().sweep(held, int(cutoff * 1000))
        except DeliveryError as exc:
            failed("case reviews", exc)

    async def review_cases(stream: faust.StreamT[Any]) -> None:
        agent = reviews()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            try:
                await agent.apply(event)
            except DeliveryError as exc:
                failed("case reviews", exc)
            event.ack()

    gauge_updated = 0.0

    async def update_windows(stream: faust.StreamT[Any]) -> None:
        nonlocal gauge_updated
        await ready()
        agent = windows()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            async with agent.lock:
                try:
                    await agent.apply(event)
                    await agent.look_back_step()
                    if agent.due():
                        await agent.checkpoint()
                except DeliveryError as exc:
                    failed("window stage", exc)
            progress.advanced(event.message.tp, event.value[-1].offset)
            now = time.perf_counter()
            if now - gauge_updated >= _GAUGE_EVERY_S:
                metrics.window_keys.set(agent.store.key_count())
                metrics.broad_suppressions.set(
                    in_use["core"].suppressions.broad(settings.broad_suppression_findings)
                )
                gauge_updated = now

    async def checkpoint_when_idle() -> None:
        # Frames held since the last checkpoint must not wait for the next frame to arrive.
        agent = windows()
        async with agent.lock:
            try:
                await agent.look_back_step()
                if agent.due():
                    await agent.checkpoint()
            except DeliveryError as exc:
                failed("window stage", exc)

    async def on_revoked(sender: Any, revoked: set[TP], **_: Any) -> None:
        ours = {tp.partition for tp in revoked if tp.topic == observations_topic}
        if ours and window_agent:
            agent = windows()
            async with agent.lock:  # not in the middle of a frame or a checkpoint
                agent.forget(ours)

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
    app.agent(declarations, name="screen_declarations", concurrency=1)(screen_declarations)
    app.agent(observations, name="update_windows", concurrency=1)(update_windows)
    app.agent(reviewed, name="review_cases", concurrency=1)(review_cases)
    app.timer(_SWEEP_EVERY_S, name="sweep_reviews")(sweep_reviews)
    app.timer(max(0.1, settings.checkpoint_seconds / 2), name="checkpoint_when_idle")(
        checkpoint_when_idle
    )
    return Tradewatch(app, settings, registry, metrics, core, table, progress)


def _log_window_error(exc: Exception) -> None:
    log.error("window stage failed on an observation", exc_info=exc)
