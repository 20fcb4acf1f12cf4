"""Analysts' decisions: suppressions that silence findings in their scope and span, and reviews
that count a decision against its case's rules whichever of the two arrives first."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.cases import WINDOW_CATEGORIES, CaseBook, declaration_case
from alerts.feedback import (
    MAX_DECISIONS_PER_CASE,
    MAX_SUPPRESSIONS_PER_CASE,
    DecisionRefused,
    Review,
    Reviews,
    Suppressions,
    case_entries,
    suppression_for,
)
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from schemas.case import Case
from schemas.feedback import Decision, Feedback, Role, Suppression
from tests.alerts.rules.helpers import party
from tests.conftest import declaration_dict
from tools.generate import generate

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
    CORE.suppressions.judged_on = "event"  # as a replay: each finding made when declared
    yield OfflinePipeline(CORE)
    CORE.suppressions.clear()
    CORE.suppressions.judged_on = "detected"


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
    CORE.suppressions.judged_on = "event"
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
        CORE.suppressions.judged_on = "detected"
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


def gate_case() -> Case:
    """The seed rifles' case: critical listed-party and controlled-goods findings among them."""
    CORE.suppressions.clear()
    _, case = screened_case(OfflinePipeline(CORE), rifles(1, 0, destination_country="RU"), 0)
    assert case is not None
    return case


def decision(case: Case, decision: Decision = Decision.BENIGN, **extra: Any) -> Feedback:
    extra.setdefault("suppression", suppression_for(case, T0, T0 + timedelta(days=20)))
    if decision not in (Decision.BENIGN, Decision.SUPPRESS):
        extra["suppression"] = None
    return Feedback(
        feedback_id=extra.pop("feedback_id", f"fb-{decision.value}"),
        case_id=case.case_id,
        decision=decision,
        reason=extra.pop("reason", "checked"),
        analyst=extra.pop("analyst", "j.doe"),
        decided_at=T0,
        **extra,
    )


def rulings_of(reviews: Reviews) -> list[tuple[str, str]]:
    return [(r.feedback.feedback_id, r.status.value) for r in reviews.rulings]


def test_a_suppression_waits_for_its_case_and_silences_nothing_until_then() -> None:
    case = gate_case()
    suppressions = Suppressions()
    reviews = Reviews(suppressions)
    reviews.feedback(decision(case, role=Role.SUPERVISOR))
    assert rulings_of(reviews) == [("fb-benign", "waiting")] and len(suppressions) == 0
    reviews.case(case)
    assert rulings_of(reviews)[-1] == ("fb-benign", "active") and "fb-benign" in suppressions


@pytest.mark.parametrize(
    ("change", "status", "why"),
    [
        # Rules the case never found wait (a later version may find them): nothing silenced.
        ({"rule_ids": ["transshipment.diversion_route", "split_shipments.repeated"]},
         "waiting", "names rules the case did not find"),
        # Another party than the case's.
        ({"match": {"importer": "ooo somebody else"}}, "waiting", "a scope the case does not"),
        # Wider than the case (the importer alone): a supervisor's call.
        ({"match": {"importer": "ooo promtekh"}}, "held", "widens the case's scope"),
        # Critical listed-party and controlled-goods findings: a supervisor's call.
        ({}, "held", "covers critical findings of"),
        # Longer than 30 days: a supervisor's call.
        ({"rule_ids": ["category_mismatch.military_firearm"], "entries": [],
          "expires_at": T0 + timedelta(days=90)}, "held", "lasts more than 30 days"),
    ],
)  # fmt: skip
def test_what_one_analyst_can_silence_is_bounded(change: dict, status: str, why: str) -> None:  # type: ignore[type-arg]
    case = gate_case()
    base = suppression_for(case, T0, T0 + timedelta(days=20))
    suppression = Suppression.model_validate(base.model_dump() | change)
    reviews = Reviews(Suppressions())
    reviews.case(case)
    reviews.feedback(decision(case, suppression=suppression))
    [ruling] = reviews.rulings
    assert (ruling.status.value, why in ruling.reason) == (status, True), ruling.reason
    assert len(reviews.suppressions or ()) == 0


def test_a_held_suppression_needs_another_supervisor_and_a_confirmation_revokes_it() -> None:
    case = gate_case()
    suppressions = Suppressions()
    reviews = Reviews(suppressions)
    reviews.case(case)
    reviews.feedback(decision(case, analyst="ann"))
    approve = {"refers_to": "fb-benign", "suppression": None}
    reviews.feedback(decision(case, Decision.APPROVE, feedback_id="a1", analyst="ann",
                              role=Role.SUPERVISOR, **approve))  # fmt: skip
    reviews.feedback(decision(case, Decision.APPROVE, feedback_id="a2", analyst="bob", **approve))
    assert len(suppressions) == 0  # her own approval, and an analyst's, do nothing
    reviews.feedback(decision(case, Decision.APPROVE, feedback_id="a3", analyst="sue",
                              role=Role.SUPERVISOR, **approve))  # fmt: skip
    assert "fb-benign" in suppressions
    assert rulings_of(reviews)[-1] == ("fb-benign", "active")
    reviews.feedback(decision(case, Decision.CONFIRMED, feedback_id="c1", analyst="tom"))
    assert rulings_of(reviews)[-1] == ("fb-benign", "revoked") and len(suppressions) == 0


def test_a_revoke_takes_a_suppression_back() -> None:
    case = gate_case()
    suppressions = Suppressions()
    reviews = Reviews(suppressions)
    reviews.case(case)
    reviews.feedback(decision(case, role=Role.SUPERVISOR))
    assert "fb-benign" in suppressions
    reviews.feedback(decision(case, Decision.REVOKE, feedback_id="r1", refers_to="fb-benign"))
    assert len(suppressions) == 0 and rulings_of(reviews)[-1] == ("fb-benign", "revoked")


def test_fifty_benign_decisions_on_one_case_count_as_one() -> None:
    case = gate_case()
    reviews = Reviews()
    reviews.case(case)
    for n in range(50):
        reviews.feedback(decision(case, feedback_id=f"b{n}", analyst=f"analyst {n}",
                                  suppression=None))  # fmt: skip
    assert {count for (_, kind), count in reviews.counts.items()} == {1}


def test_a_review_stays_small_whatever_the_decisions_say() -> None:
    case = gate_case()
    review = Review()
    review.with_case(case)
    long = "x" * 2000
    for n in range(MAX_DECISIONS_PER_CASE):
        review.with_feedback(
            Feedback(feedback_id=f"e{n}", case_id=case.case_id, decision=Decision.ESCALATE,
                     reason=long, analyst="j", decided_at=T0)
        )  # fmt: skip
    with pytest.raises(DecisionRefused):
        review.with_feedback(
            Feedback(feedback_id="e-last", case_id=case.case_id, decision=Decision.ESCALATE,
                     reason=long, analyst="j", decided_at=T0)
        )  # fmt: skip
    for n in range(MAX_SUPPRESSIONS_PER_CASE + 3):
        review.decisions.clear()
        review.with_feedback(decision(case, feedback_id=f"s{n}", reason=long))
    assert len(review.encode()) < 300 * 1024
    with pytest.raises(ValidationError, match="at most 16 items"):
        Suppression(rule_ids=[f"rule.r{n}" for n in range(17)], match={"importer": "x"},
                    starts_at=T0, expires_at=T0 + timedelta(days=1))  # fmt: skip


def test_a_name_match_suppression_never_silences_a_tax_id_match_or_another_entry() -> None:
    case = gate_case()
    listed = [f for f in case.findings if f.rule_id == "restricted_party.watchlist"]
    assert listed, "the seed case matches a listed party"
    entries = case_entries(case)
    assert entries and all(e.endswith((":name", ":tax_id")) for e in entries)
    suppressions = Suppressions(judged_on="event")
    suppressions.add(decision(case, role=Role.SUPERVISOR))
    finding = next(
        a for a in OfflinePipeline(CORE).feed(rifles(2, 1, destination_country="RU"), 1)
        if a.rule_id == "restricted_party.watchlist"
    )  # fmt: skip
    assert suppressions.match(finding) == "fb-benign"
    for other in ("tax_id", "name"):
        evidence = {**finding.evidence}
        evidence["matches"] = [
            {**m, "method": other} if other == "tax_id" else {**m, "entry_id": "another"}
            for m in finding.evidence["matches"]
        ]
        moved = finding.model_copy(update={"evidence": evidence})
        assert suppressions.match(moved) is None, other


def test_a_suppression_is_judged_on_when_the_finding_was_made() -> None:
    case = gate_case()
    suppressions = Suppressions()  # live: by detected_at
    suppressions.add(decision(case, role=Role.SUPERVISOR))  # T0 to T0 + 20 days
    finding = OfflinePipeline(CORE).feed(rifles(2, 1, destination_country="RU"), 1)[0]
    dated_inside = finding.model_copy(update={"detected_at": T0 + timedelta(days=400)})
    assert suppressions.match(dated_inside) is None  # declared inside the span, found today
    made_inside = finding.model_copy(update={"detected_at": T0 + timedelta(days=2)})
    assert suppressions.match(made_inside) == "fb-benign"


def test_many_suppressions_are_checked_by_scope() -> None:
    case = gate_case()
    suppressions = Suppressions(judged_on="event")
    base = suppression_for(case, T0, T0 + timedelta(days=20))
    for n in range(20_000):
        other = base.model_copy(update={"match": {**base.match, "importer": f"importer {n}"}})
        suppressions.add(decision(case, feedback_id=f"s{n}", suppression=other))
    suppressions.add(decision(case, feedback_id="the-one", suppression=base))
    finding = OfflinePipeline(CORE).feed(rifles(2, 1, destination_country="RU"), 1)[0]
    assert suppressions.match(finding) == "the-one"
    assert max(len(v) for v in suppressions._index.values()) == 1  # a slot a scope
    suppressions.remove("the-one")
    assert suppressions.match(finding) is None
