"""Hostile input never crashes screening, is rejected with a one-line reason, and never puts a
raw control or bidi character into an alert summary."""

import unicodedata
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from alerts.screening import Screened
from schemas.wire import Rejection
from tests.conftest import declaration_dict
from tests.hostile import hostile_payloads

PIPELINE = OfflinePipeline(Core.build(CoreOptions(max_message_bytes=65_536)))
NOW_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
OFFSET = iter(range(10**9))


def unescaped(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c)[0] == "C" or c in "\u2028\u2029"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_payloads)
def test_screening_never_raises_and_explains_in_one_line(payload: bytes) -> None:
    outcome = PIPELINE.core.screener.screen(payload, 0, next(OFFSET), NOW_MS)
    if isinstance(outcome, Rejection):
        assert outcome.detail and "\n" not in outcome.detail
        assert len(outcome.detail) <= 1000
    else:
        assert isinstance(outcome, Screened)
        for alert in outcome.alerts:
            assert not unescaped(alert.summary), alert.summary


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_payloads, min_size=1, max_size=15))
def test_valid_neighbours_of_hostile_input_are_all_processed(hostile: list[bytes]) -> None:
    valid = [
        orjson.dumps(
            declaration_dict(
                declaration_id=f"N-{n}", hs_code="930320", goods_description="AK-47 hunting rifles"
            )
        )
        for n in range(len(hostile))
    ]
    screened = 0
    for bad, good in zip(hostile, valid, strict=True):
        PIPELINE.feed(bad, next(OFFSET), NOW_MS)
        outcome = PIPELINE.feed(good, next(OFFSET), NOW_MS)
        assert not isinstance(outcome, Rejection), outcome
        assert any(a.rule_id == "category_mismatch.military_firearm" for a in outcome)
        screened += 1
    assert screened == len(valid)


def test_far_future_dates_are_rejected_far_past_accepted() -> None:
    future = orjson.dumps(declaration_dict(declared_at="9999-12-31T23:59:59+00:00"))
    past = orjson.dumps(declaration_dict(declared_at="0001-01-01T00:00:00+00:00"))
    outcome = PIPELINE.core.screener.screen(future, 0, next(OFFSET), NOW_MS)
    assert isinstance(outcome, Rejection) and outcome.reason.value == "future_event_time"
    assert isinstance(PIPELINE.feed(past, next(OFFSET), NOW_MS), list)


def test_duplicate_declaration_ids_are_each_screened() -> None:
    same = orjson.dumps(
        declaration_dict(declaration_id="DUP-1", hs_code="930320", goods_description="CQ-A rifles")
    )
    first = PIPELINE.feed(same, next(OFFSET), NOW_MS)
    second = PIPELINE.feed(same, next(OFFSET), NOW_MS)
    assert isinstance(first, list) and isinstance(second, list)
    # The same declaration gives the same alert ids: a resent declaration is a repeat.
    assert {a.alert_id for a in first} == {a.alert_id for a in second}
