from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.building import RuleEngine
from alerts.reference import ReferenceData
from alerts.rules.category_mismatch import MilitaryFirearmAsSporting
from schemas.alert import AlertCategory, Severity
from schemas.declaration import Declaration
from tests.conftest import declaration_dict

RULE = MilitaryFirearmAsSporting.build(ReferenceData.load())


def firearm(**overrides: Any) -> Declaration:
    fields: dict[str, Any] = {
        "hs_code": "9303.20",
        "exporter": {"name": "China North Industries Corporation", "country": "CN"},
        "importer": {"name": "OOO Tekhkrim", "country": "RU"},
        "quantity": 1000,
        "invoice_value": 350000,
    }
    fields.update(overrides)
    return Declaration.model_validate(declaration_dict(**fields))


@pytest.mark.parametrize(
    ("overrides", "family", "severity"),
    [
        # The 2023 case: Norinco CQ-A (M16 pattern) as hunting carbines, in Russian, to Russia.
        (
            {"goods_description": "Карабины охотничьи CQ-A калибр 5,56 мм", "brand": "Norinco"},
            "cq_qbz",
            Severity.CRITICAL,
        ),
        # The same rifles described in Chinese.
        ({"goods_description": "CQ自动步枪 5.56毫米 狩猎用"}, "cq_qbz", Severity.CRITICAL),
        # English description, AK pattern, glued designation.
        ({"goods_description": "Hunting rifle AKM 7.62x39"}, "kalashnikov", Severity.CRITICAL),
        # Model field alone carries the designation.
        (
            {"goods_description": "Hunting rifles", "model": "QBZ-95-1"},
            "cq_qbz",
            Severity.CRITICAL,
        ),
        # Not to a restricted destination: still a mismatch, one level lower.
        (
            {
                "goods_description": "Sporting rifle M16A4",
                "destination_country": "RS",
                "importer": {"name": "Oruzje DOO", "country": "RS"},
            },
            "ar_m16",
            Severity.HIGH,
        ),
        # Only a generic military word, not to a restricted destination: medium.
        (
            {
                "goods_description": "assault rifle, semi-auto",
                "destination_country": "KZ",
                "importer": {"name": "TOO Okhota", "country": "KZ"},
            },
            "generic_military",
            Severity.MEDIUM,
        ),
        # Parts of rifles of heading 9303 (9305.20) named as AK parts.
        (
            {"hs_code": "930520", "goods_description": "AK-74 bolt carriers"},
            "kalashnikov",
            Severity.CRITICAL,
        ),
    ],
)
def test_military_pattern_under_sporting_heading_alerts(
    overrides: dict[str, Any], family: str, severity: Severity
) -> None:
    [finding] = RULE.evaluate(firearm(**overrides))
    assert finding.severity is severity
    assert family in [t["family"] for t in finding.evidence["matched_terms"]]
    assert finding.evidence["expected_heading"] == "9301"
    assert finding.subject.kind == "declaration"


@pytest.mark.parametrize(
    "overrides",
    [
        # A Beretta hunting rifle from Italy to Norway: the ordinary trade the rule must ignore.
        {
            "goods_description": "Hunting rifle Beretta BRX1 .308 Win",
            "brand": "Beretta",
            "origin_country": "IT",
            "dispatch_country": "IT",
            "destination_country": "NO",
        },
        # A Browning over-and-under shotgun.
        {"goods_description": "Browning B525 shotgun 12 gauge"},
        # Military rifles declared honestly under 9301: no mismatch.
        {"hs_code": "9301.10", "goods_description": "Assault rifles AK-74M"},
        # The words appear, but the heading is not a firearms heading (a poster).
        {"hs_code": "4911.91", "goods_description": "Poster of an AK-47 rifle"},
        # A longer word that contains a short designation.
        {"goods_description": "Hunting rifle, walnut stock, akmatic finish"},
    ],
)
def test_no_alert(overrides: dict[str, Any]) -> None:
    assert RULE.evaluate(firearm(**overrides)) == []


def test_engine_builds_alert_with_versions_and_deterministic_id() -> None:
    clock_times = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)])
    engine = RuleEngine([RULE], clock=lambda: next(clock_times))
    declaration = firearm(goods_description="CQ-A rifles")
    first, second = engine.screen(declaration), engine.screen(declaration)
    assert [a.alert_id for a in first] == [a.alert_id for a in second]
    assert first[0].detected_at != second[0].detected_at
    alert = first[0]
    assert alert.category is AlertCategory.CATEGORY_MISMATCH
    assert alert.declaration_ids == [declaration.declaration_id]
    assert "military_firearms@" in alert.reference_data_version
    assert alert.event_time == declaration.declared_at
    assert "9301" in alert.summary and "CQ-A" in alert.summary


def test_summary_escapes_control_characters_in_party_names() -> None:
    declaration = firearm(
        goods_description="CQ-A rifles",
        importer={"name": "OOO Tekh\u202ekrim\x1b[2J", "country": "RU"},
    )
    [finding] = RULE.evaluate(declaration)
    assert "\u202e" not in finding.summary and "\x1b" not in finding.summary
    assert "\\u202e" in finding.summary
