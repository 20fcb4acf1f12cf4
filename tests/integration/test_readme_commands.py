"""The README's command blocks that can run here, run as written: from a folder holding the
paths they name, with the project's `tradewatch` on the PATH (as after `source
.venv/bin/activate`), against the test broker with topics of the test's own."""

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.readme_blocks import ROOT, Command, blocks, commands


def block_with(first_words: str) -> list[Command]:
    [block] = [b for b in blocks().values() if b[0].text.startswith(first_words)]
    return block


def run(command: Command, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command.text,
        shell=True,
        cwd=cwd,
        env=env | command.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"README.md:{command.line}: `{command.text}` exited {result.returncode}\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    )
    return result


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder with the repository's paths the README names (read only use)."""
    for name in ("alerts", "streams", "tools"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.fixture
def env(broker_url: str, unique_name: str, tmp_path: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TRADEWATCH_BROKER_URL": broker_url,
        "TRADEWATCH_APP_ID": unique_name,
        "TRADEWATCH_TOPIC_REFERENCE": f"{unique_name}.reference",
        "TRADEWATCH_DATA_DIR": str(tmp_path / "state"),
        "TRADEWATCH_ANALYST": "readme-test",
    }


@pytest.mark.broker
def test_the_synthetic_feed_and_backtest_blocks_run_as_written(
    folder: Path, env: dict[str, str]
) -> None:
    feed = block_with("tradewatch generate")
    assert [c.argv[1] for c in feed] == ["generate", "backtest", "backtest"]
    outputs = [run(command, folder, env) for command in feed]
    lines = (folder / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    count = int(re.search(r"--count (\d+)", feed[0].text).group(1))  # type: ignore[union-attr]
    # --count is the background declarations: each day's number is drawn around its share.
    assert abs(len(lines) - count) < count * 0.02
    assert (folder / "feed.labels.jsonl").stat().st_size > 0
    alerts = [orjson.loads(x) for x in (folder / "alerts.jsonl").read_text().splitlines()]
    assert alerts and {"alert_id", "rule_id", "severity"} <= set(alerts[0])
    assert "recall" in outputs[1].stdout + outputs[1].stderr  # the labels were scored
    # What the README says the example export ends with.
    assert "rejected rows: invalid 1" in outputs[2].stdout + outputs[2].stderr

    [cases_command] = block_with("tradewatch backtest feed.jsonl --out alerts.jsonl --cases")
    run(cases_command, folder, env)
    cases = [orjson.loads(x) for x in (folder / "cases.jsonl").read_text().splitlines()]
    assert cases and all(c["findings"] for c in cases)


@pytest.mark.broker
def test_the_reference_publish_and_status_lines_run_as_written(
    folder: Path, env: dict[str, str]
) -> None:
    block = block_with("tradewatch reference publish")
    publish, status = block[0], block[1]
    assert (publish.argv[2], status.argv[2]) == ("publish", "status")
    # The topics exist where a worker ran once, or after `tradewatch topics` (README: Command line).
    [topics] = [c for c in commands() if c.text == "tradewatch topics"]
    run(topics, folder, env)
    said = run(publish, folder, env).stdout
    # The README shows the output line under the command: it is what the command prints.
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    shown = readme[publish.line]  # the line after the command
    assert shown.startswith("published "), shown
    expected = shown.replace("customs.reference", env["TRADEWATCH_TOPIC_REFERENCE"])
    assert expected in said, f"README.md:{publish.line + 1} shows {shown!r}; it printed {said!r}"
    table = run(status, folder, env).stdout
    name_version = re.search(r"published (\S+)@(\S+) ", shown)
    assert name_version and name_version.group(1) in table and name_version.group(2) in table
