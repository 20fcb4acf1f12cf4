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


# Everyday words that are also the name of a weapon or a drone, under their own headings:
# (hs_code, description, destination). No goods rule may take them for the goods.
EVERYDAY_WORDS = [
    ("3824.50", "Mortar mix M150, dry, fraction 2.5 mm, 25 kg bags", "KZ"),
    ("3824.50", "Строительный раствор (mortar), 25 кг", "RU"),
    ("3921.90", "ПКМ листы (полимерные композиционные материалы)", "RU"),
    ("3921.90", "ПКМ листы (полимерные композиционные материалы)", "BY"),
    ("2208.60", "Vodka Kalashnikov 0.7 l 40%", "RU"),
    ("6907.21", "Керамогранит Kalashnikov 60x60", "KZ"),
    ("0106.41", "Drone bees, live, for the apiary", "KZ"),
]
