"""Screening party names and tax ids against watchlists.

Names are compared in a canonical form that survives legal forms (LLC, OOO, Co., Ltd., AO,
GmbH), punctuation, case, word order, and Latin, Cyrillic or Chinese script (transliterated
with anyascii). Tax ids (INN, OGRN, ...) match exactly when both sides have one. Fuzzy scores
come from rapidfuzz; an inverted index of tokens and 4-letter prefixes keeps each lookup to a
handful of candidates however long the lists are, and recurring parties are cached.
"""

import bisect
import csv
import dataclasses
import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import re
import threading
import time
import unicodedata
import weakref
import zipfile
from array import array
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy
from anyascii import anyascii
from wordfreq import zipf_frequency

import alerts.company_words
import alerts.names
from alerts.errors import ReferenceDataError
from alerts.memory import release_free_memory
from alerts.name_analysis import analysed
from alerts.names import VOCABULARY, Agreement, Token, agree, analyse, broader, fold
from alerts.reference import WatchlistEntry as WatchlistEntry  # where it was defined before
from alerts.text import single_script

log = logging.getLogger(__name__)

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
    text = single_script(unicodedata.normalize("NFKC", name))
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


def _token_keys(token: Token) -> list[str]:
    """The index keys of one listed word: itself, its stem, its first four letters."""
    if token.concept:
        # A city or region finds a name ("Sevastopol", "@ua-cri"), if few names have it (the
        # posting limit). A country does not, nor does a company word: too many names hold them.
        return [token.key] if token.key.startswith("@") and "-" in token.key else []
    keys = []
    if len(token.key) >= 2:
        keys += [token.key, *("~" + s for s in token.stems)]
    if len(token.key) >= 5:
        keys.append(token.key[:4] + "*")
    return keys


_SPLIT = 6  # a query word this long may be listed as two ("Hongkong", "Hong Kong")


def _query_keys(tokens: tuple[Token, ...]) -> set[str]:
    """The keys a party's name is looked up under: its words' own, each pair of words joined
    ("hong kong" finds a listed "hongkong"), and each long word's halves ("hongkong" finds a
    listed "hong kong": the listed side holds its words only)."""
    keys = {key for token in tokens for key in _token_keys(token)}
    for _, _, joined in _runs(tuple(t.written for t in tokens)):
        keys.update((joined, joined[:4] + "*"))  # "chong chon gang": "chongchongang"
    for token in tokens:
        if not token.concept and len(token.key) >= _SPLIT:
            for cut in range(3, len(token.key) - 2):
                keys.update((token.key[:cut], token.key[cut:]))
    return keys


def _renumbered(tokens: Any) -> tuple[Any, Any]:
    """The distinct token numbers in order, and each token's place among them (as
    numpy.unique's return_inverse, in linear time: token numbers are small and dense)."""
    if not len(tokens):
        return numpy.zeros(0, dtype=numpy.int64), numpy.zeros(0, dtype=numpy.int64)
    present = numpy.bincount(tokens) > 0
    used = numpy.flatnonzero(present)
    places = numpy.cumsum(present) - 1
    return used, places[tokens]


def _packed(typecode: str, values: Any) -> "array[int]":
    """A numpy array as a plain array: read without numpy on the screening path."""
    return array(typecode, numpy.asarray(values).astype(numpy.dtype(typecode)).tobytes())


_PAIR = numpy.uint64(0x9E3779B97F4A7C15)


def _pair_hash(first: Any, second: Any) -> Any:
    """Two tokens' key hashes as the hash of the pair, in their order (arrays or ints)."""
    if isinstance(first, int):
        return (first * int(_PAIR) + second) % (1 << 64)
    with numpy.errstate(over="ignore"):
        return first * _PAIR + second


def _written_hash(token: Token) -> int:
    """A token as written, spelling folded: what a pair of tokens is indexed under."""
    return _hash(fold(token.written.replace(" ", "")))


@lru_cache(maxsize=65_536)
def _hash(key: str) -> int:
    """A key's 64-bit hash, the same in every process (a saved index stays valid)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


_LARGE = 10_000  # names: a matcher this large gives back the memory its build used
_KEPT = 3  # analyses kept in a folder: the lists in use, the last version, and one more


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


_ANALYSIS_VERSION = hashlib.blake2b(
    b"".join(
        Path(module.__file__ or "").read_bytes() for module in (alerts.names, alerts.company_words)
    )
    + alerts.names.CHINESE_CITIES_FILE.read_bytes()
    + f"rigour {version('rigour')} anyascii {version('anyascii')}".encode(),
    digest_size=8,
).hexdigest()
"""What a name's analysis depends on: a kept analysis made by other code is not read."""


def _digest(entries: Sequence[WatchlistEntry]) -> str:
    """The names of these entries, in order, with the analysis version: a kept analysis
    is read only for exactly the names it was made from."""
    digest = hashlib.blake2b(_ANALYSIS_VERSION.encode(), digest_size=16)
    for entry in entries:
        digest.update(
            "\x1f".join((entry.list_name, entry.entry_id, entry.name, *entry.aliases)).encode()
        )
        digest.update(b"\x1e")
    return digest.hexdigest()


_BUILT: list["weakref.ref[PartyMatcher]"] = []


def _latest() -> "PartyMatcher | None":
    """The largest matcher built in this process that is still in use."""
    _BUILT[:] = [ref for ref in _BUILT if ref() is not None]
    alive = [m for ref in _BUILT if (m := ref()) is not None]
    return max(alive, key=lambda m: m.names, default=None)


class _Reuse:
    """The analysed names of an earlier matcher, by entry: a new version of a list re-reads
    only the names that changed."""

    def __init__(self, earlier: "PartyMatcher | None") -> None:
        self._earlier = earlier
        self._positions = (
            {(e.list_name, e.entry_id): p for p, e in enumerate(earlier.entries)}
            if earlier is not None
            else {}
        )

    def names(self, entry: WatchlistEntry) -> dict[int, tuple[str, "array[int]"]]:
        """The entry's names as the earlier matcher had them: number -> (name, tokens)."""
        position = self._positions.get((entry.list_name, entry.entry_id))
        if position is None or self._earlier is None:
            return {}
        earlier = self._earlier
        found = {}
        for name_index in range(earlier._entry_names[position], earlier._entry_names[position + 1]):
            tokens = earlier._tokens[earlier._starts[name_index] : earlier._starts[name_index + 1]]
            found[earlier._number[name_index]] = (earlier._original(name_index), tokens)
        return found


class PartyMatcher:
    """Finds watchlist entries that a party's name or tax id matches.

    Names are compared token by token (`alerts.names`): distinctive words by their
    transliteration-folded keys, company words and places as concepts. Each token weighs as
    much as it is rare among the loaded names (inverse document frequency), so a match rests
    on the words that tell one company from another, and single letters never count. The
    score is mostly how completely the shorter name is found in the longer one, and partly
    how little of the longer one is left over, so "Vektor" against a listed "Vektor Bank
    Group" matches, a little below an exact hit.

    At real list sizes (500,000 names) the matcher is arrays, not objects: each listed name is
    a run of token numbers (`alerts.names.VOCABULARY`), and the index is one sorted array of
    key hashes over one array of postings. A matcher built on a new list version reuses the
    analysis of every name the last one built had, and analyses only the names that changed.

    >>> matcher = PartyMatcher(entries, threshold=85)
    >>> matcher.match("Tula Cartridge Works", None)[0].reasons
    ('alias', 'transliteration', 'translation')
    """

    def __init__(
        self,
        entries: Iterable[WatchlistEntry],
        threshold: float = 85,
        cache_size: int = 65536,
        saved: Path | None = None,
    ) -> None:
        """`saved`: a folder where the analysis of the names is kept between starts, so that
        a restart on the same lists reads it instead of analysing every name again."""
        self.threshold = threshold
        self.entries: list[WatchlistEntry] = list(entries)
        self._tax_ids: dict[str, list[int]] = defaultdict(list)
        for position, entry in enumerate(self.entries):
            for tax_id in entry.tax_ids:
                self._tax_ids[normalize_tax_id(tax_id)].append(position)
        # Name n is the tokens _tokens[_starts[n]:_starts[n + 1]], of entry _entry[n], written
        # as that entry's name (_number[n] == 0) or alias _number[n] - 1.
        self._tokens = array("I")
        self._starts = array("I", [0])
        self._entry = array("I")
        self._number = array("H")
        # The names of entry e are _entry_names[e]:_entry_names[e + 1].
        self._entry_names = array("I", [0])
        path = saved / f"{_digest(self.entries)}.npz" if saved is not None else None
        if path is None or not self._read(path):
            self._analyse()
            if path is not None:
                self._write(path)
        self._index()
        self.match = lru_cache(maxsize=cache_size)(self._match)
        self.asked: deque[tuple[str, str | None, str | None]] = deque(maxlen=cache_size)
        """The parties asked about, newest last (each once, when first asked)."""
        _BUILT.append(weakref.ref(self))
        if len(self._entry) >= _LARGE:
            release_free_memory()

    def _analyse(self) -> None:
        reuse = _Reuse(_latest())
        names: list[array[int] | None] = []  # the tokens known, or None: to analyse
        fresh: list[str] = []
        for entry in self.entries:
            known = reuse.names(entry)
            for number, original in enumerate((entry.name, *entry.aliases)):
                earlier = known.get(number)
                if earlier is not None and earlier[0] == original:
                    names.append(earlier[1])
                else:
                    names.append(None)
                    fresh.append(original)
        found = analysed(fresh)
        at = analysed_at = 0
        for position, entry in enumerate(self.entries):
            for number in range(1 + len(entry.aliases)):
                numbers = names[at]
                at += 1
                if numbers is None:
                    numbers = found[analysed_at]
                    analysed_at += 1
                if not numbers:
                    continue
                self._tokens.extend(numbers)
                self._starts.append(len(self._tokens))
                self._entry.append(position)
                self._number.append(number)
            self._entry_names.append(len(self._entry))

    _ARRAYS = ("_starts", "_entry", "_number", "_entry_names")

    def _write(self, path: Path) -> None:
        """Keep the analysis: the names' tokens, numbered among the tokens they use."""
        tokens = numpy.frombuffer(self._tokens, dtype=numpy.uint32)
        used, local = _renumbered(tokens)
        vocabulary = [dataclasses.astuple(VOCABULARY.tokens[n]) for n in used.tolist()]
        arrays: dict[str, Any] = {
            name.strip("_"): numpy.array(getattr(self, name)) for name in self._ARRAYS
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
            with partial.open("wb") as out:
                numpy.savez(
                    out,
                    tokens=local.astype(numpy.uint32),
                    vocabulary=numpy.frombuffer(json.dumps(vocabulary).encode(), dtype=numpy.uint8),
                    **arrays,
                )
            partial.replace(path)
            for stale in sorted(path.parent.glob("*.npz"), key=_modified)[:-_KEPT]:
                stale.unlink(missing_ok=True)
            for left in path.parent.glob("*.partial"):  # a write cut short by a crash
                if time.time() - _modified(left) > 3600:
                    left.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot keep the analysis of the listed names in %s: %s", path, exc)

    def _read(self, path: Path) -> bool:
        """The kept analysis of exactly these names, if there is one and it reads whole."""
        try:
            with numpy.load(path, allow_pickle=False) as kept:
                vocabulary = json.loads(kept["vocabulary"].tobytes())
                numbers = numpy.array(
                    [VOCABULARY.number(Token(*fields)) for fields in vocabulary],
                    dtype=numpy.uint32,
                )
                tokens = numbers[kept["tokens"]]
                arrays = {name: kept[name.strip("_")] for name in self._ARRAYS}
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile) as exc:
            log.warning("the kept analysis %s is unreadable (%s): analysing again", path, exc)
            return False
        if len(arrays["_entry_names"]) != len(self.entries) + 1:
            log.warning("the kept analysis %s does not fit the lists: analysing again", path)
            return False
        self._tokens = _packed("I", tokens)
        for name, values in arrays.items():
            setattr(self, name, _packed(getattr(self, name).typecode, values))
        return True

    def _index(self) -> None:
        """The inverted index, the exact-name hashes and the words' rarity, from the names'
        token numbers: Python visits each distinct token once; the rest is array operations."""
        tokens = numpy.frombuffer(self._tokens, dtype=numpy.uint32)
        bounds = numpy.frombuffer(self._starts, dtype=numpy.uint32).astype(numpy.int64)
        lengths: numpy.ndarray = bounds[1:] - bounds[:-1]
        names = len(lengths)
        count = max(names, 1)
        self._rarest = math.log(1 + count)
        anchor_df = count / max((1 + count) ** _ANCHOR_SHARE - 1, 1.0)
        self._posting_limit = max(_MIN_POSTINGS, int(2 * anchor_df))
        # Each distinct token: its index keys' hashes, its key, and its key's hash.
        used, local = _renumbered(tokens)
        vocabulary = VOCABULARY.tokens
        key_numbers: dict[str, int] = {}
        token_hashes: list[int] = []
        token_counts = numpy.zeros(len(used), dtype=numpy.int64)
        token_key = numpy.zeros(len(used), dtype=numpy.int64)
        token_key_hash = numpy.zeros(len(used), dtype=numpy.uint64)
        token_written_hash = numpy.zeros(len(used), dtype=numpy.uint64)
        for slot, number in enumerate(used.tolist()):
            token = vocabulary[number]
            hashes = [_hash(key) for key in _token_keys(token)]
            token_hashes += hashes
            token_counts[slot] = len(hashes)
            token_key[slot] = key_numbers.setdefault(token.key, len(key_numbers))
            token_key_hash[slot] = _hash(token.key)
            token_written_hash[slot] = _written_hash(token)
        # Every (key, name) pair once, ordered by key then name: the postings.
        name_of = numpy.repeat(numpy.arange(names, dtype=numpy.uint32), lengths)
        counts = token_counts[local]
        first = numpy.concatenate(([0], numpy.cumsum(token_counts)[:-1]))
        ends = numpy.cumsum(counts)
        gather = numpy.repeat(first[local] - (ends - counts), counts) + numpy.arange(
            int(ends[-1]) if names else 0
        )
        key_hash = numpy.array(token_hashes, dtype=numpy.uint64)[gather]
        key_name = numpy.repeat(name_of, counts)
        # Two adjacent tokens, as written, as one key: a name of places and company words
        # only ("Banco de Venezuela") has no word keys.
        adjacent = numpy.flatnonzero(name_of[1:] == name_of[:-1])
        pairs = _pair_hash(
            token_written_hash[local[adjacent]], token_written_hash[local[adjacent + 1]]
        )
        key_hash = numpy.concatenate((key_hash, pairs))
        key_name = numpy.concatenate((key_name, name_of[adjacent]))
        order = numpy.lexsort((key_name, key_hash))
        key_hash, key_name = key_hash[order], key_name[order]
        distinct = numpy.ones(len(key_hash), dtype=bool)
        distinct[1:] = (key_hash[1:] != key_hash[:-1]) | (key_name[1:] != key_name[:-1])
        key_hash, postings = key_hash[distinct], key_name[distinct]
        first_of_key = numpy.ones(len(key_hash), dtype=bool)  # key_hash is in order
        first_of_key[1:] = key_hash[1:] != key_hash[:-1]
        starts = numpy.flatnonzero(first_of_key)
        keys = key_hash[starts]
        self._keys = _packed("Q", keys)
        self._key_starts = _packed("Q", numpy.append(starts, len(key_hash)))
        self._postings = _packed("I", postings)
        # A word's rarity: how many names hold its key.
        held = numpy.sort(token_key[local] * count + name_of)
        held = held[numpy.concatenate(([True], held[1:] != held[:-1]))] if len(held) else held
        df = numpy.bincount(held // count, minlength=len(key_numbers))
        idf = numpy.log(1 + count / numpy.maximum(df, 1))
        self._idf = dict(zip(key_numbers, idf.tolist(), strict=True))
        # A name's multiset of keys as one number (the sum of their hashes): the same name in
        # another word order or spelling of its legal form is one lookup away.
        self._exact = array("Q")
        self._exact_order = array("I")
        if names:
            exact = numpy.add.reduceat(token_key_hash[local], bounds[:-1])
            order = numpy.argsort(exact, kind="stable")
            self._exact_order = _packed("I", order)
            self._exact = _packed("Q", exact[order])

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> int:
        """How many names and aliases are indexed."""
        return len(self._entry)

    def listed(self, name_index: int) -> _ListedName:
        vocabulary = VOCABULARY.tokens
        tokens = tuple(
            vocabulary[n]
            for n in self._tokens[self._starts[name_index] : self._starts[name_index + 1]]
        )
        return _ListedName(
            tokens,
            self._original(name_index),
            self._entry[name_index],
            self._number[name_index] > 0,
        )

    def _original(self, name_index: int) -> str:
        """The name as its entry writes it: the entry's name, or one of its aliases."""
        entry = self.entries[self._entry[name_index]]
        number = self._number[name_index]
        return entry.aliases[number - 1] if number else entry.name

    def weight(self, token: Token) -> float:
        """How much a token tells one listed company from another: its rarity on the lists,
        less for words of ordinary language; company words and places count little."""
        if token.initials or (len(token.written) <= _NOT_DISTINCTIVE and not token.concept):
            return 0.0
        rarity = self._idf.get(token.key, self._rarest)
        if token.concept:
            return min(rarity, _CONCEPT_SHARE * self._rarest)
        return rarity * _ordinariness(token.written)

    def _weights(self, tokens: tuple[Token, ...]) -> list[float]:
        """Each token's weight; a word the name repeats ("Magarach ... Magarach") counts once."""
        seen: set[str] = set()
        weights = []
        for token in tokens:
            weights.append(0.0 if token.key in seen else self.weight(token))
            seen.add(token.key)
        return weights

    def warm(self, earlier: "PartyMatcher", seconds: float) -> int:
        """Ask about the parties `earlier` was asked about last, newest first, for at most
        `seconds`: a new list version then meets recurring parties with its cache warm. At
        500,000 names a party seen for the first time costs 1 to 2 ms, so a batch of
        1,000 declarations screened against a cold matcher took 4.5 s. Returns how many."""
        deadline = time.monotonic() + seconds
        asked = 0
        for query in reversed(list(earlier.asked)):
            if time.monotonic() > deadline:
                break
            self.match(*query)
            asked += 1
        return asked

    def _match(
        self, name: str, tax_id: str | None, country: str | None = None
    ) -> tuple[PartyMatch, ...]:
        self.asked.append((name, tax_id, country))
        best: dict[int, PartyMatch] = {}
        if tax_id:
            for position in self._tax_ids.get(normalize_tax_id(tax_id), ()):
                best[position] = PartyMatch(self.entries[position], tax_id, 100.0, "tax_id")
        query = analyse(name)
        if query:
            # The candidates share most of their words: each pair of words is compared once.
            memo: dict[tuple[int, int], Agreement | None] = {}
            for name_index in self._candidates(query):
                listed = self.listed(name_index)
                found = self._compare(query, listed, country, memo)
                if found is None or found.score < self.threshold:
                    continue
                current = best.get(listed.entry)
                if current is None or (current.method == "name" and current.score < found.score):
                    best[listed.entry] = found
        return tuple(sorted(best.values(), key=lambda m: (-m.score, m.entry.entry_id)))

    def _candidates(self, query: tuple[Token, ...]) -> set[int]:
        # Plain Python over the arrays: numpy would release the GIL at each call and wait
        # for it again behind the screening thread (a new list's warm-up took 24 ms a party).
        exact_hash = sum(_hash(t.key) for t in query) % (1 << 64)
        low = bisect.bisect_left(self._exact, exact_hash)
        high = bisect.bisect_right(self._exact, exact_hash, lo=low)
        exact = set(self._exact_order[low:high])
        keys = {_hash(k) for k in _query_keys(query)}
        keys.update(
            _pair_hash(_written_hash(a), _written_hash(b)) for a, b in itertools.pairwise(query)
        )
        lists = []
        for key in keys:
            at = bisect.bisect_left(self._keys, key)
            if at == len(self._keys) or self._keys[at] != key:
                continue
            start, end = self._key_starts[at], self._key_starts[at + 1]
            # A key shared by more names than an anchoring word can be finds no candidate.
            if end - start <= self._posting_limit:
                lists.append(self._postings[start:end])
        found = exact.union(*lists)
        if len(found) <= _MAX_CANDIDATES:
            return found
        # Too many to compare: those that share the rarest keys with the query first.
        shared: dict[int, float] = defaultdict(float)
        for postings in lists:
            rarity = 1.0 / len(postings)
            for name_index in postings:
                shared[name_index] += rarity
        ranked = heapq.nsmallest(_MAX_CANDIDATES, shared.items(), key=lambda i: (-i[1], i[0]))
        return exact | {name_index for name_index, _ in ranked}

    @staticmethod
    def _in_order(
        query: tuple[Token, ...],
        listed: tuple[Token, ...],
        aligned: list[tuple[int, int, Agreement]],
        weights: tuple[list[float], list[float]],
    ) -> bool:
        """Whether two adjacent distinctive words of the query pair with two adjacent words
        of the listed name, in the same order."""
        paired = {
            i: j
            for i, j, _ in aligned
            if not query[i].concept
            and not listed[j].concept
            and weights[0][i] > 0
            and weights[1][j] > 0
        }
        return any(paired.get(i + 1) == j + 1 for i, j in paired.items())

    def _only_company_words_differ(
        self,
        query: tuple[Token, ...],
        listed: _ListedName,
        aligned: list[tuple[int, int, Agreement]],
        weights: tuple[list[float], list[float]],
    ) -> bool:
        """Whether the words left unpaired on both sides are all company words and places,
        and a paired word is among the list's rarest on both sides, written the same once
        folded ("Vektor", "Vector"), or, if it is ten letters or more, spelt alike
        ("Promsyrieimport", "Promsyrioimport")."""
        paired_query = {i for i, _, _ in aligned}
        paired_listed = {j for _, j, _ in aligned}
        if any(
            not t.concept and weights[0][i] > 0
            for i, t in enumerate(query)
            if i not in paired_query
        ) or any(
            not t.concept and weights[1][j] > 0
            for j, t in enumerate(listed.tokens)
            if j not in paired_listed
        ):
            return False
        return any(
            not listed.tokens[j].concept
            and (
                a.similarity >= 0.97
                or (
                    a.similarity >= 0.85 and min(len(query[i].key), len(listed.tokens[j].key)) >= 10
                )
            )
            and min(weights[0][i], weights[1][j]) >= _RAREST_SHARE * self._rarest
            for i, j, a in aligned
        )

    def _compare(
        self,
        query: tuple[Token, ...],
        listed: _ListedName,
        country: str | None,
        memo: dict[tuple[int, int], "Agreement | None"] | None = None,
    ) -> PartyMatch | None:
        entry = self.entries[listed.entry]
        aligned = _align(query, listed.tokens, {} if memo is None else memo)
        same = sorted(t.key for t in query) == sorted(t.key for t in listed.tokens)
        weights = self._weights(query), self._weights(listed.tokens)
        anchored = same or any(
            (query[i].concept or len(query[i].written) >= 3)
            and self._idf.get(listed.tokens[j].key, self._rarest) >= _ANCHOR_SHARE * self._rarest
            and weights[1][j] > 0
            for i, j, _ in aligned
        )
        if not anchored:
            return None
        _implied(query, {i for i, _, _ in aligned}, weights[0])
        _implied(listed.tokens, {j for _, j, _ in aligned}, weights[1])
        query_total, listed_total = sum(weights[0]), sum(weights[1])
        if not same and not (query_total and listed_total):
            return None
        # A joined pair puts one token beside two: each token counts once.
        query_found = sum(
            weights[0][i] * a.similarity for i, a in {i: a for i, _, a in aligned}.items()
        )
        listed_found = sum(
            weights[1][j] * a.similarity for j, a in {j: a for _, j, a in aligned}.items()
        )
        coverage = (
            min(query_found / query_total, 1.0) if query_total else 1.0,
            min(listed_found / listed_total, 1.0) if listed_total else 1.0,
        )
        containment, completeness = max(coverage), min(coverage)
        score = 100 * (_CONTAINMENT_WEIGHT * containment + (1 - _CONTAINMENT_WEIGHT) * completeness)
        reasons = ["alias"] if listed.alias else []
        reasons += sorted({a.kind for _, _, a in aligned} - {"exact"})
        if not same and self._in_order(query, listed.tokens, aligned, weights):
            # Two distinctive words side by side on both sides ("Imam Khomeini Foundation",
            # "Imam Khomeini Relief Committee"): a phrase is rarer than its words apart. Only
            # the same name scores 100.
            score = max(score, min(score + _IN_ORDER, 99.0))
        if same:
            score = 100.0
        elif completeness < 0.95:
            reasons.append("containment")
        if score < self.threshold and self._only_company_words_differ(
            query, listed, aligned, weights
        ):
            # "Kremsont Alliance Corp" and "Kremsont Commercial Inc": one of the list's rarest
            # words agrees and everything else is company words and places. A match, at the
            # lowest grade.
            score = self.threshold
            reasons.append("only company words differ")
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


def _implied(tokens: tuple[Token, ...], paired: set[int], weights: list[float]) -> None:
    """Unpaired company words that a paired one of the same name implies weigh nothing: the
    "film" of "Film Studio Yalta-Film", the "bank" of "Commercial Bank Rossiya Bank"."""
    kinds = [tokens[i].key for i in paired if tokens[i].concept]
    for k, token in enumerate(tokens):
        if token.concept and k not in paired and any(broader(c, token.key) for c in kinds):
            weights[k] = 0.0


_IN_ORDER = 2.0  # points for two distinctive words that agree side by side, in order
_RAREST_SHARE = 0.95  # a word this rare (relative to the rarest) is all but unique to a name


@lru_cache(maxsize=262_144)
def _ordinariness(word: str) -> float:
    zipf = zipf_frequency(word, "en")
    share = (zipf - _RARE_ZIPF) / (_COMMON_ZIPF - _RARE_ZIPF)
    return 1.0 - (1.0 - _COMMON_FLOOR) * min(max(share, 0.0), 1.0)


@lru_cache(maxsize=65_536)
def _runs(written: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
    """Each run of three, then two, adjacent tokens of a name: (start, length, joined key)."""
    return tuple(
        (k, size, fold("".join(written[k : k + size])))
        for size in (3, 2)
        for k in range(len(written) - size + 1)
    )


_ACRONYM = re.compile(r"[a-z]{3,6}")
_INITIALISM = Agreement(0.9, "abbreviation")
_CONJUNCTIONS = frozenset(("and", "i", "ve", "va", "y", "et", "und"))
_DIGRAPHS = ("ts", "kh", "zh", "sh", "ch")  # one Cyrillic letter, which acronyms keep whole


def _firsts(token: str) -> tuple[str, ...]:
    """The ways a token's words begin an acronym: "tsentr" gives "t" and "ts" (TsNII)."""
    ways = [""]
    for word in token.split():
        if word in _CONJUNCTIONS:
            continue  # "SRPE" is "State Research and Production Enterprise"
        options = [word[0]] + [d for d in _DIGRAPHS if word.startswith(d)]
        ways = [w + o for w in ways for o in options]
    return tuple(ways)


@lru_cache(maxsize=65_536)
def _initials(written: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
    """Each run of two to six adjacent tokens of a name with its words' initials: (start,
    length, initials), two to six letters."""
    firsts = [_firsts(w) for w in written]
    found = []
    for size in range(2, 7):
        for k in range(len(written) - size + 1):
            ways = [""]
            for options in firsts[k : k + size]:
                ways = [w + o for w in ways for o in options]
            found += [(k, size, way) for way in dict.fromkeys(ways) if 2 <= len(way) <= 6]
    return tuple(found)


def _align(
    query: tuple[Token, ...],
    listed: tuple[Token, ...],
    memo: dict[tuple[int, int], Agreement | None],
) -> list[tuple[int, int, Agreement]]:
    """Pairs of query and listed tokens that agree, each token used once, best pairs first.

    Two or three adjacent tokens on one side may stand for one on the other ("Hong Kong" and
    "Hongkong", "Fana Moj" and "Fanamoj", "Eco-Tech" and "Ekotekh"): those are found first.
    A word may also be the initials of a run of words on the other side: that is tried last.
    """
    aligned: list[tuple[int, int, Agreement]] = []
    used_query: set[int] = set()
    used_listed: set[int] = set()
    joined_agreement = Agreement(0.95, "joined words")
    for one, other, flip in ((query, listed, False), (listed, query, True)):
        used_one, used_other = (used_listed, used_query) if flip else (used_query, used_listed)
        words = {t.key for t in other if not t.concept}
        if not words or len(one) < 2:
            continue
        for k, size, joined in _runs(tuple(t.written for t in one)):
            if joined not in words:
                continue
            run = range(k, k + size)
            if used_one and any(r in used_one for r in run):
                continue
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
            pair = (i, id(t))  # listed tokens are the vocabulary's own objects
            if pair in memo:
                agreement = memo[pair]
            else:
                agreement = memo[pair] = agree(q, t)
            if agreement is not None:
                pairs.append((agreement.similarity, i, j, agreement))
    # Ties go to words written the same ("Tekhnika" to "Tekhnika", not to "Tekhnicheskii").
    pairs.sort(key=lambda p: (-p[0], p[3].kind != "exact", p[1], p[2]))
    for _, i, j, agreement in pairs:
        if i not in used_query and j not in used_listed:
            used_query.add(i)
            used_listed.add(j)
            aligned.append((i, j, agreement))
    # Last, among the tokens left: a short word on one side may be the initials of a run of
    # words on the other ("MIC" for "Military-Industrial Corporation", "MSDB" for "Main System
    # Design Bureau").
    for one, other, flip in ((query, listed, False), (listed, query, True)):
        used_one, used_other = (used_listed, used_query) if flip else (used_query, used_listed)
        for m, token in enumerate(other):
            if m in used_other or token.initials or not _ACRONYM.fullmatch(token.written):
                continue
            acronym = token.written
            # Acronyms often end in the company word that the analysis dropped ("TFK" is
            # "Torgovo-Finansovaya Kompaniya").
            short = acronym[:-1] if acronym[-1] in "kc" else acronym
            for k, size, initials in _initials(tuple(t.written for t in one)):
                if initials != acronym and initials != short:
                    continue
                run = range(k, k + size)
                if any(r in used_one for r in run):
                    continue
                used_one.update(run)
                used_other.add(m)
                aligned += [(m, r, _INITIALISM) if flip else (r, m, _INITIALISM) for r in run]
                break
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
    """The entries of a tradewatch watchlist file (it holds them as loaded)."""
    return [r for r in records if isinstance(r, WatchlistEntry) and r.list_name == list_name]
