from datetime import UTC, datetime

import orjson
from prometheus_client import CollectorRegistry

from alerts.building import RuleEngine
from alerts.reference import ReferenceData
from alerts.rules import Catalogue, build_catalogue
from alerts.rules.base import DeclarationFacts, Finding, Rule
from alerts.rules.controls import ControlMatcher
from alerts.text import Lexicon
from schemas.alert import Alert, AlertCategory, Severity
from streams.decoding import Rejection, RejectReason
from streams.metrics import Metrics
from streams.screening import Screened, Screener
from tests.conftest import declaration_dict

CLOCK = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731


def screener(rules: list[Rule] | None = None) -> tuple[Screener, CollectorRegistry]:
    registry = CollectorRegistry()
    catalogue = (
        Catalogue(rules, Lexicon([]), ControlMatcher(ReferenceData.load()))
        if rules is not None
        else build_catalogue(ReferenceData.load())
    )
    engine = RuleEngine(catalogue, clock=CLOCK)
    return Screener(engine, Metrics(registry), max_message_bytes=8192), registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_counts_ok_rejected_and_alerts() -> None:
    screen, registry = screener()
    # To Serbia: a category mismatch only, not also controlled goods to a restricted destination.
    alerting = orjson.dumps(
        declaration_dict(
            hs_code="930320", goods_description="CQ-A rifles", destination_country="RS"
        )
    )
    quiet = orjson.dumps(declaration_dict())
    outcomes = [screen.screen(raw) for raw in (alerting, quiet, b"nope", b"[]")]

    assert isinstance(outcomes[0], Screened) and len(outcomes[0].alerts) == 1
    assert isinstance(outcomes[0].alerts[0], Alert)
    assert outcomes[1] == Screened([])
    assert [o.reason for o in outcomes[2:] if isinstance(o, Rejection)] == [
        RejectReason.NOT_JSON,
        RejectReason.NOT_OBJECT,
    ]
    assert sample(registry, "tradewatch_declarations_total", outcome="ok") == 2
    assert sample(registry, "tradewatch_declarations_total", outcome="rejected") == 2
    assert sample(registry, "tradewatch_dead_letters_total", reason="not_json") == 1
    assert (
        sample(
            registry,
            "tradewatch_alerts_total",
            rule="category_mismatch.military_firearm",
            category="category_mismatch",
            severity="high",
        )
        == 1
    )
    assert sample(registry, "tradewatch_declaration_processing_seconds_count") == 4


class ExplodingRule:
    rule_id = "test.exploding"
    version = "1"
    category = AlertCategory.CATEGORY_MISMATCH
    reference_data_version = "none"

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        raise KeyError("boom")


def test_a_failing_rule_rejects_the_declaration_instead_of_raising() -> None:
    screen, registry = screener([ExplodingRule()])
    outcome = screen.screen(orjson.dumps(declaration_dict()))
    assert isinstance(outcome, Rejection)
    assert outcome.reason is RejectReason.RULE_ERROR
    assert "KeyError" in outcome.detail
    assert sample(registry, "tradewatch_dead_letters_total", reason="rule_error") == 1


def test_alert_series_exist_at_zero_before_the_first_alert() -> None:
    from schemas.alert import AlertCategory as Category

    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.prepare_alert_series([("controlled_goods.x", Category.CONTROLLED_GOODS)])
    labels = {"rule": "controlled_goods.x", "category": "controlled_goods", "severity": "critical"}
    assert registry.get_sample_value("tradewatch_alerts_total", labels) == 0.0
    metrics.alert("controlled_goods.x", Category.CONTROLLED_GOODS, Severity.CRITICAL)
    assert registry.get_sample_value("tradewatch_alerts_total", labels) == 1.0
