"""tradewatch generate and tradewatch backtest, through the command line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "tools" / "examples"


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


def test_backtest_applies_recorded_decisions_as_live(feed: Path, tmp_path: Path) -> None:
    """A benign decision with a suppression, replayed: the suppressed case's findings are
    marked and open no case, and precision by rule is reported."""
    from datetime import timedelta

    from schemas.case import Case
    from schemas.feedback import Decision, Role
    from streams.feedback import decide

    first = tradewatch(
        "backtest", str(feed), "--quiet", "--out", "a.jsonl", "--cases", "c.jsonl", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    cases = [Case.model_validate_json(line) for line in (tmp_path / "c.jsonl").open()]
    series = next(c for c in cases if "series" in c.scope)
    declared = next(c for c in cases if "exporter" in c.scope)
    decisions = [
        decide(
            series.case_id,
            Decision.BENIGN,
            "seasonal",
            "j.doe",
            series,
            suppress_days=60,
            now=series.first_event_time - timedelta(days=30),
            role=Role.SUPERVISOR,  # 60 days: a supervisor's decision
        ),
        decide(declared.case_id, Decision.CONFIRMED, "true", "j.doe"),
    ]
    (tmp_path / "decisions.jsonl").write_text(
        "".join(d.model_dump_json() + "\n" for d in decisions)
    )
    replay = tradewatch(
        "backtest",
        str(feed),
        "--quiet",
        "--out",
        "a2.jsonl",
        "--cases",
        "c2.jsonl",
        "--feedback",
        "decisions.jsonl",
        cwd=tmp_path,
    )
    assert replay.returncode == 0, replay.stderr
    alerts = [json.loads(line) for line in (tmp_path / "a2.jsonl").open()]
    silenced = [a for a in alerts if a["suppressed_by"] == decisions[0].feedback_id]
    assert silenced and all(a["scope"] == series.scope for a in silenced)
    replayed = {json.loads(line)["case_id"] for line in (tmp_path / "c2.jsonl").open()}
    assert replayed == {c.case_id for c in cases} - {series.case_id}
    assert f"({len(silenced)} suppressed)" in replay.stderr
    rule = declared.findings[0].rule_id
    [row] = [line.split() for line in replay.stderr.splitlines() if line.startswith(rule + " ")]
    assert row[1:] == ["1", "0", "1.00"], replay.stderr


def test_a_bad_decisions_file_is_refused_with_its_line(feed: Path, tmp_path: Path) -> None:
    (tmp_path / "decisions.jsonl").write_text('{"decision": "benign"}\n')
    result = tradewatch(
        "backtest", str(feed), "--quiet", "--feedback", "decisions.jsonl", cwd=tmp_path
    )
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert "decisions.jsonl, line 1: " in line and "Field required" in line, line


def test_backtest_on_several_processes_gives_what_one_gives(feed: Path, tmp_path: Path) -> None:
    # Batches screened in other processes, the window stage split by key partition over two and
    # three more: the same alerts in the same order, the same cases and the same bad rows as one
    # process (detected_at is the clock).
    lines = feed.read_bytes().splitlines()
    lines[100:100] = [b'{"declaration_id": "broken"', b"not json at all"]  # two bad rows
    (tmp_path / "with-bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    runs = {}
    for jobs in ("1", "2", "3"):
        result = tradewatch(
            "backtest", "with-bad.jsonl", "--out", f"alerts-{jobs}.jsonl", "--cases",
            f"cases-{jobs}.jsonl", "--jobs", jobs, "--quiet", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        alerts = [json.loads(line) for line in (tmp_path / f"alerts-{jobs}.jsonl").open()]
        cases = [json.loads(line) for line in (tmp_path / f"cases-{jobs}.jsonl").open()]
        for alert in alerts:
            del alert["detected_at"]
        summary = re.sub(r" in [0-9.]+ s \([0-9,]+/s\)", "", result.stderr)  # the time it took
        runs[jobs] = (alerts, sorted(c["case_id"] for c in cases), summary)
    one = runs["1"]
    assert len(one[0]) > 20, "the feed has alerts to compare"
    assert {a["category"] for a in one[0]} >= {"volume_anomaly", "restricted_party"}
    assert "line 101" in one[2] and "line 102" in one[2]
    for jobs in ("2", "3"):
        alerts, case_ids, summary = runs[jobs]
        assert alerts == one[0], jobs
        assert case_ids == one[1] and one[1], jobs
        assert summary == one[2], jobs  # the summary: counts by rule, rejections and lines


@pytest.mark.parametrize("batch_size", [1000, 7000])
def test_a_parallel_backtest_keeps_one_process_order_in_large_batches(
    feed: Path, tmp_path: Path, batch_size: int
) -> None:
    # A batch holding the whole feed gives window alerts of many keys of several parts: they
    # come back in the order one process's window stage made them, and so do their cases.
    import io

    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    runs = {}
    for jobs in (1, 3):
        out = io.StringIO()
        result = module.backtest(
            read_lines(feed), Settings(data_dir=tmp_path / str(jobs)), out,
            cases=True, jobs=jobs, batch_size=batch_size,
        )  # fmt: skip
        ids = [json.loads(line)["alert_id"] for line in out.getvalue().splitlines()]
        runs[jobs] = (ids, [case.case_id for case in result.cases])
    assert len(runs[1][0]) > 20 and len(runs[1][1]) > 5
    assert runs[3] == runs[1]


def test_a_parallel_backtest_splits_a_batch_by_the_partition_of_its_keys(feed: Path) -> None:
    # Each part gets the observations of the keys Kafka's partitioner gives it, in the batch's
    # order, with the place of each of its keys in the batch's key order (by first appearance).
    import tempfile

    from alerts.windows.observations import Frame
    from streams.offline import offline_pipeline
    from streams.partitioning import partition_of
    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    batch = [(raw, number) for number, raw in read_lines(feed)][:500]
    with tempfile.TemporaryDirectory() as folder:
        pipeline = offline_pipeline(Settings(data_dir=Path(folder)), None)
    whole = pipeline.screen_batch(batch).frames[0]
    order = list(whole.by_key())
    module._SCREENING = pipeline
    try:
        done = module._screen(batch, 3)
    finally:
        module._SCREENING = None
    assert done.start_ms == whole.stream_start_ms
    assert sorted(done.parts) == [0, 1, 2], "500 declarations reach every part"
    seen = []
    for part, (raw, places) in done.parts.items():
        frame = Frame.decode(raw)
        keys = list(frame.by_key())
        assert {partition_of(key, 3) for key in keys} == {part}
        assert [order[place] for place in places] == keys
        kept = [o for o in whole.observations if partition_of(o.table_key, 3) == part]
        assert frame.observations == kept
        seen += keys
    assert sorted(seen) == sorted(order)


def test_a_window_part_starts_its_stream_where_the_replay_starts(
    feed: Path, tmp_path: Path
) -> None:
    # A part's first frame may come from a batch days after the replay's first: its keys must
    # still be judged new or not from where one process's stream started.
    import queue

    from streams.offline import offline_pipeline
    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    pipeline = offline_pipeline(Settings(data_dir=tmp_path), None)
    frame = pipeline.screen_batch([(raw, n) for n, raw in read_lines(feed)][-50:]).frames[0]
    replay_start = frame.stream_start_ms - 20 * 86_400_000
    inbox: queue.Queue[bytes] = queue.Queue()
    outbox: queue.Queue[object] = queue.Queue()
    inbox.put(module._part_message(replay_start, frame.encode()))
    inbox.put(b"")
    module._SCREENING = pipeline
    try:
        module._run_part(inbox, outbox)
    finally:
        module._SCREENING = None
    assert pipeline.store.starts == {0: replay_start}
    assert isinstance(outbox.get_nowait(), module.PartResult)
    assert outbox.empty()


def test_a_window_part_that_dies_stops_the_backtest(
    feed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A part that stops (killed, out of memory) must fail the replay, not hang it or drop the
    # alerts of its keys.
    import io
    import os

    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    def dies(inbox: object, outbox: object) -> None:
        os._exit(3)

    monkeypatch.setattr(module, "_run_part", dies)
    with pytest.raises(RuntimeError, match=r"window part \d stopped \(exit code 3\)"):
        module.backtest(read_lines(feed), Settings(data_dir=tmp_path), io.StringIO(), jobs=2)


def test_a_window_part_that_fails_gives_its_error_to_the_backtest(
    feed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from alerts.pipeline import WindowStage
    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    def broken(*_: object) -> None:
        raise MemoryError("no room for the window state")

    monkeypatch.setattr(WindowStage, "apply", broken)
    with pytest.raises(MemoryError, match="no room"):
        module.backtest(read_lines(feed), Settings(data_dir=tmp_path), io.StringIO(), jobs=2)


def test_backtest_falls_back_to_one_process_where_processes_cannot_share_locks(
    feed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Some containers have no shared memory for a process pool's locks (the image check runs
    # in one): the backtest says so and runs in one process, with the same alerts.
    import io

    from streams.produce import read_lines
    from streams.settings import Settings
    from tools import backtest as module

    def no_shared_memory(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    settings = Settings(data_dir=tmp_path)
    alone = io.StringIO()
    module.backtest(read_lines(feed), settings, alone, jobs=1)
    monkeypatch.setattr(module, "_Parallel", no_shared_memory)
    fallen_back = io.StringIO()
    result = module.backtest(read_lines(feed), settings, fallen_back, jobs=2)
    ids = [json.loads(line)["alert_id"] for line in alone.getvalue().splitlines()]
    assert (
        ids
        and [json.loads(line)["alert_id"] for line in fallen_back.getvalue().splitlines()] == ids
    )
    assert result.read == len(feed.read_bytes().splitlines())
    assert "one process" in caplog.text
