"""kill -9 at random wall-clock moments, in every phase of a worker's life, against backtest.

Each run preloads one generated feed on one partition (so backtest sees the live order), then
kills workers three times at moments drawn from a seeded generator, each in a phase of its own:
- start-up: before the worker has its partitions;
- recovery: while it restores its window state from the changelog;
- rebalance: while a second worker joins the group and partitions move;
- processing: in the middle of the stream.
A last worker then drains the topic. The alert ids on the alert topic must be exactly those of
`tradewatch backtest` over the same feed: none missing, none extra. Cases are derived state:
the latest version of each case on the case topic must be backtest's, with the same findings
and score. A worker that exits by
itself (its watchdog found it stuck) counts as a stall, and there must be none.

CI runs TRADEWATCH_RELIABILITY_RUNS runs (default 2); the seed of each is printed, and
TRADEWATCH_RELIABILITY_SEED=<seed> replays one. Sizes: TRADEWATCH_KILL_DECLARATIONS (16,000).
"""

import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alerts.cases import CaseBook, CaseScoring
from alerts.reference import ReferenceData
from schemas.alert import AlertCategory
from schemas.case import Case
from streams.settings import Settings
from tests.integration.kafka_helpers import (
    WorkerProcess,
    bootstrap,
    consume,
    create_topic,
    generate,
    lag,
    member_env,
    offline_alerts,
    produce,
    scrape,
    screened,
    wait_for_no_lag,
    worker_env,
)

RUNS = int(os.environ.get("TRADEWATCH_RELIABILITY_RUNS", "2"))
FIRST_SEED = int(os.environ.get("TRADEWATCH_RELIABILITY_SEED", "1001"))
DECLARATIONS = int(os.environ.get("TRADEWATCH_KILL_DECLARATIONS", "16000"))
PHASES = ("start-up", "recovery", "rebalance", "processing")
FEEDS: dict[int, tuple[list[bytes], dict[str, Any]]] = {}
SCORING = CaseScoring.load(ReferenceData.load())


def expected_cases(alerts: dict[str, Any]) -> dict[str, Case]:
    book = CaseBook(SCORING)
    for alert in alerts.values():
        book.add(alert)
    return {case.case_id: case for case in book.latest()}


def latest_cases(records: list[Any]) -> dict[str, Case]:
    latest: dict[str, Case] = {}
    for record in records:
        case = Case.model_validate_json(record.value)
        if case.case_id not in latest or case.version >= latest[case.case_id].version:
            latest[case.case_id] = case
    return latest


@dataclass
class Run:
    seed: int
    kills: list[str] = field(default_factory=list)
    stalls: list[str] = field(default_factory=list)
    restarts: int = 0


def feed(tmp_path: Path) -> tuple[list[bytes], dict[str, Any]]:
    """The generated feed and backtest's alerts for it, by id (made once per session)."""
    if DECLARATIONS not in FEEDS:
        lines = generate(tmp_path, count=DECLARATIONS, days=40, seed=21, rate=60)
        FEEDS[DECLARATIONS] = (lines, offline_alerts(lines, topic_partitions=1))
    return FEEDS[DECLARATIONS]


def wait_for(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    workers: Iterable[WorkerProcess] = (),
) -> None:
    """Wait for condition; on timeout, say what the workers named were doing."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            said = "\n".join(
                f"--- {w.log_path.name} ({'alive' if alive(w) else 'exited'}):\n{w.log_tail()}"
                for w in workers
            )
            raise AssertionError(f"timed out waiting for {what}\n{said}")
        time.sleep(0.02)


def log_has(worker: WorkerProcess, marker: str, after: int = 0) -> bool:
    return marker in worker.log_path.read_text(errors="replace")[after:]


def alive(worker: WorkerProcess) -> bool:
    return worker.process is not None and worker.process.poll() is None


def kill(worker: WorkerProcess) -> None:
    assert worker.process is not None
    worker.process.kill()
    worker.process.wait(timeout=10)


class Lineup:
    """Worker processes of one consumer group, started and killed by the test."""

    def __init__(self, env: dict[str, str], tmp_path: Path, run: Run) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.run = run
        self.started = 0
        self.workers: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        self.started += 1
        env = member_env(self.env, (w for w in self.workers if alive(w)))
        worker = WorkerProcess(env, self.tmp_path / f"seed{self.run.seed}-w{self.started}.log")
        worker.__enter__()
        self.workers.append(worker)
        return worker

    def note_stalls(self) -> None:
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() not in (None, -9):
                self.run.stalls.append(f"{worker.log_path.name} exited {worker.process.poll()}")
                worker.process = None

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.stop()


def kill_in(phase: str, lineup: Lineup, rng: random.Random, busy: Callable[[], bool]) -> None:
    """Start what the phase needs and kill -9 a worker at a random moment inside it.
    `busy`: whether the group still has input or observations to work through."""
    lineup.note_stalls()
    running = [w for w in lineup.workers if alive(w)]
    if phase == "start-up":
        worker = lineup.start()
        time.sleep(rng.uniform(0.0, 1.5))  # the app is up; its partitions are not yet assigned
        kill(worker)
    elif phase == "recovery":
        worker = lineup.start()
        wait_for(
            lambda: (
                log_has(worker, "Restoring state from changelog topics")
                or log_has(worker, "Resuming flow")
            ),
            120,
            "a recovery",
        )
        time.sleep(rng.uniform(0.0, 0.3))
        kill(worker)
    elif phase == "rebalance":
        first = running[0] if running else lineup.start()
        if not running:
            wait_for(lambda: screened(first) > 0 or not busy(), 120, "the first worker to screen")
        mark = len(first.log_path.read_text(errors="replace"))
        second = lineup.start()
        wait_for(
            lambda: log_has(first, "Executing _on_partitions_assigned", mark),
            120,
            "a rebalance",
            (first, second),
        )
        time.sleep(rng.uniform(0.0, 0.5))
        kill(rng.choice([first, second]))
    else:  # processing
        worker = running[0] if running else lineup.start()
        wait_for(lambda: screened(worker) > 0 or not busy(), 120, "screening")
        time.sleep(rng.uniform(0.2, 2.0))
        kill(worker)
    lineup.run.kills.append(phase)


def diagnose(lineup: Lineup, broker_url: str, group: str, topics: list[str]) -> str:
    """Where each partition stands, and what each live worker says of its own progress."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap(broker_url))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap(broker_url))
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        ends = consumer.end_offsets(parts)
        lines = [
            f"{tp.topic}[{tp.partition}] committed "
            f"{committed[tp].offset if tp in committed else None} end {ends[tp]}"
            for tp in parts
        ]
    finally:
        consumer.close()
        admin.close()
    for worker in lineup.workers:
        if alive(worker):
            samples = scrape(worker.metrics_url)
            progress = {
                k: v
                for k, v in samples.items()
                if k[0].startswith(("tradewatch_partition", "tradewatch_declarations_total"))
            }
            lines.append(f"{worker.log_path.name}: {progress}")
    return "; ".join(lines)


def one_run(
    seed: int, broker_url: str, tmp_path: Path
) -> tuple[Run, dict[str, Any], set[str], dict[str, Case]]:
    lines, wanted = feed(tmp_path)
    run = Run(seed)
    rng = random.Random(seed)
    name = f"kill{seed}x{uuid.uuid4().hex[:8]}"  # (not from rng: a replay draws the same moments)
    env = worker_env(
        broker_url,
        name,
        tmp_path / f"state-{seed}",
        TRADEWATCH_SESSION_TIMEOUT_SECONDS="6",  # a killed worker's partitions return sooner
        TRADEWATCH_STALL_SECONDS="20",
    )
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)
    produce(broker_url, topic, [(None, line) for line in lines])
    phases = rng.sample(PHASES, 3)
    lineup = Lineup(env, tmp_path, run)
    try:
        settings = Settings(app_id=name)

        def busy() -> bool:
            return lag(broker_url, name, [topic, settings.observations_topic]) > 0

        for phase in phases:
            kill_in(phase, lineup, rng, busy)
        final = lineup.start()
        deadline = time.monotonic() + 300
        while True:  # drain; a worker that stops by itself is restarted, and counted
            try:
                wait_for_no_lag(broker_url, name, [topic, settings.observations_topic], 5)
                break
            except AssertionError:
                assert time.monotonic() < deadline, f"seed {seed}: never drained: " + diagnose(
                    lineup, broker_url, name, [topic, settings.observations_topic]
                )
                lineup.note_stalls()
                if not alive(final):
                    run.restarts += 1
                    final = lineup.start()
        lineup.note_stalls()
    finally:
        lineup.stop_all()
    found = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda r: {x.key.decode() for x in r} >= set(wanted),
        timeout_s=60,
    )
    cases = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_CASES"],
        until=lambda r: {x.key.decode() for x in r} >= set(expected_cases(wanted)),
        timeout_s=60,
    )
    return run, wanted, {r.key.decode() for r in found}, latest_cases(cases)


@pytest.mark.broker
@pytest.mark.timeout(600 * RUNS)
def test_random_kills_give_exactly_the_backtest_alerts(broker_url: str, tmp_path: Path) -> None:
    report = []
    for seed in range(FIRST_SEED, FIRST_SEED + RUNS):
        run, wanted, found, cases = one_run(seed, broker_url, tmp_path)
        missing, extra = set(wanted) - found, found - set(wanted)
        report.append(
            f"seed {seed}: kills in {', '.join(run.kills)}; alerts expected {len(wanted)}, "
            f"missing {len(missing)}, unexpected {len(extra)}; cases {len(cases)}; "
            f"stalls {len(run.stalls)}"
        )
        print(report[-1], flush=True)
        assert not missing, (
            f"seed {seed} (replay with TRADEWATCH_RELIABILITY_SEED={seed}): missing "
            f"{Counter(wanted[i].rule_id for i in missing)}"
        )
        assert not extra, f"seed {seed} (replay with TRADEWATCH_RELIABILITY_SEED={seed})"
        expected = expected_cases(wanted)
        assert sorted(cases) == sorted(expected), f"seed {seed}: the cases differ"
        # A volume burst over hopping windows is one case per subject, not one per window.
        bursts = [c for c in expected.values() if AlertCategory.VOLUME_ANOMALY in c.categories]
        assert bursts and max(len(c.findings) for c in bursts) >= 3
        assert len({(c.subject.kind, c.subject.key) for c in bursts}) == len(bursts)
        for case_id, case in expected.items():
            live = cases[case_id]
            assert [f.alert_id for f in live.findings] == [f.alert_id for f in case.findings]
            assert (live.version, live.risk_score) == (case.version, case.risk_score), case_id
        assert not run.stalls, f"seed {seed}: {run.stalls}"
    print("\n" + "\n".join(report))
