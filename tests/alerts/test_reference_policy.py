"""The reference ledger: what a new version may change on its own, what waits for a second
person, and what is refused; judged from the records alone, in order."""

import json

import pytest

from alerts.reference import (
    DEFAULT_REFERENCE_DIR,
    LoadedRecord,
    ReferenceData,
    ReferenceFile,
    WatchlistEntry,
    parse_file,
)
from alerts.reference_policy import (
    Action,
    BroadNames,
    Ledger,
    Offer,
    version_order,
    weakening,
)

SHIPPED = ReferenceData.load()
BACKGROUND = [
    e for f in SHIPPED.watchlist_files() for e in f.records if isinstance(e, WatchlistEntry)
]


def edited(
    name: str, version: str, keep=lambda record: True, add=()
) -> ReferenceFile[LoadedRecord]:  # type: ignore[no-untyped-def]
    """A shipped file at another version, some records dropped, some added."""
    lines = (DEFAULT_REFERENCE_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) | {"version": version}
    records = [line for line in lines[1:] if line.strip() and keep(json.loads(line))]
    added = [json.dumps(record, ensure_ascii=False) for record in add]
    content = "\n".join([json.dumps(header), *records, *added]).encode() + b"\n"
    return parse_file(DEFAULT_REFERENCE_DIR / f"{name}.jsonl", content)


def listed(entry_id: str, name: str) -> dict[str, object]:
    return {"id": entry_id, "name": name, "country": "RU", "program": "test listing"}


def offer(file: ReferenceFile[LoadedRecord], by: str = "alice", **extra: object) -> Offer:
    sha = extra.pop("sha256", f"{hash(file.records) & 0xFFFFFFFF:064x}")
    return Offer(file.header.name, file.header.version, str(sha), by, **extra)  # type: ignore[arg-type]


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(in_use=SHIPPED, broad=BroadNames.shipped(BACKGROUND, 85))


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1999.1.1", "2026.12.1"),  # the year decides: a silent rollback is lower
        ("2026.2.9", "2026.12.1"),  # numbers as numbers, not text
        ("2025-avg.1", "2025-avg.2"),
        ("2026.11.1", "2026.11.1a"),  # a suffix makes it newer
    ],
)
def test_versions_are_ordered_as_people_number_them(lower: str, higher: str) -> None:
    assert version_order(lower) < version_order(higher)


def test_a_version_that_adds_is_applied_and_one_not_newer_is_refused(ledger: Ledger) -> None:
    newer = edited("watchlist_default", "2026.12.1", add=[listed("tw-1", "OOO Novyi Zavod")])
    verdict = ledger.offer(offer(newer), newer)
    assert verdict.action is Action.APPLY and verdict.file is newer
    assert ledger.in_use.files["watchlist_default"].label == "watchlist_default@2026.12.1"
    older = edited("watchlist_default", "1999.1.1", add=[listed("tw-1", "OOO Novyi Zavod")])
    refused = ledger.offer(offer(older), older)
    assert refused.action is Action.REFUSE
    assert "not newer than watchlist_default@2026.12.1" in refused.reason
    assert ledger.in_use.files["watchlist_default"].label == "watchlist_default@2026.12.1"
    again = ledger.offer(offer(newer), newer)
    assert again.action is Action.SAME


def test_two_contents_under_one_label_are_refused(ledger: Ledger) -> None:
    one = edited("watchlist_default", "2026.12.1", add=[listed("tw-1", "OOO Novyi Zavod")])
    other = edited("watchlist_default", "2026.12.1", add=[listed("tw-2", "OOO Staryi Zavod")])
    assert ledger.offer(offer(one, sha256="a" * 64), one).action is Action.APPLY
    refused = ledger.offer(offer(other, sha256="b" * 64), other)
    assert refused.action is Action.REFUSE and "other content" in refused.reason
    assert ledger.in_use.files["watchlist_default"].records == one.records


@pytest.mark.parametrize(
    ("name", "keep", "phrase"),
    [
        ("destinations", lambda r: r["country"] not in ("RU", "BY"), "removes RU from"),
        ("control_lists", lambda r: r["prefix"] != "93", "removes 93"),
        ("military_firearms", lambda r: "CQ-A" not in r["term"], "removes 'CQ-A"),
        ("watchlist_default", lambda r: "NORINCO" not in json.dumps(r).upper(), "removes name"),
    ],
)
def test_a_version_that_takes_protection_away_is_held_until_another_person_approves(
    ledger: Ledger,
    name: str,
    keep,
    phrase: str,  # type: ignore[no-untyped-def]
) -> None:
    weaker = edited(name, "2099.1.1", keep=keep)
    in_use = SHIPPED.files[name]
    assert weakening(in_use, weaker), "the edit must take something away"
    held = ledger.offer(offer(weaker, by="mallory", sha256="c" * 64), weaker)
    assert held.action is Action.HOLD and phrase in held.reason, held.reason
    assert ledger.in_use.files[name] is in_use  # nothing changed
    mine = ledger.approve(name, "2099.1.1", "c" * 64, "mallory")
    assert mine is not None and mine.action is Action.REFUSE and "another person" in mine.reason
    wrong = ledger.approve(name, "2099.1.1", "d" * 64, "bob")  # not the content held
    assert wrong is not None and wrong.action is Action.REFUSE
    assert ledger.in_use.files[name] is in_use
    approved = ledger.approve(name, "2099.1.1", "c" * 64, "bob")
    assert approved is not None and approved.action is Action.APPLY
    assert ledger.in_use.files[name].label == weaker.label


def test_a_rollback_may_be_older_and_is_judged_like_any_change(ledger: Ledger) -> None:
    first = edited("watchlist_default", "2026.12.1", add=[listed("tw-1", "OOO Novyi Zavod")])
    second = edited(
        "watchlist_default",
        "2026.12.2",
        add=[listed("tw-1", "OOO Novyi Zavod"), listed("tw-2", "OOO Staryi Zavod")],
    )
    assert ledger.offer(offer(first, sha256="1" * 64), first).action is Action.APPLY
    assert ledger.offer(offer(second, sha256="2" * 64), second).action is Action.APPLY
    # Back to the first: it removes tw-2, so it is held like any removal, then approved.
    back = ledger.offer(offer(first, sha256="1" * 64, rollback=True), first)
    assert back.action is Action.HOLD and "tw-2" in back.reason
    assert ledger.approve("watchlist_default", "2026.12.1", "1" * 64, "bob") is not None
    assert ledger.in_use.files["watchlist_default"].label == "watchlist_default@2026.12.1"


def test_a_listed_name_that_matches_many_ordinary_companies_is_held(ledger: Ledger) -> None:
    broad = edited("watchlist_default", "2026.12.1", add=[listed("tw-alfa", "Alfa")])
    held = ledger.offer(offer(broad), broad)
    assert held.action is Action.HOLD
    assert "entry tw-alfa matches" in held.reason and "ordinary company names" in held.reason
    narrow = edited(
        "watchlist_default", "2026.12.2", add=[listed("tw-1", "OOO Novyi Zavod Priborov")]
    )
    assert ledger.offer(offer(narrow), narrow).action is Action.APPLY
    assert not ledger.held  # the newer version took the held one's place


def test_an_approval_that_comes_first_is_kept_for_its_version(ledger: Ledger) -> None:
    weaker = edited("destinations", "2099.1.1", keep=lambda r: r["country"] != "BY")
    assert ledger.approve("destinations", "2099.1.1", "e" * 64, "bob") is None
    verdict = ledger.offer(offer(weaker, by="alice", sha256="e" * 64), weaker)
    assert verdict.action is Action.APPLY and "approved by bob" in verdict.reason
