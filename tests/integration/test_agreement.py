"""Live and offline agree: one generated feed through the real broker and through backtest."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    create_topic,
    generate,
    offline_alerts,
    produce,
    wait_until_drained,
    worker_env,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.broker
def test_generated_feed_gives_the_same_alerts_live_and_offline(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "generate",
            "--out",
            str(tmp_path / "feed.jsonl"),
            "--count",
            "4000",
            "--days",
            "45",
            "--seed",
            "11",
            "--rate",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert generated.returncode == 0, generated.stderr
    lines = (tmp_path / "feed.jsonl").read_bytes().splitlines()

    # Offline: the backtest command.
    offline = subprocess.run(
        [sys.executable, "-m", "streams", "backtest", str(tmp_path / "feed.jsonl"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert offline.returncode == 0, offline.stderr
    offline_ids = {json.loads(line)["alert_id"] for line in io.StringIO(offline.stdout)}
    offline_rules = {json.loads(line)["rule_id"] for line in io.StringIO(offline.stdout)}
    assert len(offline_rules) >= 6, offline_rules  # most rule families are in the feed

    # Live: the worker on the real broker, one input partition in file order.
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)
    produce(broker_url, topic, [(None, line) for line in lines])
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until_drained(worker, len(lines), timeout_s=240)
    records = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda r: {x.key.decode() for x in r} >= offline_ids,
    )
    live_ids = {r.key.decode() for r in records}

    assert live_ids == offline_ids


@pytest.mark.broker
def test_a_bulk_replay_on_six_partitions_gives_the_alerts_of_one(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    """Read partition by partition, one partition's days run ahead of another's and the
    windows see declarations late that were not: the worker merges its partitions in timestamp
    order, so the partitioning of a replay changes no alert (README: "Partitions")."""
    lines = generate(tmp_path, count=8000, days=45, seed=17, rate=40)
    offline = set(offline_alerts(lines))
    assert len(offline) > 30

    env = worker_env(broker_url, unique_name, tmp_path / "state")
    env["TRADEWATCH_TOPIC_PARTITIONS"] = "6"
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 6)
    sent = produce(broker_url, topic, [(f"k{i}".encode(), line) for i, line in enumerate(lines)])
    assert len({m.partition for m in sent}) == 6
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until_drained(worker, len(lines), timeout_s=300)
    records = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda r: {x.key.decode() for x in r} >= offline,
        timeout_s=30,
    )
    live = {r.key.decode() for r in records}

    assert live == offline, (sorted(offline - live)[:5], sorted(live - offline)[:5])
