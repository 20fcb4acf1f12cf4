"""tradewatch generate and tradewatch backtest, through the command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tradewatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("feed")
    result = tradewatch(
        "generate",
        "--out",
        "feed.jsonl",
        "--count",
        "6000",
        "--days",
        "45",
        "--seed",
        "3",
        "--rate",
        "20",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    return folder / "feed.jsonl"


def test_generate_is_deterministic_and_labelled(feed: Path, tmp_path: Path) -> None:
    again = tradewatch(
        "generate",
        "--out",
        "again.jsonl",
        "--count",
        "6000",
        "--days",
        "45",
        "--seed",
        "3",
        "--rate",
        "20",
        cwd=tmp_path,
    )
    assert again.returncode == 0
    assert (tmp_path / "again.jsonl").read_bytes() == feed.read_bytes()
    lines = [json.loads(line) for line in feed.read_text().splitlines()]
    times = [d["declared_at"] for d in lines]
    assert times == sorted(times), "declared time runs forward"
    labels = [json.loads(line) for line in feed.with_name("feed.labels.jsonl").open()]
    kinds = {label["scenario"] for label in labels}
    assert kinds >= {
        "military_rifles_as_hunting",
        "drone_parts_repeated",
        "body_armour_via_turkey",
        "split_shipments",
        "volume_spike",
    }
    ids = {d["declaration_id"] for d in lines}
    assert all(set(label["declaration_ids"]) <= ids for label in labels)
    assert len(ids) == len(lines)


def test_backtest_scores_against_the_labels(feed: Path, tmp_path: Path) -> None:
    result = tradewatch(
        "backtest",
        str(feed),
        "--out",
        "alerts.jsonl",
        "--quiet",
        "--labels",
        str(feed.with_name("feed.labels.jsonl")),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").open()]
    assert alerts and len({a["alert_id"] for a in alerts}) == len(alerts)
    scores = {
        line.split()[0]: line.split()[1:]
        for line in result.stderr.splitlines()
        if line.split()
        and line.split()[0]
        in {"category_mismatch", "controlled_goods", "restricted_party", "transshipment"}
        and len(line.split()) == 5
    }
    for category, (_alerts, _expected, precision, recall) in scores.items():
        assert float(recall) == 1.0, (category, result.stderr)
        assert float(precision) >= 0.9, (category, result.stderr)


def test_backtest_a_vendor_csv_with_a_mapping(tmp_path: Path) -> None:
    result = tradewatch(
        "backtest",
        str(EXAMPLES / "vendor-export.csv"),
        "--mapping",
        str(EXAMPLES / "csv-mapping.json"),
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rules = {json.loads(line)["rule_id"] for line in result.stdout.splitlines()}
    assert {
        "category_mismatch.military_firearm",
        "category_mismatch.body_armour",
        "restricted_party.watchlist",
        "transshipment.diversion_route",
    } <= rules
    assert "line 6: hs_code" in result.stderr  # the bad row, by its line in the file
    assert "1 rejected" in result.stderr


def test_strict_stops_at_the_first_bad_row(tmp_path: Path) -> None:
    result = tradewatch(
        "backtest",
        str(EXAMPLES / "vendor-export.csv"),
        "--mapping",
        str(EXAMPLES / "csv-mapping.json"),
        "--strict",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "line 6" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "missing.jsonl", "--quiet"], "missing.jsonl: no such file"),
        (["backtest", str(EXAMPLES / "vendor-export.csv"), "--quiet"], "needs --mapping"),
        (["generate", "--out", "x.jsonl", "--start", "2025-13-40", "--seed", "1"], "YYYY-MM-DD"),
    ],
)
def test_bad_input_gives_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = tradewatch(*args, cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
