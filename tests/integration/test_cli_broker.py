"""The command line against the real broker: produce a file, follow alerts."""

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from schemas.alert import Alert
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import WorkerProcess, bootstrap, consume, worker_env


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **env},
    )


@pytest.mark.broker
def test_produce_file_then_follow_alerts(broker_url: str, unique_name: str, tmp_path: Path) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    feed = tmp_path / "feed.jsonl"
    declarations = [
        declaration_dict(declaration_id="P-1"),
        declaration_dict(
            declaration_id="P-2", hs_code="9303.20", goods_description="Hunting rifles AK-103"
        ),
        declaration_dict(declaration_id="P-3", goods_description="Оборудование связи"),
    ]
    feed.write_text(
        "\n".join(orjson.dumps(d).decode() for d in declarations) + "\n", encoding="utf-8"
    )

    assert run_cli(env, "topics").returncode == 0
    produced = run_cli(env, "produce", str(feed), "--quiet")
    assert produced.returncode == 0, produced.stderr
    assert "sent 3 declarations" in produced.stderr

    records = consume(broker_url, env["TRADEWATCH_TOPIC_DECLARATIONS"], until=lambda r: len(r) >= 3)
    assert sorted(r.key for r in records) == [b"P-1", b"P-2", b"P-3"]
    assert {orjson.loads(r.value)["declaration_id"] for r in records} == {"P-1", "P-2", "P-3"}

    with WorkerProcess(env, tmp_path / "worker.log"):
        followed = run_cli(env, "alerts", "--json", "--from-beginning", "--max", "1")
        readable = run_cli(env, "alerts", "--from-beginning", "--timeout", "3")
    assert followed.returncode == 0, followed.stderr
    [line] = followed.stdout.splitlines()
    alert = Alert.model_validate_json(line)
    assert alert.declaration_ids == ["P-2"]
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.startswith("CRITICAL")
    assert alert.alert_id in readable.stdout and "AK-103" in readable.stdout


@pytest.mark.broker
def test_produce_without_validation_sends_bad_lines_as_they_are(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    feed = tmp_path / "raw.jsonl"
    feed.write_bytes(b'{"declaration_id": "R-1"}\nnot json at all\n')
    assert run_cli(env, "topics").returncode == 0
    assert run_cli(env, "produce", str(feed), "--quiet").returncode == 1  # validation refuses it
    produced = run_cli(env, "produce", str(feed), "--quiet", "--no-validate")
    assert produced.returncode == 0, produced.stderr
    records = consume(broker_url, env["TRADEWATCH_TOPIC_DECLARATIONS"], until=lambda r: len(r) >= 2)
    assert sorted(r.value for r in records) == sorted(
        [b'{"declaration_id": "R-1"}', b"not json at all"]
    )


@pytest.mark.broker
def test_produce_to_a_missing_topic_says_so_in_one_line(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(orjson.dumps(declaration_dict()) + b"\n")
    produced = run_cli(env, "produce", str(feed), "--quiet", timeout=30)
    assert produced.returncode == 1
    assert produced.stderr.strip().splitlines() == [
        f"tradewatch: connecting to Kafka at {','.join(bootstrap(broker_url))} (PLAINTEXT)",
        f"tradewatch: error: topic {unique_name}.declarations does not exist; create it with "
        "`tradewatch topics` (or start a worker)",
    ]
