"""Looking back when a party is newly listed: the party index and retro-screening.

The first question a compliance team asks when a company is newly listed is "what did we
already let through?". The window stage keeps an index of recent parties, changelog-backed like
the window state: normalised party key -> the party as written (name, country, tax id) and the
declarations it appeared in over the last `retro_days` of event time (at most
`MAX_SEEN` of them). When a watchlist version adds or changes entries, those entries are matched
against every party of the index, with the live rule's matcher and threshold, and each hit
raises one `restricted_party.retro` finding per past declaration. Its alert id is deterministic
in (entry, list version, declaration), so a replay (`tradewatch backtest --list-change`) gives
the same ids, and a look back that is interrupted and run again repeats findings but loses none.

    changes = list_changes(old_reference, new_reference, threshold=85)
    for change in changes:
        alerts = retro_alerts(change, party_key, record, detected_at)
"""

import bisect
import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from alerts.display import printable
from alerts.parties import PartyMatch, PartyMatcher, WatchlistEntry, entries_from_records
from alerts.reference import ReferenceData
from alerts.rules.restricted_party import severity_of
from alerts.state.keys import PARTY_PREFIX
from alerts.windows.observations import Declared, Dimension, Observation, party_key
from schemas.alert import Alert, AlertCategory, Subject

RETRO_RULE_ID = "restricted_party.retro"
RETRO_RULE_VERSION = "1"
MAX_SEEN = 200
"""Declarations kept per party: the newest, within the look-back span."""
DAY_MS = 86_400_000

PARTY_INDEX = Dimension(5, "party")
"""Not a window: the party index. Its observations carry the party as written, its role and
tax id (`party_observations`)."""


def party_observations(declared: Declared) -> list[Observation]:
    """The declaration's parties, for the index that looks back when one is newly listed."""
    declaration = declared.declaration
    roles = [("exporter", declaration.exporter), ("importer", declaration.importer)]
    if declaration.declarant is not None:
        roles.append(("declarant", declaration.declarant))
    return [
        Observation(
            PARTY_INDEX.number,
            party_key(party.name, party.country),
            party.name[:300],
            declaration.declaration_id,
            declared.event_ms,
            declared.source_partition,
            declared.source_offset,
            0.0,
            None,
            False,
            "",
            "",
            role,
            party.tax_id or "",
            party.country or "",
        )
        for role, party in roles
    ]


class Seen(msgspec.Struct, array_like=True, frozen=True, gc=False):
    declaration_id: str
    event_time_ms: int
    role: str


class PartyRecord(msgspec.Struct, array_like=True, gc=False):
    """One party of the index: as first written, and where it was seen lately."""

    name: str
    country: str
    tax_id: str
    seen: list[Seen]

    @classmethod
    def of(cls, observation: Observation) -> "PartyRecord":
        return cls(observation.label, observation.country, observation.tax_id, [])

    def add(self, observations: list[Observation], keep_ms: int) -> bool:
        """Take a party's observations in; False if they were all known (a replay). Mostly
        they are newer than any seen, and are appended; an older or equal one is looked for
        among those of its time first."""
        seen = self.seen
        fresh = False
        for o in observations:
            moment = o.event_time_ms
            if seen and moment <= seen[-1].event_time_ms:
                at = bisect.bisect_left(seen, moment, key=_time)
                end = bisect.bisect_right(seen, moment, lo=at, key=_time)
                if any(
                    s.declaration_id == o.declaration_id and s.role == o.role for s in seen[at:end]
                ):
                    continue
                seen.insert(at, Seen(o.declaration_id, moment, o.role))
            else:
                seen.append(Seen(o.declaration_id, moment, o.role))
            fresh = True
            if not self.tax_id and o.tax_id:
                self.tax_id = o.tax_id
        if not fresh:
            return False
        oldest = seen[-1].event_time_ms - keep_ms
        if seen[0].event_time_ms < oldest:
            del seen[: bisect.bisect_left(seen, oldest, key=_time)]
        if len(seen) > MAX_SEEN:
            del seen[: len(seen) - MAX_SEEN]
        return True


def _time(seen: Seen) -> int:
    return seen.event_time_ms


@dataclass(frozen=True)
class ListChange:
    """A watchlist version's new and changed entries, and a matcher over them alone. It looks
    back at declarations before `effective_ms` (when the version was published): those after
    it are screened live against it."""

    label: str
    entries: tuple[WatchlistEntry, ...]
    matcher: PartyMatcher
    effective_ms: int

    @property
    def key(self) -> str:
        """What a look back's progress is recorded under."""
        return self.label


def list_changes(
    old: ReferenceData, new: ReferenceData, threshold: float, effective: datetime
) -> list[ListChange]:
    """For each watchlist whose version changed, the entries it adds or changes."""
    effective_ms = round(effective.timestamp() * 1000)
    changes = []
    for loaded in new.watchlist_files():
        name = loaded.header.name
        before = old.files.get(name)
        if before is not None and before.label == loaded.label:
            continue
        previous = (
            {e.entry_id: e for e in entries_from_records(name, before.records)}
            if before is not None
            else {}
        )
        fresh = [
            e for e in entries_from_records(name, loaded.records) if previous.get(e.entry_id) != e
        ]
        if fresh:
            entries = tuple(fresh)
            matcher = PartyMatcher(entries, threshold)
            changes.append(ListChange(loaded.label, entries, matcher, effective_ms))
    return changes


def effective_at_swap(changes: list[ListChange], swapped: datetime) -> list[ListChange]:
    """The changes, each looking back at least to when the new list was swapped in: a
    declaration dated after the version's publication but screened before the swap (the build
    and warm-up take seconds at real list sizes) was screened with the old list, and is looked
    back at too. One screened after the swap and dated before it is found twice, live and by
    the look back: a repeat, never a loss."""
    swapped_ms = round(swapped.timestamp() * 1000)
    return [
        change if change.effective_ms >= swapped_ms else replace(change, effective_ms=swapped_ms)
        for change in changes
    ]


def retro_alerts(
    change: ListChange, party_key: str, record: PartyRecord, detected_at: datetime
) -> list[Alert]:
    """The findings one party of the index gives under a list change: one per (entry,
    declaration) it matches, the declaration's event time as the finding's."""
    before = [s for s in record.seen if s.event_time_ms < change.effective_ms]
    if not before:
        return []
    matches = change.matcher.match(record.name, record.tax_id or None, record.country or None)
    return [
        _alert(change, party_key, record, match, seen, detected_at)
        for match in matches
        for seen in before
    ]


def _alert(
    change: ListChange,
    party_key: str,
    record: PartyRecord,
    match: PartyMatch,
    seen: Seen,
    detected_at: datetime,
) -> Alert:
    entry = match.entry
    identity = "\x1f".join(
        (RETRO_RULE_ID, RETRO_RULE_VERSION, entry.list_name, entry.entry_id, change.label,
         seen.declaration_id)
    )  # fmt: skip
    how = "tax id" if match.method == "tax_id" else f"name, score {match.score:.0f}"
    event_time = datetime.fromtimestamp(seen.event_time_ms / 1000, tz=UTC)
    return Alert(
        alert_id=hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        rule_id=RETRO_RULE_ID,
        rule_version=RETRO_RULE_VERSION,
        category=AlertCategory.RESTRICTED_PARTY,
        severity=severity_of(match),
        summary=(
            f"Newly listed: {seen.role} {printable(record.name, 60)} of declaration "
            f"{printable(seen.declaration_id, 40)} ({event_time:%Y-%m-%d}) matches "
            f"{printable(entry.name, 60)}, added in {change.label} ({how}; "
            f"{printable(entry.program, 80)})"
        ),
        declaration_ids=[seen.declaration_id],
        subject=Subject(
            kind="listing",
            key=f"{change.label}|{entry.entry_id}|{party_key}",
            label=f"{printable(record.name, 60)} newly listed as {printable(entry.name, 60)}",
        ),
        evidence={
            "list": entry.list_name,
            "list_version": change.label,
            "entry_id": entry.entry_id,
            "entry_name": entry.name,
            "program": entry.program,
            "party_name": printable(record.name, 200),
            "party_key": party_key,
            "role": seen.role,
            "matched_name": match.matched_name,
            "score": round(match.score, 1),
            "method": match.method,
            "reasons": list(match.reasons),
            "declarations_of_this_party_in_the_index": len(record.seen),
        },
        window=None,
        event_time=event_time,
        detected_at=detected_at,
        reference_data_version=change.label,
        scope={"series": f"party:{party_key}"},
    )


def look_back(
    changes: list[ListChange],
    store: "PartyStore",
    partition: int,
    keys: list[bytes],
    detected_at: datetime,
) -> list[Alert]:
    """The retro findings of these party keys of one partition under the list changes."""
    found: list[Alert] = []
    for key in keys:
        record = store.party(partition, key)
        if record is None or not record.seen:
            continue
        party_key = key.decode("utf-8").removeprefix(PARTY_PREFIX)
        for change in changes:
            found.extend(retro_alerts(change, party_key, record, detected_at))
    return found


class PartyStore(Protocol):
    def party(self, partition: int, key: bytes) -> PartyRecord | None: ...
