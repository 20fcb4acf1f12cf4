"""The README and the program agree: every command of its shell blocks parses as the CLI
reads it (placeholders filled, each alternative tried), every setting it names exists, every
script, make target and benchmark it names is there, and its console sample is what the
console prints. tests/integration/test_readme_commands.py runs the blocks that can run here."""

import contextlib
import io
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from schemas.alert import Severity
from streams.cli import _referring, build_parser
from streams.settings import Settings
from tests.readme_blocks import README, ROOT, Command, commands, variants

COMMANDS = commands()
SETTINGS = {f"TRADEWATCH_{name.upper()}" for name in Settings.model_fields}
TEST_KNOBS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))


def parse(argv: list[str]) -> str | None:
    """None if the CLI's parser takes argv, else what it said."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(_referring(argv))
    except SystemExit as exit:
        if exit.code not in (0, None):
            return said.getvalue().strip() or f"exit {exit.code}"
    return None


def test_the_readme_blocks_are_read() -> None:
    programs = Counter(c.argv[0] for c in COMMANDS)
    assert programs["tradewatch"] >= 30 and programs["make"] >= 3, programs


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c.argv[0] == "tradewatch"], ids=lambda c: f"line{c.line}"
)
def test_every_tradewatch_command_of_the_readme_parses(command: Command) -> None:
    for argv in variants(command):
        said = parse(argv[1:])
        assert said is None, f"README.md:{command.line}: {' '.join(argv)}\n{said}"


def test_the_parse_check_can_fail() -> None:
    bad = Command(1, "tradewatch backtest PATH [--outfile FILE]", 0)
    assert any(parse(argv[1:]) for argv in variants(bad))
    assert parse(["feedback", "0" * 32, "--benign"]) is not None  # --reason is required


def test_every_setting_the_readme_sets_exists() -> None:
    named = {key for c in COMMANDS for key in c.env}
    named |= {
        c.argv[1].split("=")[0] for c in COMMANDS if c.argv[0] == "export" and len(c.argv) > 1
    }
    assert named
    for name in named:
        assert name in SETTINGS or re.search(rf"\b{name}\b", TEST_KNOBS), name


def test_every_make_target_script_and_benchmark_the_readme_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))
    for command in COMMANDS:
        for part in re.split(r"\s*&&\s*", " ".join(command.argv)):
            words = part.split()
            if words[0] == "make":
                assert words[1] in targets, f"README.md:{command.line}: no make target {words[1]}"
            elif words[0].startswith("scripts/"):
                assert (ROOT / words[0]).is_file(), f"README.md:{command.line}: {words[0]}"
            elif words[0] == ".venv/bin/python":
                assert (ROOT / words[1]).is_file(), f"README.md:{command.line}: {words[1]}"


def console_sample() -> str:
    """What the console shows for the CQ-A case of the demo, a reject and the status lines."""
    from alerts.cases import CaseBook
    from alerts.pipeline import Core, CoreOptions, OfflinePipeline
    from tools.console import (
        OpsConsole,
        WorkerStatus,
        render_banner,
        render_reject,
        render_status,
    )
    from tools.demo import demo_templates

    core = Core.build(CoreOptions())
    cqa = next(t for t in demo_templates() if t["declaration_id"] == "DEMO-CQA")
    declared = datetime(2026, 12, 7, 9, 14, 15, tzinfo=UTC)
    cqa = cqa | {"declaration_id": "DEMO-CQA-TP8LY9-000328", "declared_at": declared.isoformat()}
    book = CaseBook(core.scoring)
    ops = OpsConsole(width=80, clock=lambda: 10.0, wall_clock=lambda: declared)
    for alert in OfflinePipeline(core).alerts([orjson.dumps(cqa)]).values():
        ops.add_case(book.add(alert))  # type: ignore[arg-type]
    reject = {
        "reason": "invalid",
        "error": "hs_code: HS code '93O3.20' must be 6 to 10 ASCII digits 0-9, optionally "
        "grouped by dots or spaces",
        "source.topic": "customs.declarations",
        "source.partition": "0",
        "source.offset": "6134",
    }
    status = WorkerStatus(reachable=True, screened=6826, rejected=40, lag=0, per_second=2.0)
    shown = [
        render_banner("http://127.0.0.1:6066/metrics", 80),
        *ops.ready(everything=True),
        render_reject(reject, 80, declared.replace(second=17)),
        render_status(status, Counter({Severity.CRITICAL: 98, Severity.HIGH: 81}), 80),
    ]
    out = io.StringIO()
    for text in shown:
        Console(file=out, width=80, color_system=None).print(text)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def test_the_console_sample_is_what_the_console_prints() -> None:
    readme = README.read_text(encoding="utf-8")
    match = re.search(
        r"one entry per case \(the case id is what `tradewatch feedback` takes\):"
        r"\n\n```\n(.*?)\n```",
        readme,
        flags=re.S,
    )
    assert match, "the console sample is gone from the README"
    sample = "\n".join(line.rstrip() for line in match.group(1).splitlines())
    assert sample == console_sample(), (
        "README's console sample differs from what the console prints now:\n" + console_sample()
    )
    assert all(len(line) <= 80 for line in sample.splitlines())


def test_the_readme_names_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for path in set(
        re.findall(r"`((?:alerts|streams|ops|scripts|benchmarks|tests)/[\w./-]+)`", text)
    ):
        path = path.rstrip(".")
        if path == "benchmarks/results.json":
            continue  # what the benchmarks write
        assert Path(ROOT, path).exists() or any(ROOT.glob(path)), path
