"""Screening declarations through the whole default catalogue, with a fixed clock."""

from datetime import UTC, datetime
from typing import Any

from alerts.building import RuleEngine
from alerts.reference import ReferenceData
from alerts.rules import CatalogueOptions, build_catalogue
from schemas.alert import Alert
from tests.conftest import declaration_record

REFERENCE = ReferenceData.load()
CLOCK = datetime(2026, 1, 1, tzinfo=UTC)


def engine(options: CatalogueOptions | None = None) -> RuleEngine:
    return RuleEngine(build_catalogue(REFERENCE, options), clock=lambda: CLOCK)


ENGINE = engine()


def alerts_by_rule(overrides: dict[str, Any], screen: RuleEngine = ENGINE) -> dict[str, Alert]:
    declaration = declaration_record(**overrides)
    found = screen.screen(declaration)
    by_rule = {a.rule_id: a for a in found}
    assert len(by_rule) == len(found), "a rule fired twice on one declaration"
    return by_rule


def party(name: str, country: str | None = None, **extra: str) -> dict[str, str]:
    return {"name": name, **({"country": country} if country else {}), **extra}
