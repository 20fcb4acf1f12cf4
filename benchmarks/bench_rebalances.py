"""Overlapping rebalances under load: do workers hang, and is anything lost?

    python -m benchmarks.bench_rebalances --broker kafka://127.0.0.1:19092 --runs 3

Each run starts a group of workers on an 8-partition topic, sends a generated feed at a steady
rate, and while it flows changes the group's membership several times at seeded random moments,
each change a second or three after the one before: a rebalance starts before the previous one
has finished. A change starts a worker or stops one (SIGTERM), never leaving fewer than two.
A worker that exits by itself is one whose watchdog found it stuck (exit 70); it is counted and
started again, as an orchestrator would. Once the feed is sent, the group must drain it.

Printed per run and in total, each beside its target:
- watchdog exits (target 0: the hang of issue 29, item 7);
- the time from the last membership change (or the feed's last record, if later) until the
  group had committed everything;
- alerts missing against `tradewatch backtest` over the same feed (target 0), extra ones, and
  duplicate alert records (at least once: allowed, counted).

`--seed` replays a run: the feed, the moments and the changes are drawn from it.
"""

import argparse
import contextlib
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from schemas.alert import Alert
from streams.merge import InOrderStamps
from tests.integration.kafka_helpers import (
    WorkerProcess,
    bootstrap,
    create_topic,
    generate,
    lag,
    member_env,
    offline_alerts,
    worker_env,
)

PARTITIONS = 8


@dataclass
class Outcome:
    seed: int
    changes: list[str] = field(default_factory=list)
    watchdog_exits: int = 0
    drain_seconds: float = 0.0
    missing: int = 0
    extra: int = 0
    duplicates: int = 0
    alerts: int = 0


class Group:
    """The worker processes of one consumer group."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.workers: list[WorkerProcess] = []
        self.started = 0

    def live(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w.process is not None and w.process.poll() is None]

    def start(self) -> WorkerProcess:
        self.started += 1
        worker = WorkerProcess(
            member_env(self.env, self.live()), self.folder / f"w{self.started}.log"
        )
        worker.__enter__()
        self.workers.append(worker)
        return worker

    def exited_by_themselves(self) -> list[WorkerProcess]:
        """Workers that stopped without being asked (their watchdog), forgotten once seen."""
        out = []
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is not None:
                if worker.returncode is None:  # not stopped by us
                    worker.returncode = worker.process.returncode
                    out.append(worker)
                worker.process = None
        return out

    def stop_all(self) -> None:
        for worker in self.live():
            worker.stop()


def send(broker_url: str, topic: str, lines: list[bytes], rate: float, done: list[float]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap(broker_url), acks="all", linger_ms=5)
    stamps = InOrderStamps()
    started = time.monotonic()
    try:
        for n, line in enumerate(lines):
            ahead = started + n / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            producer.send(topic, key=str(n).encode(), value=line, timestamp_ms=stamps.next())
        producer.flush(timeout=60)
        done.append(time.monotonic())
    finally:
        producer.close(timeout=10)


def alert_ids(broker_url: str, topic: str) -> list[str]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap(broker_url),
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        return [Alert.model_validate_json(r.value).alert_id for r in consumer]
    finally:
        consumer.close()


def one_run(args: argparse.Namespace, seed: int, folder: Path) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome(seed)
    lines = generate(folder, count=args.count, days=1, seed=seed, rate=200)
    expected = set(offline_alerts(lines, topic_partitions=PARTITIONS))
    name = f"rb{uuid.uuid4().hex[:8]}"
    topic = f"{name}.declarations"
    create_topic(args.broker, topic, PARTITIONS)
    env = worker_env(args.broker, name, folder / "state") | {
        "TRADEWATCH_TOPIC_PARTITIONS": str(PARTITIONS),
        "TRADEWATCH_SESSION_TIMEOUT_SECONDS": "6",
    }
    group = Group(env, folder)
    sent: list[float] = []
    sender = threading.Thread(target=send, args=(args.broker, topic, lines, args.rate, sent))
    try:
        for _ in range(args.workers):
            group.start()
        sender.start()
        time.sleep(rng.uniform(2.0, 4.0))  # under way before the first change
        for _ in range(args.changes):
            live = group.live()
            if len(live) > 2 and rng.random() < 0.5:
                victim = rng.choice(live)
                with contextlib.suppress(OSError):
                    victim.stop()
                outcome.changes.append("stop")
            else:
                group.start()
                outcome.changes.append("start")
            time.sleep(rng.uniform(args.gap_min, args.gap_max))
        last_change = time.monotonic()
        topics = [topic, f"{name}-observations"]
        deadline = last_change + args.timeout
        while sender.is_alive() or lag(args.broker, name, topics) > 0:
            for worker in group.exited_by_themselves():
                outcome.watchdog_exits += 1
                print(
                    f"  seed {seed}: {worker.log_path.name} exited {worker.returncode} by itself",
                    file=sys.stderr,
                )
                group.start()
            if time.monotonic() > deadline:
                raise SystemExit(f"seed {seed}: the group never drained ({args.timeout:.0f} s)")
            time.sleep(1)
        outcome.drain_seconds = time.monotonic() - max(last_change, *sent)
    finally:
        sender.join()
        group.stop_all()
    live_ids = alert_ids(args.broker, f"{name}.alerts")
    counts = Counter(live_ids)
    outcome.alerts = len(counts)
    outcome.missing = len(expected - set(counts))
    outcome.extra = len(set(counts) - expected)
    outcome.duplicates = sum(n - 1 for n in counts.values())
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="the first run's seed")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--changes", type=int, default=5, help="membership changes a run")
    parser.add_argument("--gap-min", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--gap-max", type=float, default=3.0)
    parser.add_argument("--count", type=int, default=12_000, help="declarations a run")
    parser.add_argument("--rate", type=float, default=400.0, help="declarations a second")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to drain")
    args = parser.parse_args()
    outcomes = []
    for seed in range(args.seed, args.seed + args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-rebalances-") as folder:
            outcome = one_run(args, seed, Path(folder))
        outcomes.append(outcome)
        print(
            f"seed {seed}: changes {' '.join(outcome.changes)}; watchdog exits "
            f"{outcome.watchdog_exits} (target 0); drained {outcome.drain_seconds:.0f} s after "
            f"the last change and the last record; alerts {outcome.alerts}, missing "
            f"{outcome.missing} (target 0), extra {outcome.extra}, duplicate records "
            f"{outcome.duplicates}"
        )
    exits = sum(o.watchdog_exits for o in outcomes)
    missing = sum(o.missing for o in outcomes)
    print(
        f"total over {len(outcomes)} runs, {sum(len(o.changes) for o in outcomes)} changes: "
        f"watchdog exits {exits} (target 0), missing alerts {missing} (target 0), extra "
        f"{sum(o.extra for o in outcomes)}, duplicate records "
        f"{sum(o.duplicates for o in outcomes)}, longest drain "
        f"{max(o.drain_seconds for o in outcomes):.0f} s"
    )
    sys.exit(0 if exits == 0 and missing == 0 else 1)


if __name__ == "__main__":
    main()
