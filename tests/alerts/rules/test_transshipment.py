from typing import Any

import pytest

from schemas.alert import Severity
from tests.alerts.rules.helpers import alerts_by_rule, party

RULE = "transshipment.diversion_route"


@pytest.mark.parametrize(
    ("overrides", "severity"),
    [
        # 2022 case shape: Chinese body armour dispatched from Turkey to Russia.
        (
            {
                "hs_code": "6307.90",
                "goods_description": "Body armour plate carriers",
                "origin_country": "CN",
                "dispatch_country": "TR",
                "exporter": party("Anadolu Tekstil Ltd", "TR"),
            },
            Severity.CRITICAL,
        ),
        # Tier 1 chips made in Malaysia, dispatched from Hong Kong.
        (
            {
                "hs_code": "8542.31",
                "goods_description": "Microcontrollers",
                "origin_country": "MY",
                "dispatch_country": "HK",
                "exporter": party("Sinotrade HK Ltd", "HK"),
            },
            Severity.CRITICAL,
        ),
        # Bearings made in Japan, dispatched from Kazakhstan: tier 3.B, a hub.
        (
            {
                "hs_code": "8482.10",
                "goods_description": "Ball bearings",
                "origin_country": "JP",
                "dispatch_country": "KZ",
                "exporter": party("TOO Podshipnik", "KZ"),
            },
            Severity.HIGH,
        ),
        # Russian description, drone parts made in China, dispatched from Kyrgyzstan; the text
        # names the drones themselves, the strongest control, so critical.
        (
            {
                "hs_code": "8807.30",
                "goods_description": "Запчасти для квадрокоптеров",
                "origin_country": "CN",
                "dispatch_country": "KG",
                "exporter": party("OsOO Aero Trade", "KG"),
            },
            Severity.CRITICAL,
        ),
        # Chinese description, thermal modules via the UAE.
        (
            {
                "hs_code": "8525.89",
                "goods_description": "红外热成像模组 640",
                "origin_country": "CN",
                "dispatch_country": "AE",
                "exporter": party("Gulf Optics FZE", "AE"),
            },
            Severity.HIGH,
        ),
        # Rerouted through a country not on the diversion list.
        (
            {
                "hs_code": "8482.10",
                "goods_description": "Ball bearings",
                "origin_country": "JP",
                "dispatch_country": "DE",
                "exporter": party("Lager GmbH", "DE"),
            },
            Severity.MEDIUM,
        ),
        # Made and dispatched in the UAE, but sold by a German company: a hub with a foreign seller.
        (
            {
                "hs_code": "8542.32",
                "goods_description": "Memory chips",
                "origin_country": "AE",
                "dispatch_country": "AE",
                "exporter": party("Speicher GmbH", "DE"),
            },
            Severity.MEDIUM,
        ),
    ],
)
def test_diversion_routes(overrides: dict[str, Any], severity: Severity) -> None:
    alert = alerts_by_rule(overrides)[RULE]
    assert alert.severity is severity
    assert alert.evidence["route"]["dispatch"] == overrides["dispatch_country"]


@pytest.mark.parametrize(
    "overrides",
    [
        # Direct trade from the maker's country: controlled_goods covers it, not transshipment.
        {
            "hs_code": "8542.31",
            "goods_description": "Microcontrollers",
            "origin_country": "CN",
            "dispatch_country": "CN",
            "exporter": party("Shenzhen Chips Ltd", "CN"),
        },
        # Through Turkey, but to Germany.
        {
            "hs_code": "8542.31",
            "goods_description": "Microcontrollers",
            "origin_country": "MY",
            "dispatch_country": "TR",
            "destination_country": "DE",
        },
        # Through Turkey to Russia, but coffee.
        {
            "hs_code": "0901.11",
            "goods_description": "Coffee",
            "origin_country": "BR",
            "dispatch_country": "TR",
        },
    ],
)
def test_not_a_diversion(overrides: dict[str, Any]) -> None:
    assert RULE not in alerts_by_rule(overrides)
