"""What a new reference version may change on its own, and what waits for a second person.

Reference data steers every worker: one file can take Russia off the restricted destinations,
a heading off a control list, or put "Alfa" on a watchlist and open a case for every Alfa of
the region. So a new version is compared with the version in use before it takes effect:

- **refused**: a version not newer than the one in use (unless published as a rollback), or a
  second, different content under a version label already seen;
- **held**: a version that takes protection away (a restricted destination, a controlled or
  classified heading, a goods term, a listed entry or one of its names or tax ids, a lower case
  weight) or adds a listed name so broad that it matches more than a small share of ordinary
  company names. It is not applied until an approval record from a person other than its
  publisher names its exact content;
- **applied** otherwise.

The ledger decides from the records alone, in topic order, so every worker, every restart and a
backtest over the same records reach the same decisions.

    ledger = Ledger(in_use=reference)
    verdict = ledger.offer(manifest_facts, loaded_file)     # apply, hold, refuse or same
    verdict = ledger.approve(approval_facts)                # the held version, now applied
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from alerts.parties import PartyMatcher
from alerts.reference import (
    CaseScoringRecord,
    ControlListRecord,
    CountryListRecord,
    HsGroupRecord,
    LexiconRecord,
    LoadedRecord,
    ReferenceData,
    ReferenceFile,
    WatchlistEntry,
)

ORDINARY_PARTIES_FILE = Path(__file__).resolve().parent / "ordinary_parties.txt"
BROAD_SHARE = 0.0005
"""A new listed name that matches more than this share of ordinary company names is held."""
BROAD_MIN_HITS = 3
_LISTED = ["restricted_party"]


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """A version as a sortable key: numbers compare as numbers, words as words, any number
    before any word ("2026.12.1" > "2026.2.9" > "1999.1.1"; "2025-avg.1" < "2025-avg.2")."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"[^0-9A-Za-z]+|(?<=\d)(?=[A-Za-z])|(?<=[A-Za-z])(?=\d)", version)
        if part
    )


class Action(StrEnum):
    APPLY = "apply"
    HOLD = "hold"
    REFUSE = "refuse"
    SAME = "same"
    """The version in use, published again: nothing to do."""


@dataclass(frozen=True)
class Offer:
    """What the ledger needs of a version's manifest."""

    name: str
    version: str
    sha256: str
    published_by: str | None
    rollback: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Verdict:
    action: Action
    offer: Offer
    reason: str
    file: ReferenceFile[LoadedRecord] | None = None
    """The file to apply (for APPLY)."""


def _identities(records: Iterable[Any], kind: str) -> dict[Any, Any]:
    """Each record's identity (what it protects) and the value a lower one of is weaker."""
    out: dict[Any, Any] = {}
    for r in records:
        if isinstance(r, CountryListRecord):
            out[(r.list, r.country)] = None
        elif isinstance(r, ControlListRecord):
            out[(r.list, r.prefix)] = ("critical", "high", "medium", "low").index(r.severity)
        elif isinstance(r, HsGroupRecord):
            out[(r.group, r.prefix)] = None
        elif isinstance(r, LexiconRecord):
            out[(r.group, r.language, r.term)] = None
        elif isinstance(r, CaseScoringRecord):
            out[(r.category, r.severity)] = -r.weight
        elif isinstance(r, WatchlistEntry):
            for name in (r.name, *r.aliases):
                out[(r.entry_id, "name", name)] = None
            for tax_id in r.tax_ids:
                out[(r.entry_id, "tax_id", tax_id)] = None
    return out


def _phrase(kind: str, identity: tuple[Any, ...]) -> str:
    if kind == "country_lists":
        return f"{identity[1]} from {identity[0]}"
    if kind == "watchlist":
        return f"{identity[1]} {identity[2]!r} of entry {identity[0]}"
    if kind == "lexicon":
        return f"{identity[2]!r} ({identity[1]}) from {identity[0]}"
    return f"{' '.join(str(part) for part in identity[1::-1])}"


def weakening(old: ReferenceFile[LoadedRecord], new: ReferenceFile[LoadedRecord]) -> list[str]:
    """What the new version takes away that the old one protected, each in a short phrase:
    records gone, control severities lowered, case weights lowered. Rates and value bands are
    values, not protection, and change freely."""
    kind = new.header.kind
    if kind in ("fx_rates", "unit_value_bands"):
        return []
    before, after = _identities(old.records, kind), _identities(new.records, kind)
    taken = []
    for identity, rank in before.items():
        if identity not in after:
            taken.append(f"removes {_phrase(kind, identity)}")
        elif rank is not None and after[identity] is not None and after[identity] > rank:
            taken.append(f"lowers {_phrase(kind, identity)}")
    return sorted(taken)


@dataclass
class BroadNames:
    """Finds listed names that would match many ordinary companies.

    The probe is deterministic: a matcher over the shipped watchlist and the new entries (the
    new names at their most distinctive, as on a short list), asked about a fixed sample of
    ordinary company names shipped with tradewatch. Every worker reaches the same answer."""

    population: Sequence[str]
    background: Sequence[WatchlistEntry]
    threshold: float = 85
    share: float = BROAD_SHARE

    @classmethod
    def shipped(cls, background: Sequence[WatchlistEntry], threshold: float) -> "BroadNames":
        lines = ORDINARY_PARTIES_FILE.read_text(encoding="utf-8").splitlines()
        names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        return cls(names, background, threshold)

    @property
    def limit(self) -> int:
        return max(BROAD_MIN_HITS, int(self.share * len(self.population)))

    def find(self, added: Sequence[WatchlistEntry]) -> list[str]:
        """The added entries whose names match more ordinary names than the limit."""
        if not added or not self.population:
            return []
        ids = {entry.entry_id for entry in added}
        known = [e for e in self.background if e.entry_id not in ids]
        matcher = PartyMatcher([*known, *added], threshold=self.threshold, cache_size=0)
        hits: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for name in self.population:
            for found in matcher.match(name, None):
                if found.entry.entry_id in ids:
                    hits[found.entry.entry_id] += 1
                    examples.setdefault(found.entry.entry_id, name)
        return [
            f"entry {entry_id} matches {count} of {len(self.population)} ordinary company names "
            f"(e.g. {examples[entry_id]!r}; the limit is {self.limit})"
            for entry_id, count in sorted(hits.items())
            if count > self.limit
        ]


def added_entries(
    old: ReferenceFile[LoadedRecord] | None, new: ReferenceFile[LoadedRecord]
) -> list[WatchlistEntry]:
    """Entries of a watchlist version that are new, or whose names changed."""
    before = {
        e.entry_id: (e.name, e.aliases)
        for e in (old.records if old is not None else ())
        if isinstance(e, WatchlistEntry)
    }
    return [
        e
        for e in new.records
        if isinstance(e, WatchlistEntry) and before.get(e.entry_id) != (e.name, e.aliases)
    ]


@dataclass
class _Held:
    offer: Offer
    file: ReferenceFile[LoadedRecord]
    reasons: list[str]


@dataclass
class Ledger:
    """Every version offered, in topic order, and what became of it.

    >>> ledger = Ledger(in_use=ReferenceData.load(), broad=BroadNames.shipped(entries, 85))
    """

    in_use: ReferenceData
    broad: BroadNames | None = None
    seen: dict[str, str] = field(default_factory=dict)
    """Each version label ever offered, with the content it was offered with."""
    held: dict[str, _Held] = field(default_factory=dict)
    """By file name: the newest version waiting for approval."""
    approvals: dict[tuple[str, str], str] = field(default_factory=dict)
    """Approvals (label, sha256 and approver) seen before the version they name."""
    in_use_sha: dict[str, str] = field(default_factory=dict)

    def offer(self, offer: Offer, file: ReferenceFile[LoadedRecord]) -> Verdict:
        """Judge one whole, valid version against the version in use of its file."""
        known = self.seen.get(offer.label)
        if known is not None and known != offer.sha256:
            return Verdict(
                Action.REFUSE,
                offer,
                f"{offer.label} was published before with other content: a version label "
                "names one content (publish it as a new version)",
            )
        self.seen[offer.label] = offer.sha256
        current = self.in_use.files.get(offer.name)
        if current is not None:
            if current.header.version == offer.version:
                if self.in_use_sha.get(offer.name, offer.sha256) != offer.sha256:
                    return Verdict(
                        Action.REFUSE, offer, f"{offer.label} is in use with other content"
                    )
                return Verdict(Action.SAME, offer, f"{offer.label} is the version in use")
            newer = version_order(offer.version) > version_order(current.header.version)
            if not newer and not offer.rollback:
                return Verdict(
                    Action.REFUSE,
                    offer,
                    f"{offer.label} is not newer than {current.label} in use (publish it with "
                    "--rollback if that is meant)",
                )
        reasons = weakening(current, file) if current is not None else []
        if file.header.kind == "watchlist" and self.broad is not None:
            reasons += self.broad.find(added_entries(current, file))
        if reasons:
            self.held[offer.name] = _Held(offer, file, reasons)
            approver = self.approvals.get((offer.label, offer.sha256))
            if approver is not None and approver != offer.published_by:
                return self._apply(offer, file, f"approved by {approver} before it came")
            return Verdict(Action.HOLD, offer, "; ".join(reasons[:5]) + _more(reasons))
        return self._apply(offer, file, "")

    def approve(self, name: str, version: str, sha256: str, approved_by: str) -> Verdict | None:
        """Apply the held version this approval names; None if it names nothing held (it is
        kept, in case its version comes later), or a refusal."""
        label = f"{name}@{version}"
        held = self.held.get(name)
        if held is None or held.offer.version != version or held.offer.sha256 != sha256:
            if label not in self.seen:
                self.approvals[(label, sha256)] = approved_by
                return None
            offer = Offer(name, version, sha256, None)
            return Verdict(Action.REFUSE, offer, f"approval of {label}: that content is not held")
        if held.offer.published_by is not None and approved_by == held.offer.published_by:
            return Verdict(
                Action.REFUSE,
                held.offer,
                f"approval of {label} by its own publisher {approved_by}: another person must "
                "approve it",
            )
        return self._apply(held.offer, held.file, f"approved by {approved_by}")

    def _apply(self, offer: Offer, file: ReferenceFile[LoadedRecord], reason: str) -> Verdict:
        self.held.pop(offer.name, None)
        self.in_use = self.in_use.replaced(file)
        self.in_use_sha[offer.name] = offer.sha256
        return Verdict(Action.APPLY, offer, reason, file)


def _more(reasons: list[str]) -> str:
    return f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
