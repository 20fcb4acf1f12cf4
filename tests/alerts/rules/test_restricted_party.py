import json
from pathlib import Path
from typing import Any

import pytest

from alerts.errors import ReferenceDataError
from alerts.rules import CatalogueOptions
from schemas.alert import Severity
from tests.alerts.rules.helpers import alerts_by_rule, engine, party

RULE = "restricted_party.watchlist"


@pytest.mark.parametrize(
    ("overrides", "role", "entry_id", "severity"),
    [
        # English, the state arms maker as exporter.
        (
            {"exporter": party("China North Industries Corporation", "CN")},
            "exporter",
            "tw-norinco",
            Severity.CRITICAL,
        ),
        # Russian importer written in Cyrillic with its legal form.
        (
            {"importer": party("АО «Концерн Калашников»", "RU")},
            "importer",
            "tw-kalashnikov",
            Severity.CRITICAL,
        ),
        # Chinese exporter name.
        (
            {"exporter": party("中国北方工业集团有限公司", "CN")},
            "exporter",
            "tw-norinco",
            Severity.CRITICAL,
        ),
        # A typo: a fuzzy hit, so high rather than critical.
        (
            {"importer": party("Kalashnikof Concern LLC", "RU")},
            "importer",
            "tw-kalashnikov",
            Severity.HIGH,
        ),
        # The declarant counts too.
        ({"declarant": party("Sertal, LLC", "RU")}, "declarant", "tw-sertal", Severity.CRITICAL),
    ],
)
def test_listed_parties(
    overrides: dict[str, Any], role: str, entry_id: str, severity: Severity
) -> None:
    alert = alerts_by_rule(overrides)[RULE]
    assert alert.severity is severity
    [match] = alert.evidence["matches"]
    assert (match["role"], match["entry_id"]) == (role, entry_id)
    assert match["list"] == "watchlist_default" and match["program"]
    assert "watchlist_default@" in alert.reference_data_version


def test_unlisted_parties_are_quiet() -> None:
    overrides = {
        "exporter": party("Azur International", "TR"),
        "importer": party("Kalashnikov Vodka Ltd", "RU"),
    }
    assert RULE not in alerts_by_rule(overrides)


def test_extra_watchlists_with_tax_ids(tmp_path: Path) -> None:
    extra = tmp_path / "customer_list.jsonl"
    extra.write_text(
        "\n".join(
            json.dumps(line, ensure_ascii=False)
            for line in [
                {"kind": "watchlist", "name": "customer_list", "version": "7", "source": "test"},
                {
                    "id": "c-1",
                    "name": "OOO Tekhkrim",
                    "tax_ids": ["7701234567"],
                    "program": "internal denied-party list",
                },
            ]
        ),
        encoding="utf-8",
    )
    screen = engine(CatalogueOptions(extra_watchlists=(extra,)))
    alert = alerts_by_rule(
        {"importer": party("OOO Some Other Name", "RU", tax_id="7701234567")}, screen
    )[RULE]
    assert alert.severity is Severity.CRITICAL
    assert alert.evidence["matches"][0]["method"] == "tax_id"
    assert "customer_list@7" in alert.reference_data_version


def test_watchlist_of_the_wrong_kind_stops_start_up(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("x", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"jsonl or \.csv"):
        engine(CatalogueOptions(extra_watchlists=(wrong,)))
