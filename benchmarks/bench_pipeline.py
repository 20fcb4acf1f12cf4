"""End-to-end numbers against the local broker, each printed beside its target (issue 16).

    scripts/kafka-local start
    .venv/bin/python benchmarks/bench_pipeline.py [--count 200000] [--only worker --only noop]

On one generated feed (60 days of declared time), in one run:
- noop: faust's delivery ceiling, an agent that does nothing on the worker's own faust App
  (whole fetched batches per event), and faust's per-message delivery for comparison;
- worker: one worker drains the feed from one partition, every rule and window on; done when
  the window stage has counted every declaration; its ratio to the no-op ceiling;
- backtest: `tradewatch backtest` over the same file;
- latency: produce time to alert time while producing at a fixed rate (default 5,000/s, 60 s);
- state: a worker restoring a changelog of a million window keys: time, and RSS afterwards, on
  the default store and on memory://;
- scale: the feed on 6 partitions, one worker against two in one group;
- peer: Quix Streams 3.28 (`benchmarks/quix_count.py`, in a virtual environment of its own under
  .local/) counting and summing the same feed per importer in one-day event-time windows, on the
  same broker, then one worker on the same feed: the worker's rate over Quix's;
- stages: benchmarks/bench_stages.py (µs per declaration of each stage of the core).
Prints each phase as it ends, then the table; writes benchmarks/results.json (a run with
--only updates its own phases there and keeps the others'). Asserts nothing.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (measure, op, target): the targets.
TARGETS: dict[str, tuple[str, float]] = {
    "noop_batch_per_s": (">=", 20_000),
    "worker_per_s": (">=", 15_000),
    "worker_to_noop": (">=", 0.8),
    "backtest_per_s": (">=", 50_000),
    "latency_p99_ms": ("<=", 100),
    "restore_1m_keys_s": ("<=", 30),
    "rss_1m_keys_default_store_mb": ("<=", 500),
    "scale_2_workers_speedup": (">=", 1.6),
    "worker_to_quix": (">=", 1.0),
}

QUIX_VERSION = "3.28.1"
QUIX_VENV = ROOT / ".local" / "quix-venv"


def generate(work: Path, count: int, seed: int, rate: float | None = None) -> Path:
    out = work / f"feed-{seed}-{count}.jsonl"
    command = [sys.executable, "-m", "streams", "generate", "--out", str(out)]
    command += ["--count", str(count), "--days", "60", "--seed", str(seed)]
    if rate is not None:
        command += ["--rate", str(rate)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return out


def create_topic(bootstrap: list[str], topic: str, partitions: int = 1, **config: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=config)])
    finally:
        admin.close()


def produce(
    bootstrap: list[str], topic: str, records: Iterator[tuple[bytes | None, bytes]]
) -> tuple[int, float]:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=256 * 1024
    )
    started = time.perf_counter()
    sent = 0
    for key, value in records:
        producer.send(topic, key=key, value=value)
        sent += 1
    producer.flush()
    producer.close()
    return sent, time.perf_counter() - started


def keyed(lines: list[bytes]) -> Iterator[tuple[bytes | None, bytes]]:
    """Declarations keyed by id, as a feed spread over partitions would be."""
    for line in lines:
        yield orjson.loads(line)["declaration_id"].encode(), line


async def raw_ceiling(bootstrap: list[str], topic: str, count: int) -> float:
    """A plain aiokafka getmany loop that only reads and parses: the ceiling for one process."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=",".join(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    started = time.perf_counter()
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
    finally:
        await consumer.stop()
    return count / (time.perf_counter() - started)


def samples(url: str) -> dict[str, float]:
    """Metric totals by sample name (labels summed)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def labelled(url: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(broker: str, work: Path, name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    env.update(
        {
            "TRADEWATCH_BROKER_URL": broker,
            "TRADEWATCH_APP_ID": name,
            "TRADEWATCH_TOPIC_DECLARATIONS": f"{name}.declarations",
            "TRADEWATCH_TOPIC_ALERTS": f"{name}.alerts",
            "TRADEWATCH_TOPIC_DEAD_LETTER": f"{name}.dlq",
            # Every topic of the run's own: a shared one may have been made with another
            # partition count (by an earlier phase, or a demo on the same broker).
            "TRADEWATCH_TOPIC_CASES": f"{name}.cases",
            "TRADEWATCH_TOPIC_FEEDBACK": f"{name}.feedback",
            "TRADEWATCH_TOPIC_REFERENCE": f"{name}.reference",
            "TRADEWATCH_TOPIC_PARTITIONS": "1",
            "TRADEWATCH_METRICS_PORT": str(free_port()),
            "TRADEWATCH_DATA_DIR": str(work / name),
            "TRADEWATCH_LOG_LEVEL": "info",
        }
    )
    env.update(WORKER_SETTINGS)
    env.update(extra)
    return env


WORKER_SETTINGS: dict[str, str] = {}
"""TRADEWATCH_* settings given with --set, for every worker the benchmark starts."""


@dataclass
class Worker:
    name: str
    pid: int
    url: str

    def metrics(self) -> dict[str, float]:
        return samples(self.url)

    def wait_for(self, ready: Callable[[dict[str, float]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready(self.metrics()):
                    return
            except OSError:
                pass
            time.sleep(0.5)  # (parsing the metrics page costs the worker CPU it shares)
        raise TimeoutError(f"worker {self.name}: not there after {timeout:.0f} s")


@contextmanager
def worker(
    env: dict[str, str], work: Path, log: str, profile: Path | None = None
) -> Iterator[Worker]:
    process = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker"],
        env=env,
        stdout=(work / log).open("wb"),
        stderr=subprocess.STDOUT,
    )
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(process.pid),
             "--format", "raw", "--rate", "200", "--output", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        yield Worker(
            env["TRADEWATCH_APP_ID"],
            process.pid,
            f"http://127.0.0.1:{env['TRADEWATCH_METRICS_PORT']}/metrics",
        )
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        process.terminate()
        process.wait(timeout=60)


def positions(url: str, topic: str) -> dict[int, float]:
    """A worker's position on each partition of `topic` it holds: the offset after the last
    record it finished (`tradewatch_partition_position`)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        int(sample.labels["partition"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tradewatch_partition_position" and sample.labels.get("topic") == topic
    }


def window_done(
    bootstrap: str, name: str, running: list[Worker], count: int, timeout: float
) -> None:
    """Return once the group has screened `count` declarations and its window stage has
    finished every observation they made.

    Screening is done when the group's committed offsets on the declarations topic reach the
    topic's end: a batch is committed only once its observation frames were delivered. The end
    of each partition of the observations topic is taken then, and the window stage is done
    when the workers' positions there reach it. (This used to wait for 3 observations a
    declaration; the party index adds its own, about 5.1 in all, so it stopped while the window
    stage was still working, and overstated the worker by 10-50 %.)"""
    from kafka import TopicPartition

    from streams.settings import Settings

    deadline = time.monotonic() + timeout
    observations = Settings(app_id=name).observations_topic
    declarations = f"{name}.declarations"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)

    def ends(topic: str) -> dict[int, int]:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}

    def wait(done: Callable[[], bool], what: str) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: {what} not done after {timeout:.0f} s")
            time.sleep(0.25)  # (each look at a worker's metrics costs it CPU it shares)

    try:
        wait(
            lambda: (
                sum(w.metrics().get("tradewatch_declarations_total", 0) for w in running) >= count
            ),
            "screening",
        )
        declared = ends(declarations)

        def committed() -> bool:
            offsets = admin.list_group_offsets(name).get(name, {})
            for partition, end in declared.items():
                tp = TopicPartition(declarations, partition)
                if end > 0 and (tp not in offsets or offsets[tp].offset != end):
                    return False
            return True

        wait(committed, "committing the screened declarations")
        target = ends(observations)

        def caught_up() -> bool:
            held: dict[int, float] = {}
            for w in running:
                for partition, position in positions(w.url, observations).items():
                    held[partition] = max(held.get(partition, 0.0), position)
            return all(held.get(p, 0.0) >= end for p, end in target.items() if end > 0)

        wait(caught_up, "the window stage")
    finally:
        consumer.close()
        admin.close()


# -- phases -------------------------------------------------------------------------------


def phase_noop(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    lines = feed.read_bytes().splitlines()
    name = f"noop{uuid.uuid4().hex[:8]}"
    topic = f"{name}.declarations"
    create_topic(args.bootstrap, topic)
    sent, produce_s = produce(args.bootstrap, topic, ((None, line) for line in lines))
    results: dict[str, Any] = {"produce_per_s": round(sent / produce_s)}
    results["raw_aiokafka_per_s"] = round(asyncio.run(raw_ceiling(args.bootstrap, topic, sent)))
    for mode in ("batch", "plain"):
        out = work / f"noop-{mode}.txt"
        env = env_for(args.broker, work, f"{name}{mode}", TRADEWATCH_TOPIC_DECLARATIONS=topic)
        env.update({"NOOP_COUNT": str(sent), "NOOP_OUT": str(out)})
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "noop_agent.py"), mode, "worker"],
            env=env,
            timeout=1200,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        results[f"noop_{mode}_per_s"] = int(out.read_text()) if out.exists() else None
    return results


def drain(
    args: argparse.Namespace, work: Path, lines: list[bytes], partitions: int, workers: int
) -> dict[str, Any]:
    """Preload the feed, start `workers` workers in one group, time until the window stage has
    counted every declaration."""
    name = f"drain{uuid.uuid4().hex[:8]}"
    topic = f"{name}.declarations"
    create_topic(args.bootstrap, topic, partitions)
    records = keyed(lines) if partitions > 1 else ((None, line) for line in lines)
    produce(args.bootstrap, topic, records)
    envs = [
        env_for(
            args.broker, work, name, TRADEWATCH_TOPIC_PARTITIONS=str(partitions),
            TRADEWATCH_DATA_DIR=str(work / f"{name}-{n}"),
        )
        for n in range(workers)
    ]  # fmt: skip
    started = None
    with contextlib_exit_stack() as stack:
        running = [
            stack.enter_context(
                worker(
                    env, work, f"{name}-{n}.log", args.profile if n == 0 and workers == 1 else None
                )
            )
            for n, env in enumerate(envs)
        ]
        for w in running:
            w.wait_for(lambda m: "tradewatch_declarations_total" in m, 120)
        deadline = time.monotonic() + 3600
        while started is None:  # the clock starts with the first declaration screened
            screened = sum(w.metrics().get("tradewatch_declarations_total", 0) for w in running)
            if screened > 0:
                started, first = time.perf_counter(), screened
                break
            assert time.monotonic() < deadline, "no worker screened anything"
            time.sleep(0.05)
        window_done(args.bootstrap, name, running, len(lines), 3600)
        seconds = time.perf_counter() - started
        peak = max(rss_mb(w.pid, "VmHWM") for w in running)
    return {"per_s": round((len(lines) - first) / seconds), "peak_rss_mb": round(peak)}


def contextlib_exit_stack() -> Any:
    import contextlib

    return contextlib.ExitStack()


def phase_worker(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    lines = feed.read_bytes().splitlines()
    result = drain(args, work, lines, partitions=1, workers=1)
    return {"worker_per_s": result["per_s"], "worker_peak_rss_mb": result["peak_rss_mb"]}


def phase_scale(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    lines = feed.read_bytes().splitlines()
    one = drain(args, work, lines, partitions=6, workers=1)
    two = drain(args, work, lines, partitions=6, workers=2)
    return {
        "scale_1_worker_6_partitions_per_s": one["per_s"],
        "scale_2_workers_6_partitions_per_s": two["per_s"],
        "scale_2_workers_speedup": round(two["per_s"] / one["per_s"], 2),
    }


def quix_python() -> Path:
    """Quix Streams' interpreter: a virtual environment of its own, made on first use (Quix
    pins pydantic below the version tradewatch uses, so the two cannot share one)."""
    python = QUIX_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(QUIX_VENV)], check=True)
        pip = [str(QUIX_VENV / "bin" / "pip"), "install", "-q", f"quixstreams=={QUIX_VERSION}"]
        subprocess.run(pip, check=True)
    return python


def phase_peer(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    """Quix Streams' windowed count and sum per importer, then the worker, on one feed."""
    lines = feed.read_bytes().splitlines()
    topic = f"peer{uuid.uuid4().hex[:8]}.declarations"
    create_topic(args.bootstrap, topic)
    by_importer = ((orjson.loads(line)["importer"]["name"].encode(), line) for line in lines)
    produce(args.bootstrap, topic, by_importer)
    out = work / "quix.txt"
    command = [str(quix_python()), str(ROOT / "benchmarks" / "quix_count.py")]
    command += [",".join(args.bootstrap), topic, str(len(lines)), str(out)]
    subprocess.run(command, check=True, timeout=3600, capture_output=True)
    quix = int(out.read_text())
    worker = drain(args, work, lines, partitions=1, workers=1)["per_s"]
    return {
        "quix_window_count_per_s": quix,
        "worker_same_run_per_s": worker,
        "worker_to_quix": round(worker / quix, 3),
    }


def phase_backtest(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "streams", "backtest", str(feed), "--out",
         str(work / "alerts.jsonl"), "--quiet"],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    count = sum(1 for _ in feed.open("rb"))
    return {"backtest_per_s": round(count / (time.perf_counter() - started))}


def phase_latency(args: argparse.Namespace, work: Path, _: Path) -> dict[str, Any]:
    """Produce at a fixed rate and time each alert from its declaration's send to its arrival.

    The alert's trigger is the declaration that crossed (window rules) or the one declaration
    it is about. A worker that cannot keep up with the rate shows it here as a growing tail."""
    count = int(args.latency_rate * args.latency_seconds)
    lines = generate(work, count, seed=2, rate=400).read_bytes().splitlines()
    name = f"lat{uuid.uuid4().hex[:8]}"
    env = env_for(args.broker, work, name)
    create_topic(args.bootstrap, f"{name}.declarations")
    create_topic(args.bootstrap, f"{name}.alerts")
    sent_at: dict[str, float] = {}
    arrived: list[tuple[float, dict[str, Any]]] = []
    stop = threading.Event()

    def read_alerts() -> None:
        consumer = KafkaConsumer(
            f"{name}.alerts", bootstrap_servers=args.bootstrap, auto_offset_reset="earliest"
        )
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                now = time.time()
                arrived.extend((now, orjson.loads(r.value)) for r in records)
        consumer.close()

    with worker(env, work, f"{name}.log") as running:
        running.wait_for(lambda m: "tradewatch_declarations_total" in m, 120)
        time.sleep(3)  # partitions assigned
        idle_rss = rss_mb(running.pid, "VmRSS")
        reader = threading.Thread(target=read_alerts, daemon=True)
        reader.start()
        producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks=1, linger_ms=0)
        tick = 0.01
        started = time.perf_counter()
        owed = 0.0
        index = 0
        while index < len(lines):
            owed += args.latency_rate * tick
            while owed >= 1 and index < len(lines):
                line = lines[index]
                sent_at[orjson.loads(line)["declaration_id"]] = time.time()
                producer.send(f"{name}.declarations", value=line)
                index += 1
                owed -= 1
            producer.flush()
            pause = started + (index / args.latency_rate) - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        sent_s = time.perf_counter() - started
        producer.close()
        window_done(args.bootstrap, name, [running], len(lines), 600)
        time.sleep(3)
        stop.set()
        reader.join(timeout=10)
    latencies = []
    windowed = []
    for arrival, alert in arrived:
        evidence = alert.get("evidence") or {}
        trigger = evidence.get("crossed_by") if isinstance(evidence, dict) else None
        ids = alert.get("declaration_ids") or []
        trigger = trigger or (ids[0] if len(ids) == 1 else None)
        if isinstance(trigger, str) and trigger in sent_at:
            latencies.append((arrival - sent_at[trigger]) * 1000)
            if alert.get("window"):
                windowed.append(latencies[-1])
    latencies.sort()
    windowed.sort()

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "worker_rss_idle_mb": round(idle_rss),
        "latency_rate_asked": args.latency_rate,
        "latency_rate_sent": round(len(lines) / sent_s),
        "latency_alerts": len(latencies),
        "latency_p50_ms": pct(0.50),
        "latency_p99_ms": pct(0.99),
        "latency_p999_ms": pct(0.999),
        "latency_window_alerts": len(windowed),
        "latency_window_p50_ms": round(windowed[len(windowed) // 2], 1) if windowed else None,
    }


def phase_state(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    """Workers with a million window keys: write a changelog of that many real encoded states
    (sampled from an offline run of the feed, under distinct keys), start a worker on it, time
    the restore and read its RSS once it screens again; on the default store and memory://."""
    from alerts.state.formats import WINDOW_STATE
    from streams.offline import offline_pipeline
    from streams.settings import Settings

    lines = feed.read_bytes().splitlines()
    pipeline = offline_pipeline(Settings())
    for start in range(0, min(len(lines), 20_000), 1000):
        pipeline.feed_batch(
            [(line, n) for n, line in enumerate(lines[start : start + 1000], start)]
        )
    sampled = [(k, WINDOW_STATE.encode(e.state)) for k, e in pipeline.store.entries.items()]
    results: dict[str, Any] = {
        "state_bytes_per_key": round(statistics.mean(len(k) + len(v) for k, v in sampled))
    }
    default_store = Settings().store
    for label, store in (("default_store", default_store), ("memory", "memory://")):
        name = f"keys{uuid.uuid4().hex[:8]}"
        changelog = f"{name}-window-state-changelog"
        create_topic(args.bootstrap, changelog, 1, **{"cleanup.policy": "compact"})
        produce(
            args.bootstrap,
            changelog,
            (
                (key + b"#%d" % n, value)
                for n, (key, value) in ((n, sampled[n % len(sampled)]) for n in range(args.keys))
            ),
        )
        env = env_for(args.broker, work, name, TRADEWATCH_STORE=store)
        log = work / f"{name}.log"
        with worker(env, work, f"{name}.log") as running:
            started = time.perf_counter()
            deadline = time.monotonic() + 1800
            while "Worker ready" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the worker did not finish restoring its table")
                time.sleep(0.2)
            restored_s = time.perf_counter() - started
            produce(args.bootstrap, f"{name}.declarations", ((None, line) for line in lines[:200]))
            window_done(args.bootstrap, name, [running], 200, 120)
            rss = rss_mb(running.pid, "VmRSS")
            peak = rss_mb(running.pid, "VmHWM")
        scale = 1_000_000 / args.keys
        results[f"restore_1m_keys_{label}_s"] = round(restored_s * scale, 1)
        results[f"rss_1m_keys_{label}_mb"] = round(rss)  # measured at args.keys
        results[f"peak_rss_1m_keys_{label}_mb"] = round(peak)
    results["restore_1m_keys_s"] = results["restore_1m_keys_default_store_s"]
    results["store_default"] = default_store
    return results


def phase_stages(args: argparse.Namespace, work: Path, feed: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_stages.py"), "--count", "100000"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    print(result.stdout, flush=True)
    stages: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        parts = line.rsplit(None, 3)
        if len(parts) == 4 and parts[3] in ("yes", "NO"):
            stages[f"stage_{parts[0].strip().replace(' + ', '_').replace(' ', '_')}_us"] = float(
                parts[1]
            )
    return stages


PHASES: dict[str, Callable[[argparse.Namespace, Path, Path], dict[str, Any]]] = {
    "noop": phase_noop,
    "worker": phase_worker,
    "backtest": phase_backtest,
    "latency": phase_latency,
    "state": phase_state,
    "scale": phase_scale,
    "peer": phase_peer,
    "stages": phase_stages,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="declarations in the feed")
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument("--latency-rate", type=float, default=5000.0, help="declarations/s")
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument("--keys", type=int, default=1_000_000, help="window keys restored")
    parser.add_argument("--only", choices=sorted(PHASES), action="append")
    parser.add_argument("--profile", type=Path, help="py-spy the worker phase (folded stacks)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TRADEWATCH_X=VALUE",
        help="a setting for every worker started (to compare settings)",
    )
    args = parser.parse_args()
    for setting in args.set:
        name, _, value = setting.partition("=")
        if not name.startswith("TRADEWATCH_") or not _:
            parser.error(f"--set {setting}: expected TRADEWATCH_NAME=VALUE")
        WORKER_SETTINGS[name] = value
    args.bootstrap = args.broker.removeprefix("kafka://").split(";")
    work = Path(tempfile.mkdtemp(prefix="tradewatch-bench-"))
    started = time.perf_counter()
    feed = generate(work, args.count, seed=1)
    results: dict[str, Any] = {
        "declarations": sum(1 for _ in feed.open("rb")),
        "generate_per_s": round(args.count / (time.perf_counter() - started)),
    }
    for phase in args.only or list(PHASES):
        try:
            part = PHASES[phase](args, work, feed)
        except Exception as exc:  # one phase failing must not lose the others' numbers
            part = {f"{phase}_failed": f"{type(exc).__name__}: {exc}"}
        print(f"{phase}: {json.dumps(part)}", flush=True)
        results |= part
    if results.get("worker_per_s") and results.get("noop_batch_per_s"):
        results["worker_to_noop"] = round(results["worker_per_s"] / results["noop_batch_per_s"], 3)

    print(f"\n{'measure':<40}{'value':>14}{'target':>12}  met")
    for key, value in results.items():
        rule = TARGETS.get(key)
        met, shown = "", ""
        if rule is not None:
            op, target = rule
            shown = f"{op} {target:g}"
            if isinstance(value, int | float):
                met = "yes" if (value >= target if op == ">=" else value <= target) else "NO"
        print(f"{key:<40}{value!s:>14}{shown:>12}  {met}")
    for key, (op, target) in TARGETS.items():
        if key not in results:
            print(f"{key:<40}{'not measured':>14}{f'{op} {target:g}':>12}")
    out = ROOT / "benchmarks" / "results.json"
    kept: dict[str, Any] = {}
    if args.only and out.is_file():  # a partial run updates its phases, keeps the others'
        try:
            kept = json.loads(out.read_text())
        except (OSError, ValueError):
            kept = {}
    out.write_text(json.dumps(kept | results, indent=2) + "\n")
    how = "merged into" if kept else "written to"
    print(f"({how} {out.relative_to(ROOT)}; work files in {work})")


if __name__ == "__main__":
    main()
