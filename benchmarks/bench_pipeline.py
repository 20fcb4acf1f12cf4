"""End-to-end numbers against the local broker, on one generated feed:

1. worker throughput: N declarations preloaded, one worker drains them (every rule and window on;
   done when the window stage has also read every frame the screening sent);
2. the ceiling: a plain aiokafka getmany loop that only reads and parses the same topic;
3. end-to-end latency at a fixed input rate: produce time to the alert on the alert topic;
4. the worker's peak RSS, and its RSS with a million window keys (restored from a changelog the
   benchmark writes), with the state size per million keys;
5. offline backtest throughput on the same file.

    scripts/kafka-local start
    .venv/bin/python benchmarks/bench_pipeline.py [--count 1000000] [--latency-rate 5000]

Prints a table and writes benchmarks/results.json. Asserts nothing.
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

import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "worker_per_s": (">=", 15_000),
    "worker_to_ceiling": (">=", 0.5),
    "latency_p99_ms": ("<=", 100),
    "worker_rss_1m_keys_mb": ("<=", 500),
    "backtest_per_s": (">=", 50_000),
}


def generate(work: Path, count: int, seed: int, rate: int | None = None) -> list[bytes]:
    out = work / f"feed-{seed}.jsonl"
    command = [sys.executable, "-m", "streams", "generate", "--out", str(out)]
    command += ["--count", str(count), "--days", "60", "--seed", str(seed)]
    if rate is not None:
        command += ["--rate", str(rate)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return out.read_bytes().splitlines()


def create_topic(bootstrap: list[str], topic: str, config: dict[str, str] | None = None) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs=config or {})])
    finally:
        admin.close()


def produce(bootstrap: list[str], topic: str, records: list[tuple[bytes | None, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=256 * 1024
    )
    started = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


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


def end_offsets(bootstrap: list[str], topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
            time.sleep(1.0)  # (parsing the metrics page costs the worker CPU it shares)
        raise TimeoutError(f"worker {self.name}: not there after {timeout:.0f} s")


@contextmanager
def worker(
    broker: str, work: Path, name: str, profile: Path | None = None, store: str = "memory://"
) -> Iterator[Worker]:
    port = 16000 + (os.getpid() + len(name) * 7 + hash(name)) % 2000
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    env.update(
        {
            "TRADEWATCH_BROKER_URL": broker,
            "TRADEWATCH_APP_ID": name,
            "TRADEWATCH_TOPIC_DECLARATIONS": f"{name}.declarations",
            "TRADEWATCH_TOPIC_ALERTS": f"{name}.alerts",
            "TRADEWATCH_TOPIC_DEAD_LETTER": f"{name}.dlq",
            "TRADEWATCH_TOPIC_PARTITIONS": "1",
            "TRADEWATCH_METRICS_PORT": str(port),
            "TRADEWATCH_DATA_DIR": str(work / name),
            "TRADEWATCH_LOG_LEVEL": "info",  # into its own log file
            "TRADEWATCH_STORE": store,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker"],
        env=env,
        stdout=(work / f"{name}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(process.pid), "--format", "raw", "--rate", "200",
             "--output", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        yield Worker(name, process.pid, f"http://127.0.0.1:{port}/metrics")
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        process.terminate()
        process.wait(timeout=60)


def throughput(args: argparse.Namespace, work: Path, lines: list[bytes]) -> dict[str, float]:
    bootstrap = args.bootstrap
    name = f"bench{uuid.uuid4().hex[:8]}"
    topic = f"{name}.declarations"
    create_topic(bootstrap, topic)
    produce_s = produce(bootstrap, topic, [(None, line) for line in lines])
    ceiling = asyncio.run(raw_ceiling(bootstrap, topic, len(lines)))
    with worker(args.broker, work, name, args.profile) as running:
        running.wait_for(lambda m: m.get("tradewatch_declarations_total", 0) > 0, 120)
        first_at = time.perf_counter()
        first_seen = running.metrics()["tradewatch_declarations_total"]
        # Done when every declaration is screened and every observation frame the screening
        # sent has been through the window stage: the whole worker, not its first agent.
        running.wait_for(lambda m: m["tradewatch_declarations_total"] >= len(lines), 7200)
        screened_at = time.perf_counter()
        time.sleep(0.5)  # the last batch's frames
        frames = end_offsets(bootstrap, f"{name}-observations")
        running.wait_for(
            lambda m: m.get("tradewatch_window_processing_seconds_count", 0) >= frames, 7200
        )
        done_at = time.perf_counter()
        peak = rss_mb(running.pid, "VmHWM")
    rate = (len(lines) - first_seen) / max(done_at - first_at, 1e-9)
    return {
        "produce_per_s": round(len(lines) / produce_s),
        "raw_ceiling_per_s": round(ceiling),
        "screening_only_per_s": round((len(lines) - first_seen) / (screened_at - first_at)),
        "observation_frames": frames,
        "worker_per_s": round(rate),
        "worker_to_ceiling": round(rate / ceiling, 4),
        "worker_peak_rss_mb": round(peak),
    }


def latency(args: argparse.Namespace, work: Path, lines: list[bytes]) -> dict[str, float]:
    """Produce at a fixed rate and time each alert from its declaration's send to its arrival.

    The alert's trigger is the declaration that crossed (window rules) or the one declaration
    it is about. A worker that cannot keep up with the rate shows it here as a growing tail."""
    bootstrap = args.bootstrap
    name = f"lat{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, f"{name}.declarations")
    create_topic(bootstrap, f"{name}.alerts")
    count = min(len(lines), int(args.latency_rate * args.latency_seconds))
    sent_at: dict[str, float] = {}
    arrived: list[tuple[float, dict[str, object]]] = []
    stop = threading.Event()

    def read_alerts() -> None:
        consumer = KafkaConsumer(
            f"{name}.alerts", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                now = time.time()
                arrived.extend((now, orjson.loads(r.value)) for r in records)
        consumer.close()

    with worker(args.broker, work, name) as running:
        running.wait_for(lambda m: "tradewatch_declarations_total" in m, 120)
        time.sleep(3)  # partitions assigned
        idle_rss = rss_mb(running.pid, "VmRSS")
        reader = threading.Thread(target=read_alerts, daemon=True)
        reader.start()
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
        tick = 0.01
        per_tick = args.latency_rate * tick
        started = time.perf_counter()
        owed = 0.0
        index = 0
        while index < count:
            owed += per_tick
            while owed >= 1 and index < count:
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
        running.wait_for(lambda m: m["tradewatch_declarations_total"] >= count, 600)
        time.sleep(3)
        stop.set()
        reader.join(timeout=10)
    latencies = []
    for arrival, alert in arrived:
        evidence = alert.get("evidence") or {}
        trigger = evidence.get("crossed_by") if isinstance(evidence, dict) else None
        ids = alert.get("declaration_ids") or []
        trigger = trigger or (ids[0] if len(ids) == 1 else None)
        if isinstance(trigger, str) and trigger in sent_at:
            latencies.append((arrival - sent_at[trigger]) * 1000)
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "worker_rss_idle_mb": round(idle_rss),
        "latency_rate_asked": args.latency_rate,
        "latency_rate_sent": round(count / sent_s),
        "latency_alerts": len(latencies),
        "latency_p50_ms": pct(0.50),
        "latency_p99_ms": pct(0.99),
        "latency_p999_ms": pct(0.999),
        "latency_max_ms": round(latencies[-1], 1) if latencies else float("nan"),
    }


def state(args: argparse.Namespace, work: Path, lines: list[bytes]) -> dict[str, float]:
    """A worker with a million window keys: write a changelog of that many real encoded states
    (sampled from an offline run of the feed, under distinct keys), start a worker on it, and
    read its RSS once the table is restored and it screens again."""
    sys.path.insert(0, str(ROOT))
    from streams.decoding import SourceRef
    from streams.offline import OfflinePipeline
    from streams.settings import Settings

    pipeline = OfflinePipeline(Settings(topic_partitions=1))
    for offset, raw in enumerate(lines[:20_000]):
        pipeline.feed(raw, SourceRef("bench", 0, offset))
    sampled = [(k, s.encode()) for k, s in pipeline.store.states.items()]
    mean_bytes = statistics.mean(len(k) + len(v) for k, v in sampled)

    name = f"keys{uuid.uuid4().hex[:8]}"
    changelog = f"{name}-window-state-changelog"
    create_topic(args.bootstrap, changelog, {"cleanup.policy": "compact"})
    records = (
        (key + b"#" + str(n).encode(), value)
        for n, (key, value) in ((n, sampled[n % len(sampled)]) for n in range(args.keys))
    )
    produce(args.bootstrap, changelog, list(records))
    log = work / f"{name}.log"
    with worker(args.broker, work, name, store=args.store) as running:
        started = time.perf_counter()
        running.wait_for(lambda m: "tradewatch_declarations_total" in m, 600)
        produce(args.bootstrap, f"{name}.declarations", [(None, line) for line in lines[:200]])
        deadline = time.monotonic() + 1800
        while "Worker ready" not in log.read_text(errors="replace"):  # faust's recovery is done
            if time.monotonic() > deadline:
                raise TimeoutError("the worker did not finish restoring its table")
            time.sleep(1)
        restored_s = time.perf_counter() - started
        time.sleep(3)
        rss = rss_mb(running.pid, "VmRSS")
        peak = rss_mb(running.pid, "VmHWM")
        try:  # does it go on screening after a restore that long?
            running.wait_for(lambda m: m.get("tradewatch_window_keys", 0) >= args.keys, 120)
            screens_after = "yes"
        except TimeoutError:
            screens_after = "NO (idle after 'Worker ready')"
    # Scaled to a million keys above the RSS of a worker holding none (one run, as measured).
    idle = rss_mb_idle(args, work)
    return {
        "window_keys_restored": args.keys,
        "worker_rss_at_keys_mb": round(rss),
        "worker_peak_rss_at_keys_mb": round(peak),
        "worker_rss_1m_keys_mb": round(idle + (rss - idle) * 1_000_000 / args.keys),
        "state_bytes_per_key": round(mean_bytes),
        "restore_1m_keys_s": round(restored_s * 1_000_000 / args.keys, 1),
        "screens_after_restore": screens_after,
        "store": args.store,
    }


def rss_mb_idle(args: argparse.Namespace, work: Path) -> float:
    with worker(args.broker, work, f"idle{uuid.uuid4().hex[:8]}") as running:
        running.wait_for(lambda m: "tradewatch_declarations_total" in m, 120)
        time.sleep(3)
        return rss_mb(running.pid, "VmRSS")


def backtest(work: Path, count: int) -> dict[str, float]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "streams", "backtest", str(work / "feed-1.jsonl"),
         "--out", str(work / "alerts.jsonl"), "--quiet"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )  # fmt: skip
    return {"backtest_per_s": round(count / (time.perf_counter() - started))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="declarations preloaded")
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument("--latency-rate", type=float, default=5000.0, help="declarations/s")
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--keys", type=int, default=1_000_000, help="window keys restored")
    parser.add_argument(
        "--store", default="memory://", help="table store of the million-key worker"
    )
    parser.add_argument(
        "--only", choices=["throughput", "latency", "state", "backtest"], action="append"
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy the throughput worker (raw folded stacks)"
    )
    args = parser.parse_args()
    args.bootstrap = args.broker.removeprefix("kafka://").split(";")
    work = Path(tempfile.mkdtemp(prefix="tradewatch-bench-"))
    phases = args.only or ["throughput", "latency", "state", "backtest"]

    started = time.perf_counter()
    lines = generate(work, args.count, seed=1)
    results: dict[str, float | str] = {
        "declarations": len(lines),
        "generate_per_s": round(len(lines) / (time.perf_counter() - started)),
    }
    runs = {"throughput": throughput, "latency": latency, "state": state}
    for phase in phases:
        try:
            if phase == "backtest":
                part = backtest(work, len(lines))
            elif phase == "latency":
                # A feed dense in scenarios, so that the tail percentiles rest on enough alerts.
                count = int(args.latency_rate * args.latency_seconds)
                part = latency(args, work, generate(work, count, seed=2, rate=400))
            else:
                part = runs[phase](args, work, lines)
        except Exception as exc:  # one phase failing must not lose the others' numbers
            part = {f"{phase}_failed": f"{type(exc).__name__}: {exc}"}
        print(f"{phase}: {json.dumps(part)}", flush=True)
        results |= part

    print(f"{'measure':<28}{'value':>14}{'target':>12}  met")
    for key, value in results.items():
        rule = TARGETS.get(key)
        met = ""
        if rule is not None and isinstance(value, int | float):
            op, target = rule
            met = "yes" if (value >= target if op == ">=" else value <= target) else "NO"
        shown = f"{op} {target}" if rule else ""
        print(f"{key:<28}{value:>14}{shown:>12}  {met}")
    out = ROOT / "benchmarks" / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"(written to {out.relative_to(ROOT)}; work files in {work})")


if __name__ == "__main__":
    main()
