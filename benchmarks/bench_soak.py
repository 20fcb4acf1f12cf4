"""Soak: a worker fed at a steady rate for a long time, its memory sampled; does it level off?

    python -m benchmarks.bench_soak --broker kafka://127.0.0.1:19092 --minutes 30 --rate 300

A generated feed (every kind of finding, 1 day of event time per `--days-per-pass` passes) is
sent again and again with new declaration ids and dates moved on, so event time runs forward as
in production: windows close, baselines roll, the party index and the case reviews age. Every
`--every` seconds the worker's RSS is sampled. At the end the curve is printed with the growth
per minute over the second half beside its target: after warm-up, memory must level off (at most
1 MB a minute, the noise of the allocator).
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from tools.generate import generate

TARGET_MB_PER_MINUTE = 1.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def feed_lines(count: int, days: int) -> list[dict]:  # type: ignore[type-arg]
    out, labels = io.StringIO(), io.StringIO()
    start = datetime.now(UTC) - timedelta(days=days)
    generate(out, labels, count=count, seed=7, days=days, start=start, scenario_rate=200)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def moved(document: dict, loop: int, days: int) -> bytes:  # type: ignore[type-arg]
    shifted = dict(document)
    shifted["declaration_id"] = f"SOAK{loop:04d}-{document['declaration_id']}"
    at = datetime.fromisoformat(document["declared_at"]) + timedelta(days=days * loop)
    shifted["declared_at"] = at.isoformat()
    return json.dumps(shifted).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=300.0, help="declarations a second")
    parser.add_argument("--count", type=int, default=30_000, help="declarations a pass")
    parser.add_argument("--days", type=int, default=10, help="event-time days a pass covers")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    args = parser.parse_args()

    name = f"soak{int(time.time())}"
    work = Path(tempfile.mkdtemp(prefix="tradewatch-soak-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")},
        "TRADEWATCH_BROKER_URL": args.broker,
        "TRADEWATCH_APP_ID": name,
        "TRADEWATCH_TOPIC_DECLARATIONS": f"{name}.declarations",
        "TRADEWATCH_TOPIC_ALERTS": f"{name}.alerts",
        "TRADEWATCH_TOPIC_DEAD_LETTER": f"{name}.dlq",
        "TRADEWATCH_TOPIC_CASES": f"{name}.cases",
        "TRADEWATCH_TOPIC_FEEDBACK": f"{name}.feedback",
        "TRADEWATCH_TOPIC_REFERENCE": f"{name}.reference",
        "TRADEWATCH_TOPIC_PARTITIONS": "3",
        "TRADEWATCH_METRICS_PORT": "6199",
        "TRADEWATCH_DATA_DIR": str(work / "state"),
        "TRADEWATCH_LOG_LEVEL": "warning",
    }
    documents = feed_lines(args.count, args.days)
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    producer = KafkaProducer(bootstrap_servers=args.broker.removeprefix("kafka://").split(";"))
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()
    sent = 0
    next_sample = started
    try:
        time.sleep(10)  # the worker's start-up
        began = time.monotonic()
        while time.monotonic() - began < args.minutes * 60:
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited with {worker.returncode}; see {log.name}")
            loop, index = divmod(sent, len(documents))
            value = moved(documents[index], loop, args.days)
            producer.send(env["TRADEWATCH_TOPIC_DECLARATIONS"], value)
            sent += 1
            due = began + sent / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                producer.flush()
                time.sleep(pause)
            now = time.monotonic()
            if now >= next_sample:
                samples.append((now - began, rss_mb(worker.pid), sent))
                next_sample = now + args.every
        producer.flush()
        samples.append((time.monotonic() - began, rss_mb(worker.pid), sent))
    finally:
        producer.close()
        worker.terminate()
        worker.wait(timeout=60)
    print(f"{'minute':>7} {'RSS MB':>8} {'sent':>9}")
    for seconds, rss, count in samples:
        print(f"{seconds / 60:>7.1f} {rss:>8.0f} {count:>9,}")
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    slope = (half[-1][1] - half[0][1]) / max((half[-1][0] - half[0][0]) / 60, 1e-9)
    verdict = "yes" if slope <= TARGET_MB_PER_MINUTE else "no"
    print(
        f"RSS growth over the second half: {slope:.2f} MB/min (target <= "
        f"{TARGET_MB_PER_MINUTE}) {verdict}; {sent:,} declarations at {args.rate:g}/s"
    )


if __name__ == "__main__":
    main()
