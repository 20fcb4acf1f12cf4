"""restricted_party: the exporter, importer or declarant matches a watchlist entry."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alerts.display import printable
from alerts.errors import ReferenceDataError
from alerts.hs import hs_display
from alerts.parties import (
    PartyMatch,
    PartyMatcher,
    WatchlistEntry,
    entries_from_records,
    load_opensanctions_csv,
)
from alerts.reference import ReferenceData, load_file
from alerts.rules.base import DeclarationFacts, Finding, declaration_finding, shipment_line
from schemas.alert import AlertCategory, Severity


def load_watchlists(
    reference: ReferenceData, extra: Sequence[Path] = ()
) -> tuple[list[WatchlistEntry], list[str]]:
    """Every watchlist entry: the shipped lists, then each extra file (.jsonl or .csv).

    Returns the entries and the labels (name@version) that alerts cite.
    """
    entries: list[WatchlistEntry] = []
    labels: list[str] = []
    for loaded in reference.watchlist_files():
        entries.extend(entries_from_records(loaded.header.name, loaded.records))
        labels.append(loaded.label)
    for path in extra:
        if path.suffix == ".csv":
            label, found = load_opensanctions_csv(path)
        elif path.suffix == ".jsonl":
            loaded = load_file(path)
            if loaded.header.kind != "watchlist":
                raise ReferenceDataError(path, 1, "expected a watchlist file (kind 'watchlist')")
            label, found = loaded.label, entries_from_records(loaded.header.name, loaded.records)
        else:
            raise ReferenceDataError(path, None, "watchlists must be .jsonl or .csv files")
        entries.extend(found)
        labels.append(label)
    return entries, labels


def severity_of(match: PartyMatch) -> Severity:
    """Graded by how much of the names is left unexplained: an identifier or the same name
    is CRITICAL, a close variant HIGH, a name found inside a longer one MEDIUM."""
    if match.method == "tax_id" or match.score >= _EXACT:
        return Severity.CRITICAL
    return Severity.HIGH if match.score >= _CLOSE else Severity.MEDIUM


_EXACT, _CLOSE = 97.0, 90.0


@dataclass(frozen=True)
class RestrictedParty:
    """A party to the declaration is on a watchlist: by exact tax id, or by name."""

    matcher: PartyMatcher
    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "restricted_party.watchlist"
    version: str = "2"
    category: AlertCategory = AlertCategory.RESTRICTED_PARTY

    @classmethod
    def build(
        cls,
        reference: ReferenceData,
        restricted: frozenset[str],
        extra_watchlists: Sequence[Path] = (),
        threshold: float = 85,
        saved: Path | None = None,
    ) -> "RestrictedParty":
        entries, labels = load_watchlists(reference, extra_watchlists)
        matcher = PartyMatcher(entries, threshold, saved=saved)
        return cls(matcher, restricted, ",".join(sorted(labels)))

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        roles = [("exporter", declaration.exporter), ("importer", declaration.importer)]
        if declaration.declarant is not None:
            roles.append(("declarant", declaration.declarant))
        hits: list[tuple[str, str, PartyMatch]] = []
        for role, party in roles:
            for match in self.matcher.match(party.name, party.tax_id, party.country):
                hits.append((role, party.name, match))
        if not hits:
            return []
        strongest = max(hits, key=lambda hit: hit[2].score)
        role, name, match = strongest
        severity = severity_of(match)
        how = "tax id" if match.method == "tax_id" else f"name, score {match.score:.0f}"
        if match.reasons:
            how += f" via {', '.join(match.reasons)}"
        summary = (
            f"{role.capitalize()} {printable(name, 60)} matches "
            f"{printable(match.entry.name, 60)} on {match.entry.list_name} ({how}; "
            f"{printable(match.entry.program, 80)}): HS {hs_display(declaration.hs_code)}, "
            f"{shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                severity,
                summary,
                {
                    "matches": [
                        {
                            "role": hit_role,
                            "party_name": printable(hit_name, 200),
                            "list": m.entry.list_name,
                            "entry_id": m.entry.entry_id,
                            "entry_name": m.entry.name,
                            "matched_name": m.matched_name,
                            "score": round(m.score, 1),
                            "method": m.method,
                            "reasons": list(m.reasons),
                            "aligned": list(m.aligned),
                            "program": m.entry.program,
                        }
                        for hit_role, hit_name, m in hits
                    ],
                    "destination_country": declaration.destination_country,
                    "restricted_destination": (
                        declaration.destination_country in self.restricted_destinations
                    ),
                },
            )
        ]
