from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.cases import CaseBook, CaseScoring
from alerts.reference import ReferenceData
from schemas.alert import Alert, AlertCategory, Severity, Subject, Window
from schemas.case import Case
from tests.alerts.rules.helpers import ENGINE, party
from tests.conftest import declaration_record

SCORING = CaseScoring.load(ReferenceData.load())
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def window_alert(day: int, rule: str = "volume_anomaly.window", **extra: Any) -> Alert:
    start = T0 + timedelta(days=day)
    return Alert(
        alert_id=f"{rule}-{day}",
        rule_id=rule,
        rule_version="2",
        category=AlertCategory(rule.split(".")[0]),
        severity=extra.pop("severity", Severity.MEDIUM),
        summary="burst",
        declaration_ids=[f"D-{day}"],
        subject=Subject(kind="importer_heading", key="ru:promtekh|8471", label="Promtekh × 8471"),
        evidence={},
        window=Window(start=start, end=start + timedelta(days=7)),
        event_time=start + timedelta(days=6),
        detected_at=start + timedelta(days=6),
        reference_data_version="x@1",
        **extra,
    )


def cases_of(alerts: list[Alert]) -> tuple[CaseBook, list[Case]]:
    book = CaseBook(SCORING)
    published = [c for c in (book.add(a) for a in alerts) if c is not None]
    return book, published


def test_the_seed_rifles_make_one_case_scored_above_any_one_finding() -> None:
    alerts = ENGINE.screen(
        declaration_record(
            hs_code="930320",
            goods_description="Карабины охотничьи CQ-A калибр 5,56 мм",
            exporter=party("China North Industries Corporation", "CN"),
            dispatch_country="KZ",
        )
    )
    assert len({a.category for a in alerts}) >= 4
    book, published = cases_of(alerts)
    [case] = book.latest()
    assert case.version == len(alerts) == len(published)
    assert {f.alert_id for f in case.findings} == {a.alert_id for a in alerts}
    single = max(SCORING.weight(a.category, a.severity) for a in alerts)
    assert case.risk_score > single
    assert case.severity is Severity.CRITICAL
    # The reasons add up to the score, strongest category first.
    assert sum(r.contribution for r in case.risk_reasons) == pytest.approx(case.risk_score, 1e-3)
    assert case.risk_reasons[0].weight == single


def test_a_burst_over_hopping_windows_is_one_case_updated() -> None:
    book, published = cases_of([window_alert(day) for day in range(7)])
    [case] = book.latest()
    assert [c.version for c in published] == list(range(1, 8))
    assert {c.case_id for c in published} == {case.case_id}
    assert len(case.findings) == 7 and case.declaration_ids == [f"D-{d}" for d in range(7)]


def test_the_same_subject_weeks_later_is_a_new_case() -> None:
    book, _ = cases_of([window_alert(0), window_alert(1), window_alert(30)])
    first, second = book.latest()
    assert len(first.findings) == 2 and len(second.findings) == 1
    assert first.case_id != second.case_id


def test_a_repeated_alert_changes_nothing() -> None:
    book = CaseBook(SCORING)
    assert book.add(window_alert(0)) is not None
    assert book.add(window_alert(0)) is None  # replayed after a crash: same alert id
    [case] = book.latest()
    assert case.version == 1


def test_case_ids_depend_on_the_subject_not_on_the_run() -> None:
    one, _ = cases_of([window_alert(0), window_alert(1)])
    other, _ = cases_of([window_alert(0), window_alert(1)])
    assert [c.case_id for c in one.latest()] == [c.case_id for c in other.latest()]


def test_a_stronger_finding_raises_the_score_and_says_why() -> None:
    _, published = cases_of(
        [window_alert(0), window_alert(1, rule="split_shipments.window", severity=Severity.HIGH)]
    )
    assert published[1].risk_score > published[0].risk_score
    assert {r.category for r in published[1].risk_reasons} == {
        AlertCategory.VOLUME_ANOMALY,
        AlertCategory.SPLIT_SHIPMENTS,
    }


def test_the_dataflow_builds_the_cases_folding_its_alerts_gives() -> None:
    """The worker builds a declaration's case as it screens it and keeps each key's open case
    in its window state; folding the alerts they published, in order, gives the same cases. On
    a generated feed with bursts and splits the two give the same cases, of both kinds."""
    import io

    from alerts.cases import WINDOW_CATEGORIES
    from alerts.pipeline import Core, CoreOptions, OfflinePipeline
    from tools.generate import generate

    feed, labels = io.StringIO(), io.StringIO()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    generate(feed, labels, count=4000, seed=5, days=45, start=start, scenario_rate=60)
    pipeline = OfflinePipeline(Core.build(CoreOptions()))
    lines = [line.encode() for line in feed.getvalue().splitlines()]
    book = CaseBook(SCORING)
    for start in range(0, len(lines), 500):
        batch = [(raw, start + i) for i, raw in enumerate(lines[start : start + 500])]
        _, alerts = pipeline.feed_batch(batch)
        for alert in alerts:
            book.add(alert)
    from_alerts = {c.case_id: c for c in book.latest()}
    made = {c.case_id: c for c in pipeline.cases}  # the latest version of each
    assert list(made) == list(from_alerts)  # and in the order they were opened
    series = [c for c in made.values() if set(c.categories) <= WINDOW_CATEGORIES]
    assert len(series) >= 3
    assert len(made) - len(series) >= 3
    for case_id, case in from_alerts.items():
        staged = made[case_id]
        assert [f.alert_id for f in staged.findings] == [f.alert_id for f in case.findings]
        assert (staged.version, staged.risk_score) == (case.version, case.risk_score)
        assert [d.declaration_id for d in staged.declarations] == (
            [] if staged in series else staged.declaration_ids
        )
