"""The watchdog: a partition with lag and no progress for too long stops the worker."""

import asyncio

import pytest
from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.progress import Progress

DECLARATIONS = TP("customs.declarations", 0)
OTHER = TP("customs.declarations", 1)


class Consumer:
    def __init__(self, ends: dict[TP, int], positions: dict[TP, int]) -> None:
        self.ends = ends
        self.positions = positions
        self._committed_offset: dict[TP, int] = dict(positions)
        self._read_offset: dict[TP, int] = {}
        self._acked: dict[TP, list[int]] = {}
        self._unacked_messages: set[object] = set()

    def assignment(self) -> set[TP]:
        return set(self.ends)

    def highwater(self, tp: TP) -> int | None:
        return self.ends.get(tp)

    async def position(self, tp: TP) -> int | None:
        return self.positions.get(tp)


class Conf:
    broker_rebalance_timeout = 60.0


class App:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.conf = Conf()
        self.rebalancing = False
        self.in_recovery = False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(stall_seconds: float = 60) -> tuple[Progress, App, Clock, list[str], CollectorRegistry]:
    clock = Clock()
    stops: list[str] = []
    registry = CollectorRegistry()
    progress = Progress(Metrics(registry), stall_seconds, clock=clock, on_stall=stops.append)
    progress.topics = frozenset({"customs.declarations"})
    app = App(Consumer({DECLARATIONS: 500, OTHER: 40}, {DECLARATIONS: 100, OTHER: 40}))
    return progress, app, clock, stops, registry


def test_a_partition_with_lag_and_no_progress_stops_the_worker_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress, app, clock, stops, registry = setup()
    asyncio.run(progress.watch(app))  # settles the clock
    clock.now += 59
    asyncio.run(progress.watch(app))
    assert stops == []
    clock.now += 2
    asyncio.run(progress.watch(app))
    [line] = stops
    assert "customs.declarations[0] (400 not done" in line and "[1]" not in line
    assert "\n" not in line
    labels = {"topic": "customs.declarations", "partition": "0"}
    assert registry.get_sample_value("tradewatch_partition_lag", labels) == 400
    progress.advanced(DECLARATIONS, 120)  # done up to and including offset 120
    assert registry.get_sample_value("tradewatch_partition_position", labels) == 121
    progress.forget({DECLARATIONS})  # the partition went to another worker
    assert registry.get_sample_value("tradewatch_partition_position", labels) is None
    # The evidence goes to the log first: offsets per partition, and where each task waits.
    [evidence] = [r.getMessage() for r in caplog.records if "where things stood" in r.getMessage()]
    assert "customs.declarations[0]: highwater 500, committed 100" in evidence
    assert "task " in evidence


def test_progress_rebalances_and_recovery_keep_the_watchdog_quiet() -> None:
    progress, app, clock, stops, _ = setup()
    asyncio.run(progress.watch(app))
    for n in range(10):  # a batch finished every 30 s: slow, not stuck
        clock.now += 30
        progress.advanced(DECLARATIONS, 150 + n)
        app.consumer._committed_offset[DECLARATIONS] = 150 + n  # and committed
        asyncio.run(progress.watch(app))
    app.rebalancing = True  # a long rebalance, then a long table recovery, do not count
    clock.now += 500
    asyncio.run(progress.watch(app))
    app.rebalancing, app.in_recovery = False, True
    clock.now += 500
    asyncio.run(progress.watch(app))
    app.in_recovery = False
    asyncio.run(progress.watch(app))
    clock.now += 30
    asyncio.run(progress.watch(app))
    assert stops == []
    ready, body = progress.readiness(app)
    assert ready and body["assigned"] == ["customs.declarations[0]", "customs.declarations[1]"]


def test_a_rebalance_that_never_ends_stops_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    # Members have broker_rebalance_timeout (60 s) to rejoin; past that and stall_seconds (60),
    # the worker is stuck in it. Table recovery in between is progress of its own, not counted.
    progress, app, clock, stops, _ = setup()
    app.rebalancing = True
    for _ in range(10):
        asyncio.run(progress.watch(app))
        clock.now += 10
    app.in_recovery = True
    clock.now += 500
    asyncio.run(progress.watch(app))
    app.in_recovery = False
    for _ in range(12):
        asyncio.run(progress.watch(app))
        clock.now += 10
    assert stops == []
    asyncio.run(progress.watch(app))
    [line] = stops
    assert "a rebalance has lasted 120 s" in line and "\n" not in line
    assert any("stalled in a rebalance" in r.getMessage() for r in caplog.records)


def test_a_stalled_worker_is_not_ready() -> None:
    progress, app, clock, _, _ = setup()
    asyncio.run(progress.watch(app))
    clock.now += 61
    asyncio.run(progress.check(app))
    ready, body = progress.readiness(app)
    assert not ready and body["stalled"] == ["customs.declarations[0]"]
    app.rebalancing = True
    assert progress.readiness(app)[0] is False


def test_work_done_but_never_committed_stops_the_worker() -> None:
    progress, app, clock, stops, _ = setup()
    asyncio.run(progress.watch(app))
    progress.advanced(DECLARATIONS, 499)  # everything done...
    for _ in range(5):
        clock.now += 10
        asyncio.run(progress.watch(app))  # ...but the committed offset stays at 100
    assert stops == []
    clock.now += 11
    asyncio.run(progress.watch(app))
    [line] = stops
    assert "customs.declarations[0] (400 not done or not committed)" in line


def test_a_record_after_a_quiet_spell_is_not_a_stall() -> None:
    progress, app, clock, stops, _ = setup()
    app.consumer.ends[DECLARATIONS] = 100  # nothing waiting
    asyncio.run(progress.watch(app))
    progress.advanced(DECLARATIONS, 99)
    clock.now += 600  # a quiet ten minutes
    asyncio.run(progress.watch(app))
    app.consumer.ends[DECLARATIONS] = 101  # then one record
    clock.now += 5
    asyncio.run(progress.watch(app))
    assert stops == []  # it has waited 5 s, not 605 s
    clock.now += 61
    asyncio.run(progress.watch(app))
    [line] = stops  # but one that stays is a stall
    assert "customs.declarations[0] (1 not done" in line


def test_a_record_done_after_a_quiet_spell_has_until_the_next_commits() -> None:
    progress, app, clock, stops, _ = setup()
    app.consumer.ends[DECLARATIONS] = 100
    progress.advanced(DECLARATIONS, 99)  # done and committed up to 100
    asyncio.run(progress.watch(app))
    clock.now += 600  # a quiet ten minutes: the committed offset has not moved since
    asyncio.run(progress.watch(app))
    app.consumer.ends[DECLARATIONS] = 101
    progress.advanced(DECLARATIONS, 100)  # one record, done; its commit is a moment away
    clock.now += 5
    asyncio.run(progress.watch(app))
    assert stops == []  # it has waited 5 s for its commit, not 605 s
    clock.now += 61
    asyncio.run(progress.watch(app))
    [line] = stops  # a commit that never comes is a stall
    assert "customs.declarations[0] (1 not done or not committed)" in line


def test_records_fetched_but_never_done_are_a_stall() -> None:
    progress, app, clock, stops, _ = setup()
    app.consumer.positions[DECLARATIONS] = 500  # fetched to the end, none of it done
    asyncio.run(progress.watch(app))
    clock.now += 61
    asyncio.run(progress.watch(app))
    [line] = stops  # the committed offset is where the work stands
    assert "customs.declarations[0] (400 not done" in line
