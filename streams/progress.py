"""Knowing when the worker is stuck: progress per partition, a watchdog, health endpoints.

A worker that is alive but does not advance is worse than one that is down: nothing pages and
nothing is screened. Every batch an agent finishes records its partition's progress. Every few
seconds the watchdog looks at each assigned partition: one with lag and no progress for
`stall_seconds`, or whose finished work has not been committed for that long (rebalances and
table recovery excluded), makes the worker log one line naming it and exit non-zero, so that
compose, systemd or Kubernetes restarts it. So does a rebalance that outlasts the group's
rebalance timeout by `stall_seconds`. Prometheus sees it first
(`TradewatchPartitionStalled`, on the metrics below).

    GET /healthz   200 while the process serves requests
    GET /readyz    200 once assigned and recovered, caught up with the control topics and no
                   partition stalled, else 503; the body says which, with the reference
                   versions and the suppressions in force (`tradewatch status` prints it)
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from faust.types import TP

from streams.failstop import fail_stop
from streams.sensors import Sensor

log = logging.getLogger("tradewatch.progress")

WATCH_EVERY_S = 5.0


class Progress:
    """Progress per partition, and the watchdog that acts on it.

    >>> progress = Progress(sensor, stall_seconds=60)
    >>> progress.attach(app)                       # timer, health pages, rebalance hooks
    >>> progress.advanced(TP("customs.declarations", 0), offset=41)
    """

    def __init__(
        self,
        sensor: Sensor,
        stall_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_stall: Callable[[str], None] = fail_stop,
    ) -> None:
        self.sensor = sensor
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.on_stall = on_stall
        self.control: Callable[[], dict[str, Any]] = dict
        """The control plane's state (the app sets it): caught up with the control topics,
        the reference versions in use and held, the suppressions in force."""
        self.topics: frozenset[str] = frozenset()
        self._last: dict[TP, float] = {}
        self._position: dict[TP, int] = {}
        self._committed: dict[TP, tuple[int | None, float]] = {}
        self._lag_since: dict[TP, float] = {}
        self._settled_at: float | None = None
        self._rebalancing_since: float | None = None
        self.stalled: list[tuple[TP, int, float]] = []

    def advanced(self, tp: TP, offset: int) -> None:
        self._last[tp] = self.clock()
        self._position[tp] = offset + 1
        self.sensor.on_progress(tp.topic, tp.partition, time.time(), offset + 1)

    def forget(self, tps: set[TP]) -> None:
        for tp in tps:
            self._last.pop(tp, None)
            self._position.pop(tp, None)
            self._committed.pop(tp, None)
            self._lag_since.pop(tp, None)
            self.sensor.on_partition_gone(tp.topic, tp.partition)

    async def check(self, app: Any) -> list[tuple[TP, int, float]]:
        """The partitions of watched topics with lag and no progress for too long, as
        (partition, lag, seconds since progress); updates the lag metrics on the way."""
        now = self.clock()
        if app.rebalancing or getattr(app, "in_recovery", False) or not app.consumer:
            self._settled_at = None
            self.stalled = []
            return []
        if self._settled_at is None:
            self._settled_at = now
        consumer = app.consumer
        stalled = []
        for tp in consumer.assignment():
            if tp.topic not in self.topics:
                continue
            end = consumer.highwater(tp)
            if end is None:
                continue
            position = self._position.get(tp)
            if position is None:
                # Nothing done since it was assigned: work stands at the committed offset (not
                # where fetching stands: a record fetched and then lost inside the consumer
                # would leave no lag to see), or where fetching stands if nothing was ever
                # committed.
                position = consumer._committed_offset.get(tp)
                if position is None:
                    position = await consumer.position(tp)
                if position is None:
                    continue
            lag = max(0, end - position)
            self.sensor.on_partition_lag(tp.topic, tp.partition, lag)
            # Stalled is lag that stays: a record that arrives after a quiet hour has waited
            # since it arrived, not since the partition last moved.
            if lag > 0:
                self._lag_since.setdefault(tp, now)
            else:
                self._lag_since.pop(tp, None)
            since = now - max(
                self._last.get(tp, self._settled_at),
                self._lag_since.get(tp, now),
                self._settled_at,
            )
            if lag > 0 and since >= self.stall_seconds:
                stalled.append((tp, lag, since))
                continue
            # Done but never committed is stuck too: a restart would redo all of it.
            # Measured from when the work was done, not from the last commit: a partition
            # quiet for an hour whose next record is done but not yet committed is not stuck.
            committed = consumer._committed_offset.get(tp)
            done = self._position.get(tp)
            uncommitted = done - (committed or 0) if done is not None else 0
            before, waiting_since = self._committed.get(tp, (None, now))
            if committed != before or uncommitted <= 0:
                waiting_since = now
            self._committed[tp] = (committed, waiting_since)
            waited = now - max(waiting_since, self._settled_at)
            if uncommitted > 0 and waited >= self.stall_seconds:
                stalled.append((tp, uncommitted, waited))
        self.stalled = stalled
        return stalled

    def rebalance_overdue(self, app: Any) -> float | None:
        """Seconds a rebalance has lasted, once longer than the group allows its members to
        rejoin plus `stall_seconds`; else None. Table recovery, which shows its own progress,
        is not counted. A worker whose rebalance never ends is stuck like any other."""
        now = self.clock()
        if not app.rebalancing or getattr(app, "in_recovery", False):
            self._rebalancing_since = None
            return None
        if self._rebalancing_since is None:
            self._rebalancing_since = now
        waited = now - self._rebalancing_since
        limit = self.stall_seconds + float(app.conf.broker_rebalance_timeout)
        return waited if waited >= limit else None

    async def watch(self, app: Any) -> None:
        overdue = self.rebalance_overdue(app)
        if overdue is not None:
            log.error("stalled in a rebalance; where things stood:\n%s", consumer_state(app))
            self.on_stall(
                f"a rebalance has lasted {overdue:.0f} s: the worker is stuck; exiting so that "
                "it is restarted"
            )
            return
        stalled = await self.check(app)
        if stalled:
            named = ", ".join(
                f"{tp.topic}[{tp.partition}] ({behind} not done or not committed)"
                for tp, behind, _ in stalled
            )
            log.error("stalled; where things stood:\n%s", consumer_state(app))
            self.on_stall(
                f"no progress for {min(s for _, _, s in stalled):.0f} s on {named}: the worker "
                "is stuck; exiting so that it is restarted"
            )

    def readiness(self, app: Any) -> tuple[bool, dict[str, Any]]:
        rebalancing = bool(app.rebalancing)
        recovering = bool(getattr(app, "in_recovery", False))
        assigned = sorted(
            f"{tp.topic}[{tp.partition}]"
            for tp in (app.consumer.assignment() if app.consumer else ())
            if tp.topic in self.topics
        )
        control = self.control()
        caught_up = bool(control.get("caught_up", True))
        ready = (
            not rebalancing and not recovering and not self.stalled and bool(assigned) and caught_up
        )
        return ready, {
            "ready": ready,
            "rebalancing": rebalancing,
            "recovering": recovering,
            "assigned": assigned,
            "stalled": [f"{tp.topic}[{tp.partition}]" for tp, _, _ in self.stalled],
            **control,
        }

    def attach(self, app: Any, topics: frozenset[str] | None = None) -> None:
        """Register the watchdog timer, the health pages and the rebalance hook on a faust
        app. `topics`: the topics watched (default: the app's batch topics)."""
        self.topics = topics if topics is not None else app.transport.batch_topics

        async def watchdog() -> None:
            await self.watch(app)

        app.timer(WATCH_EVERY_S, name="tradewatch_watchdog")(watchdog)

        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"alive": True})

        async def readyz(web: Any, request: Any) -> Any:
            ready, body = self.readiness(app)
            return web.json(body, status=200 if ready else 503)

        app.page("/healthz")(healthz)
        app.page("/readyz")(readyz)

        async def on_revoked(sender: Any, revoked: set[TP], **_: Any) -> None:
            self.forget(revoked)

        app.on_partitions_revoked.connect(on_revoked)


def consumer_state(app: Any) -> str:
    """What a stalled worker's consumer and tasks stood at, for the log before a fail-stop:
    per watched partition the highwater, committed and read offsets and the offsets acked but
    not committed; the messages not yet acked; and where every task is waiting."""
    consumer = app.consumer
    lines = [f"flow active: {getattr(consumer, 'flow_active', None)}"]
    try:
        for tp in sorted(consumer.assignment()):
            acked = sorted(consumer._acked.get(tp) or ())
            lines.append(
                f"{tp.topic}[{tp.partition}]: highwater {consumer.highwater(tp)}, committed "
                f"{consumer._committed_offset.get(tp)}, read {consumer._read_offset.get(tp)}, "
                f"acked {acked[:5]}{'...' if len(acked) > 5 else ''}"
            )
        unacked = [
            f"{m.tp.topic}[{m.tp.partition}]@{m.offset} (refcount {m.refcount})"
            for m in list(consumer._unacked_messages)[:20]
        ]
        lines.append(f"not acked: {', '.join(unacked) or 'none'}")
        for topic, merge in getattr(consumer, "_merges", {}).items():
            lines.append(f"merge of {topic}: {merge.total_buffered} records buffered")
    except Exception as exc:  # evidence only: never in the way of the fail-stop
        lines.append(f"(consumer state unreadable: {exc!r})")
    for task in asyncio.all_tasks():
        lines.append(f"task {task.get_name()}: {' > '.join(_awaiting(task.get_coro()))}")
    return "\n".join(lines)


def _awaiting(coro: Any) -> list[str]:
    """Where a coroutine stands, down the chain of what it awaits."""
    where: list[str] = []
    while coro is not None and len(where) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            where.append(f"{code.co_name}@{code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return where
