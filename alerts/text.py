"""Text normalisation and multi-language keyword search for goods descriptions.

Descriptions arrive in English, Russian and Chinese, in any case and inflection, with
punctuation, glued units ("7.62mm", "AK47"), typos and, now and then, Cyrillic letters standing
in for Latin ones ("АК-47") or a Latin letter inside a Cyrillic word ("бронежилeты").
`normalize` folds all of that into one canonical form (each word in one script, then Snowball
stems for English and Russian words), and `Lexicon` finds whole terms in it with an Aho-Corasick
automaton, so the cost does not grow with the size of the lexicon. A deletion index corrects
one-letter typos in long words before the search, and Russian written in Latin letters
("karabiny okhotnichi") is read back into Cyrillic (`RussianReading`).
"""

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
import icu
import Stemmer

# Cyrillic letters that look like Latin ones, folded the same way on both sides of a match
# (the idea of Unicode TR39 skeletons): "АК-47" typed with Cyrillic А and К still reads "ak 47".
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    }
)  # fmt: skip
# Letters of one script that look like letters of the other (from Unicode TR39's
# confusables.txt, the Latin/Cyrillic pairs a keyboard or OCR mixes up), for words written in
# both at once: "Teхкpим" (Latin T, e and p in a Cyrillic word) is "Техкрим".
_LATIN_TO_CYRILLIC = dict(zip("aceopxykmiABCEHKMOPTXYI", "асеорхукміАВСЕНКМОРТХУІ", strict=True))
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()} | {
    "ј": "j", "ѕ": "s", "Ј": "J", "Ѕ": "S"
}  # fmt: skip
# A whole word with a letter of each script (tried only where a word starts).
_MIXED_WORD = re.compile(r"(?<!\w)(?=\w*[a-zA-Z\u00c0-\u024f])(?=\w*[\u0400-\u04ff])\w+")
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")


def _one_script(word: str) -> str:
    """A word written in Latin and Cyrillic letters at once, in the script it belongs to: the
    one with letters the other script has no look-alike for (Cyrillic и, ж, л; Latin t, r, n),
    or else the one with more letters in the word. Only look-alikes change script."""
    cyrillic = _CYRILLIC_LETTER.findall(word)
    latin = _LATIN_LETTER.findall(word)
    own_cyrillic = sum(1 for c in cyrillic if c not in _CYRILLIC_TO_LATIN)
    own_latin = sum(1 for c in latin if c not in _LATIN_TO_CYRILLIC)
    if own_cyrillic and not own_latin:
        to_cyrillic = True
    elif own_latin and not own_cyrillic:
        to_cyrillic = False
    elif len(cyrillic) != len(latin):
        to_cyrillic = len(cyrillic) > len(latin)
    else:
        return word  # as much of each: nothing tells which was meant
    table = _LATIN_TO_CYRILLIC if to_cyrillic else _CYRILLIC_TO_LATIN
    return "".join(table.get(c, c) for c in word)


def single_script(text: str) -> str:
    """Each word that mixes Latin and Cyrillic letters rewritten in one script (`_one_script`);
    words in one script are left as they are.

    >>> single_script("ООО Teхкpим, Tekhкrim LLC")
    'ООО Техкрим, Tekhkrim LLC'
    """
    if not (_CYRILLIC_LETTER.search(text) and _LATIN_LETTER.search(text)):
        return text  # one script, or none: nothing to rewrite
    return _MIXED_WORD.sub(lambda m: _one_script(m.group(0)), text)


_NON_WORD = re.compile(r"[\W_]+")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_SPACES = re.compile(r"\s+")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Chinese runs next to Latin letters or digits ("CQ自动步枪", "81式") become separate tokens.
_CJK_EDGE = re.compile(rf"(?<=[{_CJK}])(?=[^\W_{_CJK}])|(?<=[^\W_{_CJK}])(?=[{_CJK}])")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_CYRILLIC_WORD = re.compile(r"[а-яё]+")
_LATIN_WORD = re.compile(r"[a-z]+")
_ENGLISH = Stemmer.Stemmer("english")
_RUSSIAN = Stemmer.Stemmer("russian")


@lru_cache(maxsize=262_144)
def _stem(token: str) -> str:
    # Stem in the token's own script, then fold look-alikes: "бронежилетами" and
    # "бронежилеты" agree, and so do "vests" and "vest". Mixed-script tokens are left as they are.
    if _CYRILLIC_WORD.fullmatch(token):
        token = _RUSSIAN.stemWord(token)
    elif _LATIN_WORD.fullmatch(token):
        token = _ENGLISH.stemWord(token)
    return token.translate(_CONFUSABLES)


def normalize(text: str) -> str:
    """Fold text to the canonical form that lexicon terms are stored in.

    NFKC (full-width forms, ligatures), case folding, punctuation to spaces, a space between
    letters and digits so that "AK47", "ak-47" and "АК 47" agree, Snowball stems for English and
    Russian words, and Cyrillic-Latin look-alikes folded.

    >>> normalize("Автоматы АК-47, 7.62mm")
    'abtomat ak 47 7 62 mm'
    """
    folded = single_script(unicodedata.normalize("NFKC", text).casefold())
    spaced = _CJK_EDGE.sub(" ", _LETTER_DIGIT.sub(" ", _NON_WORD.sub(" ", folded)))
    return " ".join(_stem(token) for token in spaced.split())


def _is_cjk(char: str) -> bool:
    return _CJK_CHAR.match(char) is not None


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One term of a lexicon, with the group it stands for (a family, a goods class, ...).

    `lexicon` names the reference file, so that one automaton can serve every lexicon at once.
    """

    group: str
    term: str
    language: str
    lexicon: str = ""
    any_order: bool = False
    """Also match the words in another order: "Rifle Type 56" for "Type 56 rifle"."""


@dataclass(frozen=True, slots=True)
class TermMatch:
    entry: LexiconEntry
    matched: str


_TYPO_MIN_LENGTH = 7


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class TypoCorrector:
    """Corrects one-letter typos (a letter missing, extra, swapped for another, or transposed)
    in long words, towards the words the lexicons use.

    Only words of seven or more letters, with no digits, and only when exactly one lexicon word
    is that close: "bulletprof" becomes "bulletproof", "квадракоптер" becomes "квадрокоптер".
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(
            w for w in vocabulary if len(w) >= _TYPO_MIN_LENGTH and w.isalpha()
        )
        self._by_delete: dict[str, set[str]] = defaultdict(set)
        for word in self.vocabulary:
            for variant in _deletes(word):
                self._by_delete[variant].add(word)
        # A feed repeats its words: each distinct word is looked up once.
        self._correction = lru_cache(maxsize=262_144)(self._correct_word)

    def _correct_word(self, token: str) -> str | None:
        if len(token) < _TYPO_MIN_LENGTH or token in self.vocabulary or not token.isalpha():
            return None
        candidates = self._candidates(token)
        return candidates.pop() if len(candidates) == 1 else None

    def _candidates(self, token: str) -> set[str]:
        found = set(self._by_delete.get(token, ()))  # a letter missing from the token
        for variant in _deletes(token):
            if variant in self.vocabulary:  # an extra letter in the token
                found.add(variant)
            found.update(self._by_delete.get(variant, ()))  # a letter changed or transposed
        return found

    def correct(self, normalized: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The text with typos corrected, and the (typo, correction) pairs."""
        corrections: list[tuple[str, str]] = []
        tokens = normalized.split(" ")
        for position, token in enumerate(tokens):
            candidate = self._correction(token)
            if candidate is not None:
                tokens[position] = candidate
                corrections.append((token, candidate))
        if not corrections:
            return normalized, ()
        return " ".join(tokens), tuple(corrections)


# Russian written in Latin letters, read back into Cyrillic with ICU's BGN/PCGN transform once
# the other usual spellings are brought to BGN's: ISO 9 and Czech-style letters with a caron,
# "h" alone for х ("ohotnichiy"), "w" for в.
_LATIN_RUSSIAN = icu.Transliterator.createInstance("Latin-Russian/BGN")
_TO_BGN = str.maketrans({"ž": "zh", "š": "sh", "č": "ch", "ŝ": "shch", "ĉ": "ch", "w": "v"})
_LONE_H = re.compile(r"(?<![kzcs])h")
_LATIN_TEXT_WORD = re.compile(r"(?<![^\W\d_])[a-zëčšžŝĉ]+(?![^\W\d_])")
_READING_LONG_WORD = 7


@lru_cache(maxsize=65_536)
def russian_reading(word: str) -> str:
    """A lower-case Latin word as Russian written in Latin letters would read in Cyrillic.

    >>> russian_reading("okhotnichiy"), russian_reading("ohotnichiy"), russian_reading("bronežilet")
    ('охотничий', 'охотничий', 'бронежилет')
    """
    return _LATIN_RUSSIAN.transliterate(_LONE_H.sub("kh", word.translate(_TO_BGN)))


@lru_cache(maxsize=65_536)
def _reading_stem(word: str) -> str | None:
    """The normalised form of a Latin word's Russian reading; None when some letter has no
    Russian reading ("cq"), so the word is not Russian."""
    reading = russian_reading(word)
    return None if _LATIN_LETTER.search(reading) else normalize(reading)


class RussianReading:
    """Reads the Latin words of a text as Russian written in Latin letters ("karabiny
    okhotnichi", "bronezhilet"), for the Russian terms of a lexicon to find.

    Any Latin word has a Cyrillic reading, most of them nonsense, so a reading counts only
    when the text bears it out: two or more of its words read as words the Russian terms use,
    or one such word of seven letters or more. "Patron tequila" is not read as cartridges;
    "patrony dlya okhoty" and "bronezhilety" are.
    """

    def __init__(self, vocabulary: Iterable[str], typos: TypoCorrector) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.typos = typos

    def read(self, folded: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        """The text (NFKC, case-folded) with its Latin words in Cyrillic, and the (written,
        read as) pairs of the words the Russian terms use; None when nothing bears it out."""
        words = _LATIN_TEXT_WORD.findall(folded)
        if not words:
            return None
        known: dict[str, str] = {}
        for word in words:
            stem = _reading_stem(word)
            if stem is not None and self.typos.correct(stem)[0] in self.vocabulary:
                known[word] = russian_reading(word)
        if len(known) < 2 and not any(len(w) >= _READING_LONG_WORD for w in known):
            return None
        text = _LATIN_TEXT_WORD.sub(lambda m: russian_reading(m.group(0)), folded)
        return text, tuple(known.items())


def _orders(normalized: str) -> list[str]:
    """The term's words in every order, when they are words enough to be safe to reorder:
    two or three of them, each a word of three letters or more or a number, one of four
    letters or more ("type 56 rifl"); never short designations ("ak 47", "m 4")."""
    words = normalized.split()
    wordy = all(w.isdigit() or (len(w) >= 3 and w.isalpha()) for w in words)
    if not (2 <= len(words) <= 3 and wordy and any(len(w) >= 4 and w.isalpha() for w in words)):
        return [normalized]
    return list(dict.fromkeys(" ".join(p) for p in itertools.permutations(words)))


class Lexicon:
    """Finds whole lexicon terms in normalised text, in one pass whatever the lexicon's size.

    >>> lexicon = Lexicon([LexiconEntry("kalashnikov", "AK-47", "en")])
    >>> [m.entry.group for m in lexicon.find("rifle ak47 7.62")]
    ['kalashnikov']

    Latin and Cyrillic terms match on word boundaries; Chinese terms match anywhere, since
    Chinese text has no spaces between words.
    """

    def __init__(self, entries: Iterable[LexiconEntry], cache_size: int = 65_536) -> None:
        self._automaton = ahocorasick.Automaton()
        self.size = 0
        vocabulary: set[str] = set()
        russian_vocabulary: set[str] = set()
        for entry in entries:
            normalized = normalize(entry.term)
            vocabulary.update(normalized.split())
            if entry.language == "ru":
                russian_vocabulary.update(normalized.split())
            if not normalized:
                raise ValueError(f"term {entry.term!r} is empty once normalised")
            for key in _orders(normalized) if entry.any_order else (normalized,):
                # Pad the Latin and Cyrillic ends so they match whole words only.
                key = ("" if _is_cjk(key[0]) else " ") + key + ("" if _is_cjk(key[-1]) else " ")
                _, found = self._automaton.get(key, (key, ()))
                if entry not in found:
                    self._automaton.add_word(key, (key, (*found, entry)))
            self.size += 1
        if self.size:
            self._automaton.make_automaton()
        self.typos = TypoCorrector(vocabulary)
        self.russian = RussianReading(russian_vocabulary, self.typos)
        # Real feeds repeat their goods texts: each distinct text is searched once.
        self._search = lru_cache(maxsize=cache_size)(self._search_uncached)

    def cache_info(self) -> tuple[int, int]:
        """(hits, misses) of the text cache since the lexicon was built."""
        info = self._search.cache_info()
        return info.hits, info.misses

    def find(self, text: str) -> list[TermMatch]:
        """Every distinct entry whose term occurs in text, in order of first occurrence."""
        return list(self.search(text)[0])

    def search(self, text: str) -> tuple[tuple[TermMatch, ...], tuple[tuple[str, str], ...]]:
        """The matches in text, and the (typo, correction) pairs applied before matching."""
        return self._search(text)

    def _search_uncached(
        self, text: str
    ) -> tuple[tuple[TermMatch, ...], tuple[tuple[str, str], ...]]:
        corrected, corrections = self.typos.correct(normalize(text))
        matches = self.find_normalized(corrected)
        reading = self.russian.read(unicodedata.normalize("NFKC", text).casefold())
        if reading is not None:
            text_read, words_read = reading
            # Only what the first reading did not find: a group already found stays as it was.
            found = {(m.entry.lexicon, m.entry.group) for m in matches}
            in_russian = [
                m
                for m in self.find_normalized(self.typos.correct(normalize(text_read))[0])
                if m.entry.language == "ru" and (m.entry.lexicon, m.entry.group) not in found
            ]
            if in_russian:
                matches.extend(in_russian)
                corrections = (*corrections, *words_read)
        return tuple(matches), corrections

    def find_normalized(self, normalized: str) -> list[TermMatch]:
        """As find, for text that `normalize` has already folded (saves a pass per lexicon).

        Within one lexicon the longest match wins: "non military" is a civilian claim and
        does not also count as the military marker "military" inside it.
        """
        if not self.size:
            return []
        haystack = f" {normalized} "
        found: list[tuple[int, int, str, LexiconEntry]] = []
        for end, (key, entries) in self._automaton.iter(haystack):
            start = end - len(key) + 1
            found.extend((start, end, key, entry) for entry in entries)
        inside = _inside_longer(found)
        seen: set[tuple[str, str]] = set()
        matches: list[TermMatch] = []
        for position, (_, _, key, entry) in enumerate(found):
            if position in inside:
                continue
            # Spellings that fold to one key ("пулемёт", "пулемет") count once per group.
            if (entry.group, key) not in seen:
                seen.add((entry.group, key))
                matches.append(TermMatch(entry, key.strip()))
        return matches


def _inside_longer(found: list[tuple[int, int, str, LexiconEntry]]) -> set[int]:
    """The positions in `found` of the matches that lie inside a longer match of the same
    lexicon, in one sort and one sweep per lexicon (a text repeating a term makes hundreds).

    In order of start, longest first: a match lies inside a longer one when one that started
    earlier reaches as far, or one that started at the same place reaches further."""
    by_lexicon: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for position, (start, end, _, entry) in enumerate(found):
        by_lexicon[entry.lexicon].append((start, -end, position))
    inside: set[int] = set()
    for spans in by_lexicon.values():
        spans.sort()
        reach_before = -1  # the furthest end of the matches that started earlier
        group_start, group_reach = -1, -1
        for start, negative_end, position in spans:
            end = -negative_end
            if start != group_start:
                reach_before = max(reach_before, group_reach)
                group_start, group_reach = start, end  # the longest of this start comes first
            if end <= reach_before or end < group_reach:
                inside.add(position)
    return inside
