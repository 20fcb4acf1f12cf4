from typing import Any

import pytest

from alerts.rules import CatalogueOptions
from schemas.alert import Severity
from tests.alerts.rules.helpers import EVERYDAY_WORDS, alerts_by_rule, engine

RULE = "controlled_goods.restricted_destination"


@pytest.mark.parametrize(
    ("overrides", "severity", "tier"),
    [
        # CHPL tier 1: processors and controllers to Russia.
        (
            {"hs_code": "8542.31.90", "goods_description": "Microcontrollers"},
            Severity.CRITICAL,
            "1",
        ),
        # Tier 2 to Belarus.
        (
            {
                "hs_code": "8517.62",
                "goods_description": "Network switches",
                "destination_country": "BY",
            },
            Severity.HIGH,
            "2",
        ),
        # Tier 3.A: static converters.
        ({"hs_code": "8504.40", "goods_description": "Power supplies"}, Severity.HIGH, "3.A"),
        # Tier 3.B: ball bearings.
        ({"hs_code": "8482.10", "goods_description": "Ball bearings 6204"}, Severity.MEDIUM, "3.B"),
        # Tier 4.B: CNC machining centres.
        (
            {"hs_code": "8457.10", "goods_description": "CNC vertical machining centre"},
            Severity.MEDIUM,
            "4.B",
        ),
        # Chapter 93: hunting rifles are still arms.
        ({"hs_code": "9303.30", "goods_description": "Hunting rifles"}, Severity.CRITICAL, "ML"),
        # 8710: armoured vehicles.
        (
            {"hs_code": "8710.00", "goods_description": "Armoured vehicle parts"},
            Severity.CRITICAL,
            "ML",
        ),
        # 8806: unmanned aircraft.
        ({"hs_code": "8806.92", "goods_description": "Quadcopter"}, Severity.CRITICAL, "UAV"),
        # Identified by description in Russian: quadcopters declared as cameras.
        (
            {"hs_code": "8525.89", "goods_description": "Квадрокоптеры с тепловизором"},
            Severity.CRITICAL,
            "UAV",
        ),
        # In English: plate carriers with ballistic plates as bags.
        (
            {"hs_code": "4202.92", "goods_description": "Plate carriers with ballistic plates"},
            Severity.CRITICAL,
            "ML13",
        ),
        # Identified by description, not code: body armour declared as textiles.
        ({"hs_code": "6307.90", "goods_description": "防弹衣 三级"}, Severity.CRITICAL, "ML13"),
    ],
)
def test_controlled_to_restricted(overrides: dict[str, Any], severity: Severity, tier: str) -> None:
    alert = alerts_by_rule(overrides)[RULE]
    assert alert.severity is severity
    assert alert.evidence["controls"][0]["tier"] == tier


@pytest.mark.parametrize(
    "overrides",
    [
        # Tier 1 chips to Germany: not a restricted destination.
        {
            "hs_code": "8542.31",
            "goods_description": "Microcontrollers",
            "destination_country": "DE",
        },
        # Laptops (8471.30) to Russia: not on the lists (8471.50 and 8471.80 are).
        {"hs_code": "8471.30", "goods_description": "Laptops"},
        # Coffee to Russia.
        {"hs_code": "0901.11", "goods_description": "Green coffee beans"},
    ],
)
def test_not_controlled_or_not_restricted(overrides: dict[str, Any]) -> None:
    assert RULE not in alerts_by_rule(overrides)


def test_restricted_destinations_are_configurable() -> None:
    iran_only = engine(CatalogueOptions(restricted_destinations=frozenset({"IR"})))
    chips = {"hs_code": "8542.31", "goods_description": "Microcontrollers"}
    assert RULE in alerts_by_rule({**chips, "destination_country": "IR"}, iran_only)
    assert RULE not in alerts_by_rule(chips, iran_only)  # Russia is no longer on the list


@pytest.mark.parametrize(("hs_code", "description", "destination"), EVERYDAY_WORDS)
def test_a_weapon_name_that_is_an_everyday_word_is_not_taken_for_the_goods(
    hs_code: str, description: str, destination: str
) -> None:
    found = alerts_by_rule(
        {"hs_code": hs_code, "goods_description": description, "destination_country": destination}
    )
    assert not [rule for rule in found if rule.startswith("controlled_goods.")]


def test_a_name_borne_out_by_the_text_is_controlled_and_says_by_what() -> None:
    alert = alerts_by_rule(
        {"hs_code": "8479.89", "goods_description": "AK-47, 7.62x39", "destination_country": "RU"}
    )["controlled_goods.restricted_destination"]
    control = alert.evidence["controls"][0]
    assert control["identified_by"] == "description"
    assert control["corroborated_by"] == ["numbers: 7.62x39"]
