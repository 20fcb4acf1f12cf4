"""kill -9 in the middle of a look back, at a seeded random moment: the worker that starts over
resumes from the progress written with the window table, and the retro findings on the alert
topic are exactly those `tradewatch backtest --list-change` gives (repeats allowed, none lost)."""

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    metric,
    produce,
    scrape,
    wait_for_metric,
    worker_env,
)
from tests.integration.test_cli_broker import run_cli
from tests.integration.test_reference_broker import backtest_retro_ids
from tests.streams.test_reference_stream import WATCHLIST

SEED = int(os.environ.get("TRADEWATCH_RELIABILITY_SEED", "1001"))
PARTIES = 120


def firm(n: int) -> str:
    return f"OOO Zavod Nomer {n} Severnyi"


def history() -> list[bytes]:
    now = datetime.now(UTC)
    return [
        orjson.dumps(
            declaration_dict(
                declaration_id=f"PAST-{n}",
                declared_at=(now - timedelta(days=5 + n % 20)).isoformat(),
                importer={"name": firm(n), "country": "RU"},
                hs_code="8471.30",
                goods_description="Laptops",
            )
        )
        for n in range(PARTIES)
    ]


def listing(path: Path) -> Path:
    lines = WATCHLIST.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) | {"version": "2026.12.9"}
    added = [
        json.dumps({"id": f"tw-firm-{n}", "name": firm(n), "country": "RU", "program": "test"})
        for n in range(PARTIES)
    ]
    path.write_text("\n".join([json.dumps(header), *lines[1:], *added]) + "\n", encoding="utf-8")
    return path


@pytest.mark.broker
def test_a_look_back_killed_midway_loses_no_finding(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    env = worker_env(broker_url, unique_name, tmp_path / "state", TRADEWATCH_RETRO_STEP="3")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    messages = history()
    watchlist = listing(tmp_path / "watchlist_default.jsonl")
    with WorkerProcess(env, tmp_path / "first.log") as worker:
        produce(broker_url, topic, [(None, raw) for raw in messages])
        wait_for_metric(
            worker.metrics_url,
            "tradewatch_window_observations_total",
            2 * PARTIES,
            dimension="party",
            outcome="counted",
        )
        published_at = datetime.now(UTC)
        assert run_cli(env, "reference", "publish", str(watchlist)).returncode == 0
        deadline = time.monotonic() + 60
        while metric(scrape(worker.metrics_url), "tradewatch_retro_parties_total") < 1:
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 3.0))  # somewhere in the look back (40 steps of 3)
        scanned = metric(scrape(worker.metrics_url), "tradewatch_retro_parties_total")
        assert worker.process is not None
        worker.process.kill()
        worker.process.wait(timeout=10)
    print(f"seed {SEED}: killed after {scanned:.0f} of {PARTIES} parties", flush=True)

    with WorkerProcess(env, tmp_path / "second.log") as worker:
        deadline = time.monotonic() + 120
        while True:
            samples = scrape(worker.metrics_url)
            if (
                metric(samples, "tradewatch_retro_parties_total") > 0
                and metric(samples, "tradewatch_retro_pending_parties") == 0
            ):
                break
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.3)
        assert worker.stop() == 0, worker.log_tail()

    wanted = backtest_retro_ids(env, tmp_path, messages, watchlist, published_at)
    assert len(wanted) == PARTIES
    found = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda rs: {r.key.decode() for r in rs} >= wanted,
    )
    retro = {r.key.decode() for r in found if b"restricted_party.retro" in r.value}
    assert retro == wanted, (
        f"seed {SEED}: missing {len(wanted - retro)}, extra {len(retro - wanted)}"
    )
