"""End-to-end numbers against the local broker: worker throughput against the raw ceiling, the
worker's peak memory, and offline backtest throughput, on one generated feed.

    scripts/kafka-local start
    .venv/bin/python benchmarks/bench_pipeline.py [--count 200000] [--broker kafka://127.0.0.1:9092]

Prints a table and writes benchmarks/results.json. Asserts nothing.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]


def produce(bootstrap: list[str], topic: str, lines: list[bytes]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=20,
        batch_size=256 * 1024,
        compression_type=None,
    )
    started = time.perf_counter()
    for line in lines:
        producer.send(topic, value=line)
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


def progress(url: str) -> tuple[float, float]:
    """Declarations screened, and observation frames through the window stage."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    screened = sum(s.value for s in samples if s.name == "tradewatch_declarations_total")
    frames = sum(s.value for s in samples if s.name == "tradewatch_window_processing_seconds_count")
    return screened, frames


def end_offsets(bootstrap: list[str], topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the worker with py-spy while it drains (raw folded stacks to this file)",
    )
    args = parser.parse_args()
    bootstrap = args.broker.removeprefix("kafka://").split(";")
    work = Path(tempfile.mkdtemp(prefix="tradewatch-bench-"))
    name = f"bench{uuid.uuid4().hex[:8]}"
    topic = f"{name}.declarations"

    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "generate",
            "--out",
            str(work / "feed.jsonl"),
            "--count",
            str(args.count),
            "--days",
            "60",
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    generate_s = time.perf_counter() - started
    lines = (work / "feed.jsonl").read_bytes().splitlines()

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    produce_s = produce(bootstrap, topic, lines)
    ceiling = asyncio.run(raw_ceiling(bootstrap, topic, len(lines)))

    port = 16000 + os.getpid() % 1000
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    env.update(
        {
            "TRADEWATCH_BROKER_URL": args.broker,
            "TRADEWATCH_APP_ID": name,
            "TRADEWATCH_TOPIC_DECLARATIONS": topic,
            "TRADEWATCH_TOPIC_ALERTS": f"{name}.alerts",
            "TRADEWATCH_TOPIC_DEAD_LETTER": f"{name}.dlq",
            "TRADEWATCH_TOPIC_PARTITIONS": "1",
            "TRADEWATCH_METRICS_PORT": str(port),
            "TRADEWATCH_DATA_DIR": str(work / "state"),
            "TRADEWATCH_LOG_LEVEL": "warning",
        }
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker"],
        env=env,
        stdout=(work / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    spy = (
        subprocess.Popen(
            ["py-spy", "record", "--pid", str(worker.pid), "--format", "raw", "--rate", "200",
             "--output", str(args.profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if args.profile
        else None
    )  # fmt: skip
    first_at = done_at = None
    frames_sent: int | None = None
    try:
        # Done when every declaration is screened and every observation frame that screening
        # sent has been through the window stage: the whole worker, not its first agent.
        while True:
            time.sleep(0.2)
            try:
                seen, frames_done = progress(url)
            except OSError:
                continue
            if seen > 0 and first_at is None:
                first_at, first_seen = time.perf_counter(), seen
            if seen >= len(lines) and frames_sent is None:
                screened_at = time.perf_counter()
                time.sleep(0.5)  # the last batch's frames
                frames_sent = end_offsets(bootstrap, f"{name}-observations")
            if frames_sent is not None and frames_done >= frames_sent:
                done_at = time.perf_counter()
                break
        rss = peak_rss_mb(worker.pid)
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        worker.terminate()
        worker.wait(timeout=60)
    assert first_at is not None and done_at is not None
    throughput = (len(lines) - first_seen) / max(done_at - first_at, 1e-9)
    screening_rate = (len(lines) - first_seen) / max(screened_at - first_at, 1e-9)

    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "backtest",
            str(work / "feed.jsonl"),
            "--out",
            str(work / "alerts.jsonl"),
            "--quiet",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    backtest_rate = len(lines) / (time.perf_counter() - started)

    results = {
        "declarations": len(lines),
        "generate_per_s": round(len(lines) / generate_s),
        "produce_per_s": round(len(lines) / produce_s),
        "raw_ceiling_per_s": round(ceiling),
        "screening_only_per_s": round(screening_rate),
        "observation_frames": frames_sent,
        "worker_per_s": round(throughput),
        "worker_to_ceiling": round(throughput / ceiling, 3),
        "worker_peak_rss_mb": round(rss),
        "backtest_per_s": round(backtest_rate),
    }
    targets = {"worker_per_s": 15_000, "worker_to_ceiling": 0.5, "backtest_per_s": 50_000}
    print(f"{'measure':<24}{'value':>12}{'target':>12}  met")
    for key, value in results.items():
        target = targets.get(key)
        if key == "worker_peak_rss_mb":
            target, met = 500, value <= 500
        else:
            met = None if target is None else value >= target
        print(
            f"{key:<24}{value:>12}{'' if target is None else target:>12}  "
            f"{'' if met is None else ('yes' if met else 'NO')}"
        )
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
