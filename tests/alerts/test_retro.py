"""Looking back when a party is newly listed: the party index the window stage keeps, and the
retro findings a list change gives over it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from alerts.cases import CaseBook
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from alerts.reference import ReferenceData, parse_file
from alerts.retro import RETRO_RULE_ID, PartyRecord
from alerts.state.formats import PARTY
from tests.conftest import declaration_dict
from tests.streams.test_reference_stream import new_watchlist

T0 = datetime(2026, 9, 1, tzinfo=UTC)
LISTED = "OOO Novyi Zavod Priborov"


def shipment(number: int, day: int, importer: str = LISTED, tax_id: str | None = None) -> bytes:
    party = {"name": importer, "country": "RU"} | ({"tax_id": tax_id} if tax_id else {})
    return orjson.dumps(
        declaration_dict(
            declaration_id=f"PAST-{number}",
            declared_at=(T0 + timedelta(days=day)).isoformat(),
            importer=party,
            hs_code="8471.30",
            goods_description="Laptops",
        )
    )


def listing(version: str = "2026.12.1", *names: str) -> ReferenceData:
    content = new_watchlist(version, *(names or (LISTED,)))
    loaded = parse_file(Path(f"watchlist_default@{version}"), content)
    return ReferenceData.load().replaced(loaded)


def fed(*messages: bytes, retro_days: int = 90) -> OfflinePipeline:
    pipeline = OfflinePipeline(Core.build(CoreOptions(retro_days=retro_days)))
    for offset, raw in enumerate(messages):
        assert isinstance(pipeline.feed(raw, offset), list)
    return pipeline


def test_a_newly_listed_party_names_its_past_declarations() -> None:
    pipeline = fed(
        *(shipment(n, day) for n, day in enumerate([0, 10, 20])), shipment(9, 21, "OOO Drugoi")
    )
    retro = pipeline.list_change(listing(), T0 + timedelta(days=30))
    assert {a.rule_id for a in retro} == {RETRO_RULE_ID}
    assert sorted(a.declaration_ids[0] for a in retro) == ["PAST-0", "PAST-1", "PAST-2"]
    first = retro[0]
    assert first.evidence["list_version"] == "watchlist_default@2026.12.1"
    assert first.evidence["role"] == "importer" and first.event_time == T0
    assert "Newly listed: importer OOO Novyi Zavod Priborov" in first.summary
    # One case per listing and party, with every past declaration.
    book = CaseBook(pipeline.core.scoring)
    for alert in retro:
        book.add(alert)
    [case] = book.latest()
    assert case.declaration_ids == ["PAST-0", "PAST-1", "PAST-2"]
    # The new list screens live from now on.
    later = pipeline.feed(shipment(3, 31), 10)
    assert isinstance(later, list) and any(a.rule_id == "restricted_party.watchlist" for a in later)


def test_the_same_feed_and_change_give_the_same_ids_and_an_old_entry_none() -> None:
    messages = [shipment(n, day) for n, day in enumerate([0, 10, 20])]
    once = {a.alert_id for a in fed(*messages).list_change(listing(), T0 + timedelta(days=30))}
    replayed = fed(*messages, *messages)  # a replay adds nothing to the index
    again = {a.alert_id for a in replayed.list_change(listing(), T0 + timedelta(days=40))}
    assert once == again and len(once) == 3
    # Only declarations before the version's publication are looked back at.
    later = fed(*messages).list_change(listing(), T0 + timedelta(days=15))
    assert sorted(a.declaration_ids[0] for a in later) == ["PAST-0", "PAST-1"]
    # A later version that changes nothing about this entry looks back at nothing.
    assert replayed.list_change(listing("2026.12.2", LISTED), T0 + timedelta(days=50)) == []


def test_the_index_keeps_the_look_back_span_and_a_replay_changes_nothing() -> None:
    pipeline = fed(*(shipment(n, day) for n, day in enumerate([0, 50, 100, 120])))
    [record] = [
        r for k, r in pipeline.store.parties.items() if LISTED.lower().split()[-1] in k.decode()
    ]
    assert [s.declaration_id for s in record.seen] == ["PAST-1", "PAST-2", "PAST-3"]  # 90 days
    assert PARTY.decode(PARTY.encode(record)) == record
    retro = pipeline.list_change(listing(), T0 + timedelta(days=121))
    assert sorted(a.declaration_ids[0] for a in retro) == ["PAST-1", "PAST-2", "PAST-3"]


def test_the_span_kept_is_the_setting_not_a_default() -> None:
    # TRADEWATCH_RETRO_DAYS reaches the party index through the core (the window stage was
    # once built without it, and always kept 90 days).
    pipeline = fed(*(shipment(n, day) for n, day in enumerate([0, 50, 100, 120])), retro_days=30)
    [record] = [
        r for k, r in pipeline.store.parties.items() if LISTED.lower().split()[-1] in k.decode()
    ]
    assert [s.declaration_id for s in record.seen] == ["PAST-2", "PAST-3"]


def test_a_declaration_dated_after_the_publication_but_screened_before_the_swap_is_looked_at() -> (
    None
):
    from alerts.retro import Seen, effective_at_swap, list_changes, retro_alerts

    published, swapped = T0 + timedelta(days=5), T0 + timedelta(days=5, seconds=30)
    [change] = list_changes(ReferenceData.load(), listing(), 85, published)
    record = PartyRecord(LISTED, "RU", "", [])
    at = round((published + timedelta(seconds=10)).timestamp() * 1000)  # in the blind window
    record.seen.append(Seen("BLIND-1", at, "importer"))
    assert retro_alerts(change, "ooo novyi zavod priborov", record, swapped) == []
    [moved] = effective_at_swap([change], swapped)
    [alert] = retro_alerts(moved, "ooo novyi zavod priborov", record, swapped)
    assert alert.declaration_ids == ["BLIND-1"]
    # A version whose effective time is already later stays as it is.
    assert effective_at_swap([change], published - timedelta(days=1)) == [change]
