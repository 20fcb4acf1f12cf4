"""Analysts' decisions: suppressions that silence findings in their scope and span, and reviews
that count a decision against its case's rules whichever of the two arrives first."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.cases import WINDOW_CATEGORIES, CaseBook, declaration_case
from alerts.feedback import Review, Reviews, suppression_for
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from schemas.case import Case
from schemas.feedback import Decision, Feedback, Suppression
from streams.generate import generate
from tests.alerts.rules.helpers import party
from tests.conftest import declaration_dict

CORE = Core.build(CoreOptions())
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def rifles(number: int, day: int, **overrides: Any) -> bytes:
    import orjson

    return orjson.dumps(
        declaration_dict(
            declaration_id=f"RIFLES-{number}",
            declared_at=(T0 + timedelta(days=day)).isoformat(),
            hs_code="930320",
            goods_description="Карабины охотничьи CQ-A калибр 5,56 мм",
            exporter=party("China North Industries Corporation", "CN"),
            dispatch_country="KZ",
            **overrides,
        )
    )


def feedback(
    case: Case | str, decision: Decision = Decision.BENIGN, days: int | None = 90, **extra: Any
) -> Feedback:
    case_id = case if isinstance(case, str) else case.case_id
    suppression = (
        suppression_for(case, T0, T0 + timedelta(days=days))
        if days is not None and isinstance(case, Case)
        else None
    )
    return Feedback(
        feedback_id=extra.pop("feedback_id", f"fb-{case_id[:8]}-{decision.value}"),
        case_id=case_id,
        decision=decision,
        reason="licensed importer, checked",
        analyst="j.doe",
        decided_at=T0,
        **({"suppression": suppression} | extra),
    )


@pytest.fixture
def pipeline() -> OfflinePipeline:
    CORE.suppressions.clear()
    yield OfflinePipeline(CORE)
    CORE.suppressions.clear()


def screened_case(pipeline: OfflinePipeline, raw: bytes, offset: int) -> tuple[list, Case | None]:
    alerts = pipeline.feed(raw, offset)
    assert isinstance(alerts, list)
    return alerts, declaration_case(alerts, CORE.scoring)


def test_a_benign_with_a_suppression_silences_the_next_matching_finding(
    pipeline: OfflinePipeline,
) -> None:
    alerts, case = screened_case(pipeline, rifles(1, 0), 0)
    assert case is not None and len(case.findings) >= 4
    assert set(case.scope) == {"exporter", "importer"}
    assert case.scope["exporter"] == "china north industries corporation"
    decision = feedback(case)
    assert CORE.suppressions.add(decision)

    later, later_case = screened_case(pipeline, rifles(2, 10), 1)
    # Every finding is still there, marked; none opens a case.
    assert {a.rule_id for a in later} == {a.rule_id for a in alerts}
    assert {a.suppressed_by for a in later} == {decision.feedback_id}
    assert later_case is None
    assert CaseBook(CORE.scoring).add(later[0]) is None


def test_a_suppression_holds_only_in_its_scope_and_span(pipeline: OfflinePipeline) -> None:
    _, case = screened_case(pipeline, rifles(1, 0), 0)
    assert case is not None
    CORE.suppressions.add(feedback(case, days=30))
    other_importer = party("Tekhnoprom Trading", "RU")
    checks = {
        "another importer": rifles(2, 5, importer=other_importer),
        "after it expired": rifles(3, 31),
        "before it started": rifles(4, -1),
    }
    for offset, (what, raw) in enumerate(checks.items(), start=1):
        later, later_case = screened_case(pipeline, raw, offset)
        assert later and all(a.suppressed_by is None for a in later), what
        assert later_case is not None, what


def test_a_suppression_covers_only_its_rules(pipeline: OfflinePipeline) -> None:
    alerts, case = screened_case(pipeline, rifles(1, 0), 0)
    assert case is not None
    one_rule = sorted({a.rule_id for a in alerts})[0]
    narrowed = Suppression(
        rule_ids=[one_rule], match=case.scope, starts_at=T0, expires_at=T0 + timedelta(days=9)
    )
    CORE.suppressions.add(feedback(case.case_id, suppression=narrowed))
    later, later_case = screened_case(pipeline, rifles(2, 3), 1)
    silenced = {a.rule_id for a in later if a.suppressed_by is not None}
    assert silenced == {one_rule}
    assert later_case is not None and one_rule not in {f.rule_id for f in later_case.findings}


def test_window_findings_in_a_suppressed_series_open_no_case() -> None:
    feed, labels = io.StringIO(), io.StringIO()
    generate(feed, labels, count=4000, seed=5, days=45, start=T0, scenario_rate=60)
    lines = [line.encode() for line in feed.getvalue().splitlines()]

    def run() -> tuple[list, list[Case]]:
        pipeline = OfflinePipeline(CORE)
        alerts: list = []
        for start in range(0, len(lines), 500):
            batch = [(raw, start + i) for i, raw in enumerate(lines[start : start + 500])]
            alerts += pipeline.feed_batch(batch)[1]
        return alerts, pipeline.cases

    CORE.suppressions.clear()
    try:
        _, cases = run()
        series = [
            c
            for c in cases
            if set(c.categories) <= WINDOW_CATEGORIES and c.subject.kind != "declaration"
        ]
        assert series
        target = series[0]
        assert set(target.scope) == {"series"}
        CORE.suppressions.add(
            feedback(
                target.case_id,
                suppression=suppression_for(
                    target,
                    target.first_event_time - timedelta(days=8),
                    target.first_event_time + timedelta(days=60),
                ),
            )
        )
        alerts, again = run()
    finally:
        CORE.suppressions.clear()
    silenced = [a for a in alerts if a.suppressed_by is not None]
    assert silenced and {a.scope["series"] for a in silenced} == {target.scope["series"]}
    assert target.case_id not in {c.case_id for c in again}
    assert {c.case_id for c in again} == {c.case_id for c in cases} - {target.case_id}


def test_a_decision_before_its_case_is_counted_when_the_case_appears() -> None:
    reviews = Reviews()
    _, case = screened_case(OfflinePipeline(CORE), rifles(1, 0), 0)
    assert case is not None
    rules = {f.rule_id for f in case.findings}
    reviews.feedback(feedback(case.case_id, Decision.BENIGN))
    assert reviews.counts == {}
    reviews.case(case)
    assert reviews.counts == {(rule, Decision.BENIGN): 1 for rule in rules}
    reviews.case(case)  # a new version of the case counts nothing again
    reviews.feedback(feedback(case.case_id, Decision.BENIGN))  # nor a repeated message
    assert sum(reviews.counts.values()) == len(rules)
    reviews.feedback(feedback(case.case_id, Decision.CONFIRMED))
    rule = sorted(rules)[0]
    assert reviews.precision()[rule] == (1, 1, 0.5)


def test_a_review_survives_its_table() -> None:
    _, case = screened_case(OfflinePipeline(CORE), rifles(1, 0), 0)
    assert case is not None
    review = Review()
    review.with_feedback(feedback(case))
    restored = Review.decode(review.encode())
    assert restored == review and restored.pending == 1
    assert len(restored.with_case(case)) == len({f.rule_id for f in case.findings})
    assert Review.decode(None) == Review()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "suppress", "suppression": None}, "needs a suppression"),
        ({"decision": "confirmed"}, "cannot suppress"),
        ({"suppression": {"expires_at": "2026-02-01T00:00:00Z"}}, "expire after it starts"),
        ({"suppression": {"expires_at": "2028-03-01T00:00:00Z"}}, "366 days at most"),
        ({"suppression": {"match": {}}}, "at least 1 item"),
        ({"reason": ""}, "at least 1 character"),
    ],
)
def test_a_bad_decision_is_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    good = {
        "feedback_id": "fb-1",
        "case_id": "c-1",
        "decision": "benign",
        "reason": "checked",
        "analyst": "j.doe",
        "decided_at": "2026-03-01T00:00:00Z",
        "suppression": {
            "rule_ids": ["restricted_party.watchlist"],
            "match": {"exporter": "acme"},
            "starts_at": "2026-03-01T00:00:00Z",
            "expires_at": "2026-05-30T00:00:00Z",
        },
    }
    Feedback.model_validate(good)
    document = dict(good)
    for key, value in change.items():
        if isinstance(value, dict):
            document[key] = {**good[key], **value}  # type: ignore[dict-item]
        else:
            document[key] = value
    with pytest.raises(ValidationError, match=message):
        Feedback.model_validate(document)
