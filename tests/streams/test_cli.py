import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import declaration_dict


def tradewatch(
    *args: str, env: dict[str, str] | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environment = {**os.environ, **(env or {})}
    # No broker is listening here: these failures must happen before any connection.
    environment["TRADEWATCH_BROKER_URL"] = "kafka://127.0.0.1:1"
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        input=input_text,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help_lists_commands() -> None:
    result = tradewatch("--help")
    assert result.returncode == 0
    for command in ("worker", "produce", "alerts", "topics", "demo-feed"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["frobnicate"], "invalid choice"),
        (["produce"], "required"),
        (["produce", "x.jsonl", "--rate", "-5"], "greater than 0"),
        (["alerts", "--max", "zero"], "whole number"),
    ],
)
def test_bad_flags_give_one_line(args: list[str], mentions: str) -> None:
    result = tradewatch(*args)
    assert result.returncode == 2
    assert mentions in one_error_line(result)


def test_missing_file(tmp_path: Path) -> None:
    result = tradewatch("produce", str(tmp_path / "absent.jsonl"))
    assert result.returncode == 1
    assert "No such file" in one_error_line(result)


def test_bad_line_is_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    good = orjson.dumps(declaration_dict()).decode()
    bad = orjson.dumps(declaration_dict(quantity=-2)).decode()
    path.write_text(f"{good}\n\n{good}\n{bad}\n", encoding="utf-8")
    result = tradewatch("produce", str(path))
    assert result.returncode == 1
    line = one_error_line(result)
    assert "line 4" in line and "quantity" in line


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TRADEWATCH_TOPIC_PARTITIONS": "0"}, "TRADEWATCH_TOPIC_PARTITIONS=0: must be at least 1"),
        (
            {"TRADEWATCH_WINDOW_MIN_HISTORY_WINDOWS": "30"},
            "TRADEWATCH_WINDOW_MIN_HISTORY_WINDOWS=30: must be at most "
            "TRADEWATCH_WINDOW_BASELINE_WINDOWS (28)",
        ),
        (
            {"TRADEWATCH_WINDOW_HOPPING_STEP_DAYS": "9"},
            "TRADEWATCH_WINDOW_HOPPING_STEP_DAYS=9: must be between 1 and "
            "TRADEWATCH_WINDOW_HOPPING_DAYS (7)",
        ),
        ({"TRADEWATCH_STORE": "redis://x"}, "TRADEWATCH_STORE=redis://x: must be memory://"),
    ],
)
def test_bad_setting_gives_one_line(env: dict[str, str], expected: str) -> None:
    result = tradewatch("topics", env=env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert expected in line and "Value error" not in line, line


def test_misspelt_setting_is_warned_about() -> None:
    result = tradewatch("backtest", "absent.jsonl", env={"TRADEWATCH_TOPIC_PARTITION": "3"})
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "tradewatch: warning: TRADEWATCH_TOPIC_PARTITION is not a tradewatch setting and is "
        "ignored; did you mean TRADEWATCH_TOPIC_PARTITIONS?"
    ]


def test_worker_refuses_broken_reference_data(tmp_path: Path) -> None:
    import shutil

    from alerts.reference import DEFAULT_REFERENCE_DIR

    shutil.copytree(DEFAULT_REFERENCE_DIR, tmp_path / "reference")
    broken = tmp_path / "reference" / "end_use.jsonl"
    lines = broken.read_text(encoding="utf-8").splitlines()
    lines[3] = '{"group": "civilian_claim", "language": "fr", "term": "civil"}'
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = tradewatch("worker", env={"TRADEWATCH_REFERENCE_DIR": str(tmp_path / "reference")})
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"{broken}:4:" in line and "language" in line


def test_worker_refuses_missing_watchlist(tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    result = tradewatch("worker", env={"TRADEWATCH_WATCHLISTS": str(missing)})
    assert result.returncode == 1
    assert str(missing) in one_error_line(result)


@pytest.mark.parametrize(
    "args",
    [["topics"], ["alerts", "--max", "1"], ["demo-feed", "--count", "1"], ["produce", "FEED"]],
)
def test_without_a_broker_a_command_says_where_it_connects_and_gives_up_with_a_hint(
    tmp_path: Path, args: list[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(orjson.dumps(declaration_dict()).decode() + "\n", encoding="utf-8")
    args = [str(feed) if a == "FEED" else a for a in args]
    result = tradewatch(*args, env={"TRADEWATCH_CONNECT_TIMEOUT_SECONDS": "1"})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == "tradewatch: connecting to Kafka at 127.0.0.1:1 (PLAINTEXT)", lines
    assert lines[-1].startswith("tradewatch: error: cannot reach Kafka at 127.0.0.1:1"), lines
    assert "no answer in 1 s" in lines[-1] and "make broker-start" in lines[-1], lines
    assert len(lines) == 2, lines


def test_a_worker_without_a_broker_keeps_trying_and_says_so() -> None:
    import os

    environment = {
        **os.environ,
        "TRADEWATCH_BROKER_URL": "kafka://127.0.0.1:1",
        "TRADEWATCH_CONNECT_TIMEOUT_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker"],
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    seen: list[str] = []
    try:
        assert worker.stderr is not None
        for line in worker.stderr:
            seen.append(line.rstrip())
            if sum("trying again" in x for x in seen) == 2:
                break
    finally:
        worker.kill()
        worker.wait(timeout=30)
    retries = [x for x in seen if "trying again" in x]
    assert seen[0] == "tradewatch: connecting to Kafka at 127.0.0.1:1 (PLAINTEXT)", seen
    assert len(retries) == 2 and "(attempt 2)" in retries[1], seen
    assert worker.returncode == -9  # still running until it was killed


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["backtest", "{feed}", "--out", "{tmp}/missing/alerts.jsonl"], "does not exist"),
        (["backtest", "{feed}", "--cases", "{tmp}/missing/cases.jsonl"], "does not exist"),
        (["backtest", "{feed}", "--cases", "{tmp}"], "is a folder"),
        (["generate", "--out", "{tmp}/missing/feed.jsonl"], "does not exist"),
    ],
)
def test_an_output_into_a_missing_folder_is_refused_before_any_work(
    tmp_path: Path, args: list[str], mentions: str
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(orjson.dumps(declaration_dict()) + b"\n")
    result = tradewatch(*(a.format(feed=feed, tmp=tmp_path) for a in args))
    assert result.returncode == 2
    assert mentions in one_error_line(result)
    assert not (tmp_path / "missing").exists()


def test_the_version_is_the_package_version() -> None:
    from importlib.metadata import version

    result = tradewatch("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tradewatch {version('tradewatch')}"


def test_the_help_points_at_the_installed_example_mapping() -> None:
    from streams.cli import EXAMPLES

    result = tradewatch("backtest", "--help")
    assert str(EXAMPLES / "csv-mapping.json") in result.stdout  # a path is never wrapped
    assert (EXAMPLES / "csv-mapping.json").is_file() and (EXAMPLES / "vendor-export.csv").is_file()
