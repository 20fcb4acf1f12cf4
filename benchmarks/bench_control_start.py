"""A worker's start with many suppressions in force: how long until it screens?

    python -m benchmarks.bench_control_start --broker kafka://127.0.0.1:19092 --rulings 120000

`--rulings` suppressions in force (each an `active` ruling on `<app_id>-decisions`, as the review
agent writes them, each for its own importer) are on the topic before a worker starts; one
declaration is on the input topic too. Printed beside their targets: how long until `/readyz`
answers 200 (it waits until the worker has read both control topics), and until the
declaration's alerts are on the alert topic. The issue measured 285 s to the first screened
declaration at 120,000, with `/readyz` ready from 5 s: readiness must not come before the
suppressions are in force, and screening must start within a minute.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer

from alerts.feedback import Ruling, Status
from schemas.feedback import Decision, Feedback, Role, Suppression
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import WorkerProcess, bootstrap, metric, scrape, worker_env

TARGET_SCREENED_S = 60.0
RULES = ["category_mismatch.military_firearm", "controlled_goods.restricted_destination"]


def ruling(number: int, now: datetime) -> bytes:
    feedback = Feedback(
        feedback_id=f"bench-{number}",
        case_id=f"{number:032x}",
        decision=Decision.BENIGN,
        reason="bench",
        analyst="bench",
        role=Role.SUPERVISOR,
        decided_at=now,
        suppression=Suppression(
            rule_ids=RULES,
            match={"importer": f"ru:importer {number}"},
            starts_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=20),
        ),
    )
    return Ruling(feedback, Status.ACTIVE, "", "bench").encode()


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="kafka://127.0.0.1:9092")
    parser.add_argument("--rulings", type=int, default=120_000)
    args = parser.parse_args()
    name = f"cs{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-control-start-") as folder:
        env = worker_env(args.broker, name, Path(folder) / "state")
        os.environ.update(env)
        settings = Settings()
        ensure_topics(settings)
        now = datetime.now(UTC)
        producer = KafkaProducer(bootstrap_servers=bootstrap(args.broker), acks="all", linger_ms=20)
        started = time.perf_counter()
        for number in range(args.rulings):
            producer.send(
                settings.decisions_topic, key=f"bench-{number}".encode(), value=ruling(number, now)
            )
        declaration = declaration_dict(
            declaration_id="AFTER-START",
            declared_at=now.isoformat(),
            hs_code="930320",
            goods_description="Карабины охотничьи CQ-A калибр 5,56 мм",
            destination_country="RU",
        )
        producer.send(env["TRADEWATCH_TOPIC_DECLARATIONS"], value=orjson.dumps(declaration))
        producer.flush(timeout=120)
        producer.close()
        print(f"{args.rulings:,} rulings sent in {time.perf_counter() - started:.1f} s")
        readyz = f"http://127.0.0.1:{env['TRADEWATCH_METRICS_PORT']}/readyz"
        consumer = KafkaConsumer(
            env["TRADEWATCH_TOPIC_ALERTS"],
            bootstrap_servers=bootstrap(args.broker),
            group_id=None,
            auto_offset_reset="earliest",
        )
        start = time.monotonic()
        ready_at = screened_at = None
        with WorkerProcess(env, Path(folder) / "worker.log") as worker:
            while (screened_at is None or ready_at is None) and time.monotonic() - start < 900:
                if ready_at is None and ready(readyz):
                    ready_at = time.monotonic() - start
                for batch in consumer.poll(timeout_ms=200).values():
                    if any(b"AFTER-START" in record.value for record in batch):
                        screened_at = time.monotonic() - start
            in_force = metric(scrape(worker.metrics_url), "tradewatch_suppressions")
            worker.stop()
        consumer.close()
    print(f"suppressions in force: {in_force:,.0f} of {args.rulings:,}")
    print(f"/readyz 200 after {ready_at if ready_at is None else round(ready_at, 1)} s")
    verdict = (
        "yes"
        if screened_at is not None and screened_at <= TARGET_SCREENED_S and in_force == args.rulings
        else "no"
    )
    shown = "never" if screened_at is None else f"{screened_at:.1f} s"
    print(
        f"first declaration screened after {shown} (target <= {TARGET_SCREENED_S:.0f} s) {verdict}"
    )
    print(json.dumps({"rulings": args.rulings, "ready_s": ready_at, "screened_s": screened_at}))
    sys.exit(0 if verdict == "yes" else 1)


if __name__ == "__main__":
    main()
