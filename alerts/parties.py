"""Screening party names and tax ids against watchlists.

Names are compared in a canonical form that survives legal forms (LLC, OOO, Co., Ltd., AO,
GmbH), punctuation, case, word order, and Latin, Cyrillic or Chinese script (transliterated
with anyascii). Tax ids (INN, OGRN, ...) match exactly when both sides have one. Fuzzy scores
come from rapidfuzz; an inverted index of tokens and 4-letter prefixes keeps each lookup to a
handful of candidates however long the lists are, and recurring parties are cached.
"""

import csv
import hashlib
import heapq
import itertools
import math
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from anyascii import anyascii
from wordfreq import zipf_frequency

from alerts.errors import ReferenceDataError
from alerts.names import Agreement, Token, agree, analyse, fold

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
    """A watchlist entry that a party matches, how strongly, and why.

    `reasons` name the kinds of variation the match went through: alias, transliteration,
    spelling, translation, abbreviation, joined words, containment (one name inside the other)
    and country (the party's country agrees or disagrees with the entry's).
    """

    entry: WatchlistEntry
    matched_name: str
    score: float
    method: str  # "tax_id" or "name"
    reasons: tuple[str, ...] = ()
    aligned: tuple[str, ...] = ()  # "query word = listed word (kind)"


@dataclass(frozen=True, slots=True)
class _ListedName:
    tokens: tuple[Token, ...]
    original: str
    entry: int
    alias: bool


_NOT_DISTINCTIVE = 2  # tokens this short (initials, "sa", "as") never tell a company apart
_CONCEPT_SHARE = 0.15  # a company word or place weighs at most this share of the rarest word
_ANCHOR_SHARE = 0.5  # a word this rare (relative to the rarest) can carry a match
_CONTAINMENT_WEIGHT = 0.8
# At real list sizes (hundreds of thousands of names) a common word's postings would make every
# declaration compare thousands of names. A key shared by more names than a word that can anchor
# a match (_ANCHOR_SHARE) finds no candidate (another, rarer word of the same name does), and
# of the candidates those sharing the most rare keys are compared first, up to a bound.
_MIN_POSTINGS = 1000
_MAX_CANDIDATES = 64
# Words of ordinary English weigh less, down to this share at Zipf frequency 6 ("power"),
# in full up to Zipf 2.5 (rare words, coined names: "Sovfracht" is 0, "Kerch" 2.1).
_COMMON_FLOOR = 0.3
_RARE_ZIPF, _COMMON_ZIPF = 2.5, 6.0
_COUNTRY_AGREES = 3.0
_COUNTRY_DISAGREES = -7.0


def _index_keys(tokens: tuple[Token, ...]) -> set[str]:
    keys: set[str] = set()
    words = [t for t in tokens if not t.concept]
    for token in words:
        if len(token.key) >= 2:
            keys.add(token.key)
            keys.add("~" + token.stem)
        if len(token.key) >= 5:
            keys.add(token.key[:4] + "*")
    for first, second in itertools.pairwise(tokens):
        keys.add(fold(first.written + second.written))  # "hong kong" finds "hongkong"
    return keys


class PartyMatcher:
    """Finds watchlist entries that a party's name or tax id matches.

    Names are compared token by token (`alerts.names`): distinctive words by their
    transliteration-folded keys, company words and places as concepts. Each token weighs as
    much as it is rare among the loaded names (inverse document frequency), so a match rests
    on the words that tell one company from another, and single letters never count. The
    score is mostly how completely the shorter name is found in the longer one, and partly
    how little of the longer one is left over, so "Vektor" against a listed "Vektor Bank
    Group" matches, a little below an exact hit.

    >>> matcher = PartyMatcher(entries, threshold=85)
    >>> matcher.match("Tula Cartridge Works", None)[0].reasons
    ('alias', 'transliteration', 'translation')
    """

    def __init__(
        self, entries: Iterable[WatchlistEntry], threshold: float = 85, cache_size: int = 65536
    ) -> None:
        self.threshold = threshold
        self.entries: list[WatchlistEntry] = []
        self._names: list[_ListedName] = []
        # Postings as arrays of 4-byte ints: at list scale, lists of int objects were the
        # largest part of the matcher.
        self._index: dict[str, array[int]] = defaultdict(partial(array, "I"))
        self._exact: dict[tuple[str, ...], array[int]] = defaultdict(partial(array, "I"))
        self._tax_ids: dict[str, list[int]] = defaultdict(list)
        document_frequency: Counter[str] = Counter()
        for entry in entries:
            position = len(self.entries)
            self.entries.append(entry)
            for tax_id in entry.tax_ids:
                self._tax_ids[normalize_tax_id(tax_id)].append(position)
            for number, original in enumerate((entry.name, *entry.aliases)):
                tokens = analyse(original)
                if not tokens:
                    continue
                name_index = len(self._names)
                self._names.append(_ListedName(tokens, original, position, number > 0))
                self._exact[tuple(sorted(t.key for t in tokens))].append(name_index)
                document_frequency.update({t.key for t in tokens})
                for key in _index_keys(tokens):
                    self._index[key].append(name_index)
        count = max(len(self._names), 1)
        self._rarest = math.log(1 + count)
        anchor_df = count / max((1 + count) ** _ANCHOR_SHARE - 1, 1.0)
        self._posting_limit = max(_MIN_POSTINGS, int(2 * anchor_df))
        self._idf = {key: math.log(1 + count / df) for key, df in document_frequency.items()}
        self.match = lru_cache(maxsize=cache_size)(self._match)

    def __len__(self) -> int:
        return len(self.entries)

    def weight(self, token: Token) -> float:
        """How much a token tells one listed company from another: its rarity on the lists,
        less for words of ordinary language; company words and places count little."""
        if token.initials or (len(token.written) <= _NOT_DISTINCTIVE and not token.concept):
            return 0.0
        rarity = self._idf.get(token.key, self._rarest)
        if token.concept:
            return min(rarity, _CONCEPT_SHARE * self._rarest)
        return rarity * _ordinariness(token.written)

    def _match(
        self, name: str, tax_id: str | None, country: str | None = None
    ) -> tuple[PartyMatch, ...]:
        best: dict[int, PartyMatch] = {}
        if tax_id:
            for position in self._tax_ids.get(normalize_tax_id(tax_id), ()):
                best[position] = PartyMatch(self.entries[position], tax_id, 100.0, "tax_id")
        query = analyse(name)
        if query:
            for name_index in self._candidates(query):
                listed = self._names[name_index]
                found = self._compare(query, listed, country)
                if found is None or found.score < self.threshold:
                    continue
                current = best.get(listed.entry)
                if current is None or (current.method == "name" and current.score < found.score):
                    best[listed.entry] = found
        return tuple(sorted(best.values(), key=lambda m: (-m.score, m.entry.entry_id)))

    def _candidates(self, query: tuple[Token, ...]) -> set[int]:
        exact = set(self._exact.get(tuple(sorted(t.key for t in query)), ()))
        limit = self._posting_limit
        lists = [
            postings
            for key in _index_keys(query)
            if (postings := self._index.get(key)) and len(postings) <= limit
        ]
        found = exact.union(*lists)
        if len(found) <= _MAX_CANDIDATES:
            return found
        # Too many to compare: those that share the rarest keys with the query first.
        shared: dict[int, float] = defaultdict(float)
        for postings in lists:
            rarity = 1.0 / len(postings)
            for name_index in postings:
                shared[name_index] += rarity
        ranked = heapq.nlargest(_MAX_CANDIDATES, shared.items(), key=lambda item: item[1])
        return exact | {name_index for name_index, _ in ranked}

    def _compare(
        self, query: tuple[Token, ...], listed: _ListedName, country: str | None
    ) -> PartyMatch | None:
        entry = self.entries[listed.entry]
        aligned = _align(query, listed.tokens)
        same = sorted(t.key for t in query) == sorted(t.key for t in listed.tokens)
        anchored = same or any(
            (query[i].concept or len(query[i].written) >= 3)
            and self._idf.get(listed.tokens[j].key, self._rarest) >= _ANCHOR_SHARE * self._rarest
            and self.weight(listed.tokens[j]) > 0
            for i, j, _ in aligned
        )
        if not anchored:
            return None
        query_total = sum(self.weight(t) for t in query)
        listed_total = sum(self.weight(t) for t in listed.tokens)
        if not same and not (query_total and listed_total):
            return None
        # A joined pair puts one token beside two: each token counts once.
        query_found = sum(
            self.weight(query[i]) * a.similarity for i, a in {i: a for i, _, a in aligned}.items()
        )
        listed_found = sum(
            self.weight(listed.tokens[j]) * a.similarity
            for j, a in {j: a for _, j, a in aligned}.items()
        )
        coverage = (
            min(query_found / query_total, 1.0) if query_total else 1.0,
            min(listed_found / listed_total, 1.0) if listed_total else 1.0,
        )
        containment, completeness = max(coverage), min(coverage)
        score = 100 * (_CONTAINMENT_WEIGHT * containment + (1 - _CONTAINMENT_WEIGHT) * completeness)
        reasons = ["alias"] if listed.alias else []
        reasons += sorted({a.kind for _, _, a in aligned} - {"exact"})
        if same:
            score = 100.0
        elif completeness < 0.95:
            reasons.append("containment")
        if country and entry.country:
            agrees = country.upper() == entry.country.upper()
            score += _COUNTRY_AGREES if agrees else _COUNTRY_DISAGREES
            reasons.append("country agrees" if agrees else "country differs")
        score = min(round(score, 1), 100.0)
        return PartyMatch(
            entry,
            listed.original,
            score,
            "name",
            tuple(reasons),
            tuple(
                f"{query[i].written} = {listed.tokens[j].written} ({a.kind})" for i, j, a in aligned
            ),
        )


@lru_cache(maxsize=262_144)
def _ordinariness(word: str) -> float:
    zipf = zipf_frequency(word, "en")
    share = (zipf - _RARE_ZIPF) / (_COMMON_ZIPF - _RARE_ZIPF)
    return 1.0 - (1.0 - _COMMON_FLOOR) * min(max(share, 0.0), 1.0)


def _align(query: tuple[Token, ...], listed: tuple[Token, ...]) -> list[tuple[int, int, Agreement]]:
    """Pairs of query and listed tokens that agree, each token used once, best pairs first.

    Two or three adjacent tokens on one side may stand for one on the other ("Hong Kong" and
    "Hongkong", "Fana Moj" and "Fanamoj", "Eco-Tech" and "Ekotekh"): those are found first.
    """
    aligned: list[tuple[int, int, Agreement]] = []
    used_query: set[int] = set()
    used_listed: set[int] = set()
    joined_agreement = Agreement(0.95, "joined words")
    for one, other, flip in ((query, listed, False), (listed, query, True)):
        used_one, used_other = (used_listed, used_query) if flip else (used_query, used_listed)
        for size in (3, 2):
            for k in range(len(one) - size + 1):
                run = range(k, k + size)
                if any(r in used_one for r in run):
                    continue
                joined = fold("".join(one[r].written for r in run))
                for m, token in enumerate(other):
                    if m in used_other or token.concept or token.key != joined:
                        continue
                    used_one.update(run)
                    used_other.add(m)
                    aligned += [
                        (m, r, joined_agreement) if flip else (r, m, joined_agreement) for r in run
                    ]
                    break
    pairs: list[tuple[float, int, int, Agreement]] = []
    for i, q in enumerate(query):
        if i in used_query:
            continue
        for j, t in enumerate(listed):
            if j in used_listed:
                continue
            agreement = agree(q, t)
            if agreement is not None:
                pairs.append((agreement.similarity, i, j, agreement))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    for _, i, j, agreement in pairs:
        if i not in used_query and j not in used_listed:
            used_query.add(i)
            used_listed.add(j)
            aligned.append((i, j, agreement))
    return aligned


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
