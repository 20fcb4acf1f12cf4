"""Screening party names and tax ids against watchlists.

Names are compared in a canonical form that survives legal forms (LLC, OOO, Co., Ltd., AO,
GmbH), punctuation, case, word order, and Latin, Cyrillic or Chinese script (transliterated
with anyascii). Tax ids (INN, OGRN, ...) match exactly when both sides have one. Fuzzy scores
come from rapidfuzz; an inverted index of tokens and 4-letter prefixes keeps each lookup to a
handful of candidates however long the lists are, and recurring parties are cached.
"""

import csv
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii
from rapidfuzz import fuzz

from alerts.errors import ReferenceDataError

# Legal forms and filler, compared after transliteration and lower-casing.
_LEGAL_FORM_WORDS = frozenset(
    """
    llc ltd limited co company corp corporation inc incorporated plc llp lp gmbh ag kg sa sas
    sarl spa srl bv nv oy ab as asa aps kft sro zoo sp fze fzco fzc fzllc dmcc jsc ojsc cjsc
    pjsc ojs ao oao zao pao ooo ip tov pat pp tic ticaret sti sirketi anonim san ve dis ith ihr
    pte pty bhd sdn the group holding holdings
    """.split()
)
_LEGAL_FORM_PHRASES = (
    "obshchestvo s ogranichennoi otvetstvennostiu",
    "obshchestvo s ogranichennoy otvetstvennostyu",
    "aktsionernoe obshchestvo",
    "publichnoe aktsionernoe obshchestvo",
    "zakrytoe aktsionernoe obshchestvo",
    "otkrytoe aktsionernoe obshchestvo",
    "limited liability company",
    "joint stock company",
    "closed joint stock company",
    "public joint stock company",
    "sole proprietor",
)
# Chinese legal forms are removed before transliteration, which would glue them to the name.
_CHINESE_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
# Words that say little about which company it is: a match needs more than these.
_COMMON_NAME_WORDS = frozenset(
    """
    international trading trade import export imports exports industrial industries industry
    technology technologies tech electronics electronic engineering systems system solutions
    services service supply logistics global world general corporation concern enterprise
    enterprises manufacturing factory plant works development investment investments partners
    china chinese russia russian hong kong shenzhen moscow beijing shanghai istanbul dubai new
    first east west north south central science scientific research production
    """.split()
)
_SHORT_TOKEN = 4
_TOKEN_SIMILARITY = 85
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_PHRASES = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in _LEGAL_FORM_PHRASES) + r")\b")


@lru_cache(maxsize=262_144)
def normalize_party_name(name: str) -> str:
    """Canonical form of a party name: transliterated, lower-case, legal forms removed.

    >>> normalize_party_name("ООО «Техкрим»")
    'tekhkrim'
    >>> normalize_party_name("Tekhkrim, LLC")
    'tekhkrim'
    """
    text = unicodedata.normalize("NFKC", name)
    for form in _CHINESE_LEGAL_FORMS:
        text = text.replace(form, " ")
    # Split CJK characters apart so each transliterated syllable stays a token.
    text = "".join(f" {ch} " if "\u4e00" <= ch <= "\u9fff" else ch for ch in text)
    # anyascii writes the Cyrillic soft and hard signs as apostrophes: they are not word breaks.
    latin = _NON_ALNUM.sub(" ", anyascii(text).lower().replace("'", "").replace('"', " "))
    latin = _PHRASES.sub(" ", latin)
    tokens = [t for t in latin.split() if t not in _LEGAL_FORM_WORDS]
    return " ".join(tokens)


def normalize_tax_id(tax_id: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", tax_id.upper())


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """One listed party: its names, identifiers and the programme that lists it."""

    list_name: str
    entry_id: str
    name: str
    aliases: tuple[str, ...]
    country: str | None
    tax_ids: tuple[str, ...]
    program: str


@dataclass(frozen=True, slots=True)
class PartyMatch:
    entry: WatchlistEntry
    matched_name: str
    score: float
    method: str  # "tax_id" or "name"


def _keys(normalized: str) -> set[str]:
    keys: set[str] = set()
    for token in normalized.split():
        if len(token) >= 2:
            keys.add(token)
        if len(token) >= 5:
            keys.add(token[:4] + "*")
    return keys


class PartyMatcher:
    """Finds watchlist entries that a party's name or tax id matches.

    >>> matcher = PartyMatcher(entries, threshold=90)
    >>> matcher.match("АО Концерн Калашников", None)
    (PartyMatch(entry=..., matched_name='АО Концерн Калашников', score=100.0, method='name'),)
    """

    def __init__(
        self, entries: Iterable[WatchlistEntry], threshold: float = 90, cache_size: int = 65536
    ) -> None:
        self.threshold = threshold
        self.entries: list[WatchlistEntry] = []
        self._names: list[tuple[str, str, int]] = []  # (normalized, original, entry index)
        self._index: dict[str, list[int]] = defaultdict(list)
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._tax_ids: dict[str, list[int]] = defaultdict(list)
        for entry in entries:
            position = len(self.entries)
            self.entries.append(entry)
            for tax_id in entry.tax_ids:
                self._tax_ids[normalize_tax_id(tax_id)].append(position)
            for original in (entry.name, *entry.aliases):
                normalized = normalize_party_name(original)
                if not normalized:
                    continue
                name_index = len(self._names)
                self._names.append((normalized, original, position))
                self._exact[normalized].append(name_index)
                for key in _keys(normalized):
                    self._index[key].append(name_index)
        self.match = lru_cache(maxsize=cache_size)(self._match)

    def __len__(self) -> int:
        return len(self.entries)

    def _match(self, name: str, tax_id: str | None) -> tuple[PartyMatch, ...]:
        best: dict[int, PartyMatch] = {}
        if tax_id:
            for position in self._tax_ids.get(normalize_tax_id(tax_id), ()):
                best[position] = PartyMatch(self.entries[position], tax_id, 100.0, "tax_id")
        query = normalize_party_name(name)
        if query:
            for name_index in self._candidates(query):
                normalized, original, position = self._names[name_index]
                score = self._score(query, normalized)
                if score >= self.threshold and (
                    position not in best or best[position].score < score
                ):
                    if position in best and best[position].method == "tax_id":
                        continue
                    best[position] = PartyMatch(self.entries[position], original, score, "name")
        return tuple(sorted(best.values(), key=lambda m: (-m.score, m.entry.entry_id)))

    def _candidates(self, query: str) -> set[int]:
        found = set(self._exact.get(query, ()))
        for key in _keys(query):
            found.update(self._index.get(key, ()))
        return found

    @staticmethod
    def _score(query: str, listed: str) -> float:
        if query == listed:
            return 100.0
        # Short names only match exactly: "AZU" must not match "AZOV".
        if min(len(query), len(listed)) < 5:
            return 0.0
        if not _distinctive_tokens_present(query.split(), listed.split()):
            return 0.0
        score = fuzz.token_sort_ratio(query, listed)
        # A listed name found whole inside a longer name is a hit, a little below an exact one,
        # when it has two or more words ("Kalashnikov Concern Izhevsk Branch") or the rest is
        # filler ("Norinco Trading"); not "Kalashnikov Vodka".
        listed_tokens, query_tokens = set(listed.split()), set(query.split())
        if listed_tokens <= query_tokens and (
            len(listed_tokens) >= 2 or query_tokens - listed_tokens <= _COMMON_NAME_WORDS
        ):
            score = max(score, 95.0)
        return float(score)


def _distinctive_tokens_present(query: list[str], listed: list[str]) -> bool:
    """Every distinctive word of the listed name is in the query: short ones exactly.

    "Azur International" must not match "Azu International": the words that tell the company
    apart ("azu") decide, not the filler ("international") that makes the strings look alike.
    """
    distinctive = [t for t in listed if t not in _COMMON_NAME_WORDS]
    for token in distinctive:
        if token in query:
            continue
        if len(token) <= _SHORT_TOKEN or not any(
            len(q) > _SHORT_TOKEN and fuzz.ratio(token, q) >= _TOKEN_SIMILARITY for q in query
        ):
            return False
    return True


OPENSANCTIONS_COLUMNS = ("id", "schema", "name", "aliases", "countries", "identifiers", "sanctions")
OPENSANCTIONS_SCHEMAS = frozenset({"Company", "Organization", "LegalEntity", "PublicBody"})


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split(";") if part.strip())


def load_opensanctions_csv(path: Path) -> tuple[str, list[WatchlistEntry]]:
    """Entries of an OpenSanctions `targets.simple.csv` export, organisations only.

    Returns the list's label (file name and content hash, as alerts cite it) and the entries.
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(path, None, f"cannot read: {exc.strerror}") from exc
    label = f"{path.stem}@sha256:{hashlib.sha256(content).hexdigest()[:12]}"
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(path, None, f"not UTF-8: {exc.reason}") from exc
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in OPENSANCTIONS_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ReferenceDataError(path, 1, f"not an OpenSanctions simple CSV: missing {missing}")
    entries: list[WatchlistEntry] = []
    for row in reader:
        if row.get("schema") not in OPENSANCTIONS_SCHEMAS:
            continue
        if not (row.get("id") or "").strip() or not (row.get("name") or "").strip():
            raise ReferenceDataError(path, reader.line_num, "row without id or name")
        countries = _split(row.get("countries"))
        entries.append(
            WatchlistEntry(
                list_name=path.stem,
                entry_id=row["id"].strip(),
                name=row["name"].strip(),
                aliases=_split(row.get("aliases")),
                country=countries[0].upper() if countries else None,
                tax_ids=_split(row.get("identifiers")),
                program="; ".join(_split(row.get("sanctions")))[:300] or path.stem,
            )
        )
    if not entries:
        raise ReferenceDataError(path, None, "no organisations in the file")
    return label, entries


def entries_from_records(list_name: str, records: Sequence[object]) -> list[WatchlistEntry]:
    """WatchlistEntry objects from the records of a tradewatch watchlist file."""
    from alerts.reference import WatchlistRecord

    return [
        WatchlistEntry(
            list_name=list_name,
            entry_id=r.id,
            name=r.name,
            aliases=tuple(r.aliases),
            country=r.country,
            tax_ids=tuple(r.tax_ids),
            program=r.program,
        )
        for r in records
        if isinstance(r, WatchlistRecord)
    ]
