"""The ops console's entries and status line (tools/console.py), rendered as on a terminal."""

import io
from collections import Counter
from datetime import timedelta

import orjson
from rich.console import Console
from rich.text import Text

from alerts.cases import CaseBook
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from schemas.alert import AlertCategory, Severity
from tools.console import SHORT, OpsConsole, WorkerStatus, render_reject, render_status
from tools.demo import demo_templates
from tools.generate import DEFAULT_START, generate

CORE = Core.build(CoreOptions())
WIDTH = 120


def shown(text: Text) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=WIDTH, color_system=None).print(text)
    return out.getvalue().rstrip("\n").split("\n")


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_case_is_one_entry_shown_once_its_versions_stop() -> None:
    cqa = next(t for t in demo_templates() if t["declaration_id"] == "DEMO-CQA")
    laptop = next(t for t in demo_templates() if t["declaration_id"] == "DEMO-LAPTOP")
    alerts = OfflinePipeline(CORE).alerts([orjson.dumps(cqa), orjson.dumps(laptop)])
    assert len(alerts) >= 3  # the seed case: mismatch, controlled goods, listed party, ...
    book = CaseBook(CORE.scoring)
    versions = [c for c in (book.add(a) for a in alerts.values()) if c is not None]
    assert len(versions) == len(alerts)  # the case grows a finding at a time
    clock = Clock()
    declared = max(a.event_time for a in alerts.values())
    ops = OpsConsole(width=WIDTH, clock=clock, wall_clock=lambda: declared + timedelta(minutes=1))
    for case in versions:
        ops.add_case(case)
    assert ops.ready() == []  # more of its versions may still come
    clock.now = 1.5
    entries = ops.ready()

    assert len(entries) == 1
    lines = shown(entries[0])
    assert all(len(line) <= WIDTH for line in lines), lines
    assert lines[0].startswith("CRITICAL") and f"risk {versions[-1].risk_score:.2f}" in lines[0]
    assert f"event {declared.strftime('%H:%M:%S')} UTC" in lines[0]
    categories = {a.category.value for a in alerts.values()}
    assert all(SHORT[AlertCategory(c)] in lines[0] for c in categories), lines[0]
    # What the goods are leads; why it matters (controlled goods to RU) follows.
    assert lines[1].startswith("  Chinese QBZ/CQ-family (CQ-A) declared under HS"), lines
    assert any(line.startswith("  also: Military List item") for line in lines), lines
    assert "declaration DEMO-CQA" in lines[-1] and versions[-1].case_id in lines[-1]
    assert ops.cases == Counter({Severity.CRITICAL: 1})
    ops.add_case(versions[-1])  # a repeat shows nothing
    clock.now = 5.0
    assert ops.ready() == []


def test_a_reject_names_its_reason_and_source() -> None:
    from datetime import UTC, datetime

    headers = {
        "reason": "invalid",
        "error": "quantity: must be greater than 0",
        "source.topic": "customs.declarations",
        "source.partition": "2",
        "source.offset": "41",
    }
    line, error = shown(render_reject(headers, WIDTH, datetime(2026, 1, 1, tzinfo=UTC)))
    assert line.startswith("REJECTED arrived 00:00:00 UTC") and "invalid" in line
    assert "customs.declarations[2]@41" in line and "quantity: must be" in error


def test_the_status_line_reads_the_worker_metrics() -> None:
    page = "\n".join(
        [
            "# TYPE tradewatch_declarations_total counter",
            'tradewatch_declarations_total{outcome="ok"} 120.0',
            'tradewatch_declarations_total{outcome="rejected"} 4.0',
            "# TYPE tradewatch_partition_lag gauge",
            'tradewatch_partition_lag{topic="customs.declarations",partition="0"} 3.0',
            'tradewatch_partition_lag{topic="customs.declarations",partition="1"} 2.0',
            "",
        ]
    )
    earlier = WorkerStatus(reachable=True, screened=100.0, rejected=4.0, read_at=10.0)
    status = WorkerStatus.parse(page, earlier, now=12.0)
    assert (status.screened, status.rejected, status.lag, status.per_second) == (120, 4, 5, 10)
    cases = Counter({Severity.CRITICAL: 2, Severity.HIGH: 1})
    worker, tally = shown(render_status(status, cases, WIDTH))
    assert "10.0 declarations/s" in worker and "screened 120" in worker
    assert "rejected 4" in worker and "lag 5" in worker
    # Severity, then its count: "cases 2 critical 1 high" read as two cases of something.
    assert tally.strip() == "cases shown here: critical 2 · high 1"
    down = shown(render_status(WorkerStatus(), Counter(), WIDTH))
    assert [line.strip() for line in down] == [
        "worker: its metrics are not answering yet",
        "cases shown here: none yet",
    ]


def test_every_demo_case_fits_80_columns_and_leads_with_the_same_finding() -> None:
    from itertools import permutations

    from tools.console import lead_findings, render_banner, render_case

    narrow = 80
    feed, labels = io.StringIO(), io.StringIO()
    generate(feed, labels, count=3000, seed=5, days=20, start=DEFAULT_START, scenario_rate=40)
    lines_in = [line.encode() for line in feed.getvalue().splitlines()]
    lines_in += [orjson.dumps(t) for t in demo_templates()]
    book = CaseBook(CORE.scoring)
    for alert in OfflinePipeline(CORE).alerts(lines_in).values():
        book.add(alert)
    shapes = {}  # one case of each set of categories
    for case in book.latest():
        shapes.setdefault(tuple(case.categories), case)
    assert len(shapes) >= 5, sorted(shapes)
    for case in shapes.values():
        lines = shown_at(render_case(case, narrow), narrow)
        assert all(len(line) <= narrow for line in lines), lines
        lead, _ = lead_findings(case)
        assert lines[1].startswith("  " + lead.summary[:40]), (lines, lead.summary)
        if any(f.category is AlertCategory.CATEGORY_MISMATCH for f in case.findings):
            assert lead.category is AlertCategory.CATEGORY_MISMATCH
        for order in list(permutations(case.findings))[:24]:
            again = case.model_copy(update={"findings": list(order)})
            assert shown_at(render_case(again, narrow), narrow) == lines
    banner = shown_at(render_banner("http://127.0.0.1:6066/metrics", narrow), narrow)
    assert all(len(line) <= narrow for line in banner) and "event" in banner[1]


def shown_at(text: Text, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(text)
    return out.getvalue().rstrip("\n").split("\n")


def test_a_growing_series_is_shown_again_as_an_update_and_old_cases_as_a_count() -> None:
    from schemas.alert import Window

    feed, labels = io.StringIO(), io.StringIO()
    generate(feed, labels, count=8000, seed=3, days=45, start=DEFAULT_START, scenario_rate=40)
    found = OfflinePipeline(CORE).alerts(line.encode() for line in feed.getvalue().splitlines())
    window_alert = next(a for a in found.values() if a.window is not None)
    assert window_alert.window is not None
    day = timedelta(days=1)
    burst = [  # one burst crosses several overlapping windows of one subject
        window_alert.model_copy(
            update={
                "alert_id": f"{window_alert.alert_id}-{n}",
                "window": Window(
                    start=window_alert.window.start + n * day,
                    end=window_alert.window.end + n * day,
                ),
            }
        )
        for n in range(3)
    ]
    old = window_alert.model_copy(
        update={
            "alert_id": "old",
            "subject": window_alert.subject.model_copy(update={"key": "elsewhere"}),
            "event_time": window_alert.event_time - 3 * day,
        }
    )
    book = CaseBook(CORE.scoring)
    clock = Clock()
    ops = OpsConsole(width=WIDTH, clock=clock, wall_clock=lambda: window_alert.event_time)
    for alert in [*burst[:2], old]:
        ops.add_case(book.add(alert))  # type: ignore[arg-type]
    clock.now = 10.0
    entries = [shown(text) for text in ops.ready()]
    ops.add_case(book.add(burst[2]))  # type: ignore[arg-type]
    clock.now = 20.0
    updated = [shown(text) for text in ops.ready()]

    assert len(entries) == 2, entries
    assert entries[0][0].startswith(window_alert.severity.value.upper())
    assert "2 overlapping windows" in entries[0][-1], entries[0]
    assert entries[1][0].startswith("EARLIER  1 case so far"), entries[1]
    [update] = updated
    assert "3 overlapping windows" in update[-1] and "(updated, v3)" in update[0], update
    assert sum(ops.cases.values()) == 1
