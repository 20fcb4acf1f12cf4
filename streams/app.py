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
from streams.window_agent import FrameGap, WindowAgent
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
    return Worker(settings, registry, core).tradewatch


class Worker:
    """The worker, part by part. Each part is named for what it does and holds its own state:

    - the control plane: the core in use (`use_core`), swapped in when the reference reader
      accepts a new version, and `ready`, which waits for the reference and decision topics;
    - screening (`screen_declarations`): the dataflow's first half over each fetched batch,
      acked in order once its outputs arrived (`_settle`);
    - windows (`update_windows`, `checkpoint_when_idle`, `on_revoked`): the window agent over
      the observations topic and the window table;
    - reviews (`review_cases`, `sweep_reviews`): decisions joined with their cases.

    A part that cannot deliver stops the worker (`_failed`): nothing past it is committed.
    The window and review agents are built on first use, as the tables' stores exist only once
    the app runs."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry | None = None,
        core: Core | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else CollectorRegistry()
        options = core_options(settings)  # settings alone decide how a core is built
        core = core or Core.build(options)
        self.core = core
        self.metrics = metrics = self._metrics(core)
        review_topics = [settings.topic_cases, settings.topic_feedback]
        self.app = app = faust_app(
            settings,
            {
                settings.topic_declarations,
                settings.observations_topic,
                settings.changelog_topic,
                *review_topics,
                settings.review_changelog_topic,
            },
            merge_topics={settings.topic_declarations},
        )
        setup_prometheus_sensors(app, registry=self.registry, name_prefix="faust")
        self.progress = Progress(metrics, settings.stall_seconds)
        # Watched: the agents' inputs (a table's changelog is only read while it is restored).
        self.progress.attach(
            app, frozenset({settings.topic_declarations, settings.observations_topic})
        )
        self.window_table = self._table(
            WINDOW_TABLE,
            options=rocksdb_options(settings) if settings.store.startswith("rocksdb") else None,
        )
        self.reviews_table = self._table(REVIEW_TABLE)
        self.intake = Intake(
            Dataflow(
                core, settings.topic_partitions, partition_of, cases=bool(settings.topic_cases)
            ),
            metrics,
            Outbox(self._producer),
            Topics(
                settings.topic_declarations,
                settings.topic_alerts,
                settings.topic_dead_letter,
                settings.observations_topic,
                settings.topic_partitions,
                settings.topic_cases,
            ),
            max_request_bytes(settings),
        )
        self.in_use = core
        """The core of the newest reference data (streams/reference_reader.py)."""
        self._store: TableStore | None = None
        self._windows: WindowAgent | None = None
        self._reviews: ReviewAgent | None = None
        self._waiting_changes: list[ListChange] = []
        self._restored = False
        self._gauge_updated = 0.0
        self.window_table.on_recover(self._table_restored)
        self.feedback = FeedbackReader(settings, core.suppressions, metrics, on_failure=fail_stop)
        self.reference = ReferenceReader(
            settings, options, core, metrics, self.use_core, on_failure=fail_stop
        )
        self.progress.control = self.control
        self._register()

    @property
    def tradewatch(self) -> Tradewatch:
        return Tradewatch(
            self.app,
            self.settings,
            self.registry,
            self.metrics,
            self.core,
            self.window_table,
            self.progress,
        )

    # Building

    def _metrics(self, core: Core) -> Metrics:
        metrics = Metrics(self.registry)
        rules = [*core.catalogue.rules, *core.windows.rules]
        metrics.prepare_alert_series(
            [(rule.rule_id, rule.category) for rule in rules]
            + [(RETRO_RULE_ID, AlertCategory.RESTRICTED_PARTY)]
        )
        metrics.prepare_feedback_series([rule.rule_id for rule in rules] + [RETRO_RULE_ID])
        metrics.on_reference_in_use(core.reference.files.values(), core.rule_count)
        metrics.watch_text_cache(core.catalogue.lexicon)
        return metrics

    def _table(self, name: str, options: dict[str, int] | None = None) -> Any:
        return self.app.tables.add(
            BatchTable(
                self.app,
                name=name,
                default=None,
                beacon=self.app.tables.beacon,
                # bytes types make faust use the raw codec for the changelog too (a Schema
                # does not).
                key_type=bytes,
                value_type=bytes,
                partitions=self.settings.topic_partitions,
                options=options,
                # faust applies a restore every this many changelog events; ours are whole
                # fetched batches, so its default (1,000) held most of a large changelog in
                # memory.
                recovery_buffer_size=4,
            )
        )

    def _register(self) -> None:
        app, settings = self.app, self.settings
        declarations = batch_topic(app, settings.topic_declarations, settings, internal=False)
        observations = batch_topic(app, settings.observations_topic, settings, internal=True)
        reviewed = batch_topic(
            app, [settings.topic_cases, settings.topic_feedback], settings, internal=False
        )
        app.on_partitions_revoked.connect(self.on_revoked)  # type: ignore[arg-type]
        app.agent(declarations, name="screen_declarations", concurrency=1)(self.screen_declarations)
        app.agent(observations, name="update_windows", concurrency=1)(self.update_windows)
        app.agent(reviewed, name="review_cases", concurrency=1)(self.review_cases)
        app.timer(_SWEEP_EVERY_S, name="sweep_reviews")(self.sweep_reviews)
        app.timer(max(0.1, settings.checkpoint_seconds / 2), name="checkpoint_when_idle")(
            self.checkpoint_when_idle
        )

    def _producer(self) -> Any:
        return self.app.producer._ensure_producer()  # type: ignore[attr-defined]

    def _consumer(self) -> BatchConsumer:
        return self.app.consumer  # type: ignore[return-value]

    async def _earliest_frame(self, partition: int) -> int:
        tp = TP(self.settings.observations_topic, partition)
        return (await self._consumer().earliest_offsets(tp))[tp]

    def _failed(self, stage: str, exc: Exception) -> None:
        self._consumer().poison(exc)
        fail_stop(f"{stage}: {exc}; nothing past it is committed; exiting so it is retried")

    # The control plane

    def use_core(self, new: Core, changes: list[ListChange]) -> None:
        """On the event loop, between two batches: the next batch is screened with it, and the
        window stage takes it at its next checkpoint (and looks back for new list entries)."""
        self.in_use = new
        self.intake.flow.core = new
        if self._windows is not None:
            self._windows.use(new, effective_at_swap(changes, datetime.now(UTC)))
        else:
            self._waiting_changes.extend(changes)
        self.metrics.on_reference_in_use(new.reference.files.values(), new.rule_count)
        heap.resettle()  # frees the core replaced (0.3 s at 500,000 names)

    def control(self) -> dict[str, Any]:
        current, reference = self.in_use, self.reference
        return {
            "caught_up": reference.caught_up.is_set() and self.feedback.caught_up.is_set(),
            "reference": {
                name: {
                    "version": f.header.version,
                    "published_by": reference.publishers.get(f.label),
                }
                for name, f in sorted(current.reference.files.items())
            },
            "reference_held": reference.held(),
            "suppressions": len(current.suppressions),
            "suppressions_failed_closed": self.feedback.failed_closed,
        }

    async def ready(self) -> None:
        """The newest reference data and every suppression decided before the start."""
        await self.reference.ready()
        await self.feedback.ready()

    # Screening

    async def screen_declarations(self, stream: faust.StreamT[Any]) -> None:
        # concurrency=1: with more, faust can commit past an in-flight message (faust #606).
        # The next batch is screened while the last one's sends are on their way.
        in_flight: deque[asyncio.Task[None]] = deque()
        await self.ready()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            try:
                sent = await self.intake.process(event.value)
            except DeliveryError as exc:
                self._failed("screening", exc)
            previous = in_flight[-1] if in_flight else None
            in_flight.append(asyncio.ensure_future(self._settle(previous, sent, event)))
            while in_flight and (in_flight[0].done() or len(in_flight) > _BATCHES_IN_FLIGHT):
                await in_flight.popleft()

    async def _settle(self, previous: "asyncio.Task[None] | None", sent: Sent, event: Any) -> None:
        # Batches are acked in the order they came, each once its outputs arrived.
        if previous is not None:
            await previous
        try:
            await self.intake.settle(sent)
        except DeliveryError as exc:
            self._failed("screening", exc)
        event.ack()
        for tp, _, last in event.message.parts:
            self.progress.advanced(tp, last)

    # Windows

    def store(self) -> TableStore:
        # The table's local store exists once the app runs.
        if self._store is None:
            self._store = TableStore(self.in_use.windows, self.window_table.data)
        return self._store

    def _on_persisted(self, partition: int, offset: int) -> None:
        setter = getattr(self.window_table.data, "set_persisted_offset", None)
        if setter is not None:
            setter(TP(self.settings.changelog_topic, partition), offset)

    async def _table_restored(self) -> None:
        # faust has restored the window table's assigned partitions: a look back left
        # unfinished on them can resume (streams/look_back.py).
        self._restored = True
        if self._windows is not None:
            self._windows.restored = True

    def windows(self) -> WindowAgent:
        if self._windows is not None:
            return self._windows
        settings = self.settings
        agent = self._windows = WindowAgent(
            self.in_use.window_stage(on_error=_log_window_error),
            self.store(),
            self.metrics,
            Outbox(self._producer),
            settings.topic_alerts,
            self.settings.changelog_topic,
            settings.checkpoint_seconds,
            self._on_persisted,
            cases_topic=settings.topic_cases,
        )
        agent.restored = self._restored
        agent.earliest = self._earliest_frame
        agent.look_back = LookBack(
            agent.store, lambda: self.in_use, self.metrics, max_keys=settings.retro_step
        )
        agent.held_partitions = lambda: {
            tp.partition
            for tp in self._consumer().assignment()
            if tp.topic == self.settings.observations_topic
        }
        if self._waiting_changes:  # found at start, before the window stage took a frame
            agent.use(self.in_use, effective_at_swap(self._waiting_changes, datetime.now(UTC)))
            self._waiting_changes.clear()
        return agent

    async def update_windows(self, stream: faust.StreamT[Any]) -> None:
        await self.ready()
        agent = self.windows()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            async with agent.lock:
                try:
                    await agent.apply(event)
                    await agent.look_back_step()
                    if agent.due():
                        await agent.checkpoint()
                except (DeliveryError, FrameGap) as exc:
                    self._failed("window stage", exc)
            self.progress.advanced(event.message.tp, event.value[-1].offset)
            self._gauges(agent)

    def _gauges(self, agent: WindowAgent) -> None:
        now = time.perf_counter()
        if now - self._gauge_updated >= _GAUGE_EVERY_S:
            self.metrics.on_window_keys(
                agent.store.key_count(),
                self.in_use.suppressions.broad(self.settings.broad_suppression_findings),
            )
            self._gauge_updated = now

    async def checkpoint_when_idle(self) -> None:
        # Frames held since the last checkpoint must not wait for the next frame to arrive.
        agent = self.windows()
        async with agent.lock:
            try:
                await agent.look_back_step()
                if agent.due():
                    await agent.checkpoint()
            except DeliveryError as exc:
                self._failed("window stage", exc)

    async def on_revoked(self, sender: Any, revoked: set[TP], **_: Any) -> None:
        ours = {tp.partition for tp in revoked if tp.topic == self.settings.observations_topic}
        if ours and self._windows is not None:
            agent = self._windows
            async with agent.lock:  # not in the middle of a frame or a checkpoint
                agent.forget(ours)

    # Reviews

    def reviews(self) -> ReviewAgent:
        if self._reviews is None:
            settings = self.settings
            self._reviews = ReviewAgent(
                self.reviews_table.data,
                self.metrics,
                Outbox(self._producer),
                settings.review_changelog_topic,
                settings.topic_cases,
                settings.decisions_topic,
            )
        return self._reviews

    async def review_cases(self, stream: faust.StreamT[Any]) -> None:
        agent = self.reviews()
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            try:
                await agent.apply(event)
            except DeliveryError as exc:
                self._failed("case reviews", exc)
            event.ack()

    async def sweep_reviews(self) -> None:
        settings = self.settings
        held = {
            tp.partition for tp in self._consumer().assignment() if tp.topic == settings.topic_cases
        }
        cutoff = time.time() - settings.review_retention_days * 86_400
        try:
            await self.reviews().sweep(held, int(cutoff * 1000))
        except DeliveryError as exc:
            self._failed("case reviews", exc)


def _log_window_error(exc: Exception) -> None:
    log.error("window stage failed on an observation", exc_info=exc)
