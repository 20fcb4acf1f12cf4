from pathlib import Path

import pytest

from alerts.errors import ReferenceDataError
from alerts.parties import (
    PartyMatcher,
    WatchlistEntry,
    load_opensanctions_csv,
    normalize_party_name,
)

ENTRIES = [
    WatchlistEntry(
        "test",
        "kc",
        "Kalashnikov Concern JSC",
        ("АО Концерн Калашников",),
        "RU",
        ("1826001137",),
        "SDN",
    ),
    WatchlistEntry(
        "test",
        "nor",
        "China North Industries Group Corporation Limited",
        ("Norinco", "中国北方工业集团有限公司"),
        "CN",
        (),
        "NS-CMIC",
    ),
    WatchlistEntry("test", "azu", "Azu International", (), "TR", (), "SDN"),
    WatchlistEntry("test", "tk", "Tekhkrim", (), "RU", ("7701234567", "1027700132195"), "EU"),
]
MATCHER = PartyMatcher(ENTRIES, threshold=90)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("ООО «Техкрим»", "tekhkrim"),  # Cyrillic, legal form, guillemets
        ("Tekhkrim, LLC", "tekhkrim"),  # Latin legal form and punctuation
        ("TEKHKRIM Co., Ltd.", "tekhkrim"),  # case and two legal forms
        ("Общество с ограниченной ответственностью Техкрим", "tekhkrim"),  # long Russian form
        ("中国北方工业集团有限公司", "zhong guo bei fang gong ye"),  # Chinese legal form removed
        ("Azu Dis Ticaret Ltd. Şti.", "azu"),  # Turkish legal forms
        ("Müller GmbH & Co. KG", "muller"),  # German forms, umlaut
    ],
)
def test_normalize_party_name(name: str, normalized: str) -> None:
    assert normalize_party_name(name) == normalized


@pytest.mark.parametrize(
    ("name", "tax_id", "entry_id", "method"),
    [
        ("Kalashnikov Concern", None, "kc", "name"),  # legal form dropped
        ("Concern Kalashnikov, JSC", None, "kc", "name"),  # word order
        ("АО Концерн Калашников", None, "kc", "name"),  # Cyrillic alias
        ("Kontsern Kalashnikov AO", None, "kc", "name"),  # transliterated alias
        ("Kalashnikof Concern", None, "kc", "name"),  # typo in a long word
        ("Kalashnikov Concern Izhevsk Branch", None, "kc", "name"),  # listed name inside
        ("NORINCO", None, "nor", "name"),  # alias, case
        ("Norinco Trading Co", None, "nor", "name"),  # alias plus filler
        ("中国北方工业集团有限公司", None, "nor", "name"),  # Chinese
        ("Some Front Company LLC", "7701234567", "tk", "tax_id"),  # INN decides
        ("Some Front Company LLC", "1027700132195", "tk", "tax_id"),  # OGRN decides
        ("Some Front Company LLC", "770-123-4567", "tk", "tax_id"),  # punctuation in the id
    ],
)
def test_matches(name: str, tax_id: str | None, entry_id: str, method: str) -> None:
    [match] = MATCHER.match(name, tax_id)
    assert (match.entry.entry_id, match.method) == (entry_id, method)
    assert match.score >= 90


@pytest.mark.parametrize(
    ("name", "tax_id"),
    [
        ("Azur International Ltd", None),  # one letter more in the only distinctive word
        ("Kalashnikov Vodka Ltd", None),  # shares a word, not the company
        ("Rostelecom PJSC", None),  # not in this list at all
        ("China North Trading Company", None),  # only common words shared
        ("Some Front Company LLC", "7701234568"),  # a neighbouring tax id
    ],
)
def test_non_matches(name: str, tax_id: str | None) -> None:
    assert MATCHER.match(name, tax_id) == ()


def test_name_match_still_counts_when_the_tax_id_differs() -> None:
    # A different id does not clear a name hit: the analyst sees both facts in the evidence.
    [match] = MATCHER.match("Tekhkrim LLC", "9999999999")
    assert match.method == "name"


def test_recurring_parties_are_cached() -> None:
    matcher = PartyMatcher(ENTRIES)
    for _ in range(3):
        matcher.match("Kalashnikov Concern", None)
    assert matcher.match.cache_info().hits == 2


SIMPLE_CSV = (
    "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,"
    "dataset,first_seen,last_seen,last_change\n"
    'NK-1,Company,"Sertal LLC","ООО Сертал;Sertal",,ru,,7703123456,"US OFAC SDN",,,'
    "us_ofac_sdn,2022-01-01,2026-01-01,2026-01-01\n"
    'NK-2,Person,"Ivan Ivanov",,1970-01-01,ru,,,"EU FSF",,,'
    "eu_fsf,2022-01-01,2026-01-01,2026-01-01\n"
    'NK-3,Organization,"Special Technology Center","STC",,ru,,,"BIS Entity List",,,'
    "us_bis,2022-01-01,2026-01-01,2026-01-01\n"
)


def test_opensanctions_simple_csv(tmp_path: Path) -> None:
    path = tmp_path / "targets.simple.csv"
    path.write_text(SIMPLE_CSV, encoding="utf-8")
    label, entries = load_opensanctions_csv(path)
    assert label.startswith("targets.simple@sha256:")
    assert [e.entry_id for e in entries] == ["NK-1", "NK-3"]  # people are left out
    matcher = PartyMatcher(entries)
    assert matcher.match("ООО «Сертал»", None)[0].entry.entry_id == "NK-1"
    assert matcher.match("Unknown LLC", "7703123456")[0].method == "tax_id"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("id,name\nx,y\n", "missing"),  # not the export format
        (SIMPLE_CSV.replace('"Sertal LLC"', '""'), "without id or name"),  # empty name
        (SIMPLE_CSV.splitlines()[0] + "\n", "no organisations"),  # header only
    ],
)
def test_broken_opensanctions_csv(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=reason):
        load_opensanctions_csv(path)
