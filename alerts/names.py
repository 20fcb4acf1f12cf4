"""Organisation names as comparable tokens: what a party-name match is computed on.

A name goes through four steps:
1. Script and punctuation: NFKC, a word that mixes Latin and Cyrillic letters put in one
   script (`alerts.text.single_script`), Chinese company words replaced by their meaning,
   everything transliterated to ASCII (anyascii), dotted initials joined ("S.A." is "sa",
   "A.Ş." is "as", "I/E" is "ie"), "&" read as "and".
2. Company words (`alerts.company_words`): "zavod", "plant" and "works" become one concept,
   "NPO" and "scientific production association" another, so translations and abbreviations
   compare equal.
3. rigour, OpenSanctions' name library: legal forms in any language are dropped, and the
   organisation words and places it knows ("bank", "branch", "Moscow", "Hong Kong") become
   symbols, which count as little as company words do.
4. What is left is the distinctive words, each with a transliteration-folded key (kh/h,
   ks/x, y/i/j, v/w, dzh/j, ts/c, hard c/k, doubled letters) under which "vektor" and
   "vector", "otkritie" and "otkrytie", "ekotekh" and "ecotech" agree.
"""

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii
from rapidfuzz import fuzz
from rigour.names import (
    NamePartTag,
    NameTypeTag,
    SymbolCategory,
    analyze_names,
    remove_org_types,
)
from rigour.territories import lookup_territory
from rigour.text.phonetics import metaphone

from alerts.company_words import BROADER, CJK_COMPANY_WORDS, COMPANY_WORDS, REGIONS
from alerts.text import single_script

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_DOTTED_INITIALS = re.compile(r"\b(?:[a-z]\.\s?){1,}[a-z]\b\.?")
_POSSESSIVE = re.compile(r"(?<=[a-z])['`]s\b")
_SLASH_PAIR = re.compile(r"\b([a-z])\s?/\s?([a-z])\b")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Legal forms of Russian, Belarusian and Ukrainian companies in the many transliterations
# that lists and declarants use, which an exact table of forms cannot hold.
_SLAVIC_LEGAL_FORMS = re.compile(
    r"\b(?:(?:otkr|zakr|adkr|publichn|nepublichn|pryvatn|privatn|vidkr)\w* )?"
    r"(?:aktsi|aktsy|aktci|akcion|atsion|aktsyj)\w* (?:obshch|obsch|obshe|tavaryst|tovaryst)\w*\b"
    r"|\b(?:obshch|obsch|tavaryst|tovaryst)\w* (?:[sz] )?"
    r"(?:ogranich|organich|abmezhav|obmezh|dadatkov)\w* (?:otve|adkaz|vidpovid)\w*\b"
    r"|\b(?:inostrann|dochern|dacherni)\w*\b"
)
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th|y|i|oy|iy|yy)\b")
_EZAFE = re.compile(r"-y?e\b")  # Persian "Mehr-e Eqtesad-e": the ezafe is not a word
_PLACEHOLDER = "qqz"  # marks a company-word concept while rigour reads the rest


def _phrase_table() -> dict[tuple[str, ...], tuple[str, bool]]:
    """Company phrases by their folded words, so that "torgovy", "torgovyy" and "torgovyi"
    are one entry."""
    table: dict[tuple[str, ...], tuple[str, bool]] = {}
    for concept, (phrases, abbreviations) in (COMPANY_WORDS | REGIONS).items():
        for phrase in phrases:
            table[tuple(fold(w) for w in phrase.split())] = (concept, False)
        for abbreviation in abbreviations:
            table[tuple(abbreviation.split())] = (concept, True)
    return table


@dataclass(frozen=True, slots=True)
class Token:
    """One part of a name: a distinctive word, or a concept that several words stand for.

    `key` is what is compared: the folded word, or "=concept" / "@place" / "#symbol".
    `written` is the words as the name has them (after transliteration), for the evidence.
    """

    key: str
    written: str
    concept: bool = False
    abbreviation: bool = False
    initials: bool = False
    sound: str = ""
    """For a word of a name written in Cyrillic, how it sounds read as English (Metaphone):
    English names are written in Cyrillic by ear ("ЧАЙНА НОРТ ИНДАСТРИЗ", "Интерфейс")."""

    @property
    def stem(self) -> str:
        return stem(self.key) if not self.concept else self.key

    @property
    def stems(self) -> tuple[str, ...]:
        """The stem, and the place's stem if the word is an adjective made from one."""
        return stems(self.key) if not self.concept else (self.key,)


_FOLDS = (
    ("shch", "sh"),
    ("sch", "sh"),
    ("tch", "ch"),
    ("dzh", "j"),
    ("dj", "j"),
    ("zh", "j"),
    ("kh", "h"),
    ("gh", "k"),
    ("ch", "h"),
    ("ck", "k"),
    ("ks", "x"),
    ("ph", "f"),
    ("w", "v"),
    ("q", "k"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("ae", "a"),
    ("ue", "u"),
    ("y", "i"),
    ("j", "i"),
)
_HARD_C = re.compile(r"c(?![eih])")
# The soft "ya", "ye", "yu" of Cyrillic, written with y, i or nothing before the vowel
# ("obyedineniye", "obedinenie"; "Ilya", "Ilia"; "Mashinostroyenia", "Mashinostroenia"):
# after y has become i, an i before a vowel is dropped.
_IOTATED = re.compile(r"i(?=[aeiou])")
_DOUBLE = re.compile(r"(.)\1+")
# Russian adjectives as transliterated ("elektromekhanicheskiy") and their English
# counterparts ("electromechanical") end alike once cut; then the Russian "-skiy" family, the
# English "-al" ("coastal"), plural s and a final vowel.
_ENDING = re.compile(
    r"(?:iheskogo|iheskoe|iheski|iheska|ihesk|ikal|skogo|skoe|skaa|ski|ska|sko|sk|s|e|a|o|i)$"
)
_ADJECTIVE_AL = re.compile(r"(?<=\w{4})al$")
_FINAL_VOWEL = re.compile(r"[aeiou]$")
_VOWELS = re.compile(r"[aeiou]")
_FINAL_H = re.compile(r"(?<=[aeiou])h$")  # Arabic and Persian -eh, -ah: "Sharqiyeh", "Sharqiya"


@lru_cache(maxsize=262_144)
def fold(word: str) -> str:
    """The word as transliterations of one sound agree on it.

    >>> fold("vektor"), fold("vector")
    ('vektor', 'vektor')
    >>> fold("otkritie") == fold("otkrytie"), fold("ekotekh") == fold("ecotech")
    (True, True)
    """
    if word.isdigit():
        return word
    if len(word) >= 5 and word.endswith("s") and not word.endswith("ss"):
        return fold(word[:-1]) + "s"  # "ceramics": the plural does not change the stem
    folded = _HARD_C.sub("k", word)
    for before, after in _FOLDS:
        folded = folded.replace(before, after)
    folded = folded.replace("ts", "c").replace("tz", "c")
    return _IOTATED.sub("", _DOUBLE.sub(r"\1", folded))


@lru_cache(maxsize=262_144)
def stem(key: str) -> str:
    """A folded word without its inflection: "tulski" (Tulskiy) and "tula" share "tul"."""
    if len(key) >= 4 and key.endswith("s") and not key.endswith("ss"):
        key = key[:-1]
    if len(key) < 4 or key.isdigit():
        return key
    if len(key) == 4:
        return _FINAL_VOWEL.sub("", key)  # Persian ezafe: "Asre" and "Asr"
    cut = _ENDING.sub("", _FINAL_H.sub("", key))
    if "sk" in key[len(cut) :] and cut.endswith("en") and len(cut) >= 6:
        # An adjective made from a place: "Grodnenskoye" (Grodno), "Dolgoprudnenskoye".
        return cut[:-2]
    return _ADJECTIVE_AL.sub("", cut) if cut == key else cut


@lru_cache(maxsize=262_144)
def stems(key: str) -> tuple[str, ...]:
    """The stem, and for an adjective a second one: in "-inskiy" the stem without "in"
    ("Yaltinskaya" is made from "Yalta"; the "in" often belongs to the place, as in
    "Gatchinsky" from "Gatchina"), otherwise the stem with "sk" ("Omskiy" from "Omsk")."""
    first = stem(key)
    if "sk" not in key[len(first) :]:
        return (first,)
    if first.endswith("in") and len(first) >= 5:
        return first, first[:-2]
    # A place that ends in -sk makes its adjective without a second one: "Omskiy" (Omsk).
    return first, first + "sk"


# Case and gender endings of Russian, Ukrainian and Belarusian words once folded: the
# dictionary lists one form of "gosudarstvennoye" and finds "gosudarstvennogo",
# "gosudarstvenaya" and "gosudarstvenoye" too.
_SLAVIC_ENDING = re.compile(
    r"(?:ogo|ego|omu|emu|imi|ami|ih|oi|ei|ii|oe|ee|ie|aa|om|em|im|[aeiouy])$"
)


@lru_cache(maxsize=262_144)
def _root(word: str) -> str:
    folded = fold(word)
    return _SLAVIC_ENDING.sub("", folded) if len(folded) >= 7 else folded


def _root_table() -> dict[tuple[str, ...], str]:
    """Company phrases by their words' roots; a root that two concepts share is left out."""
    table: dict[tuple[str, ...], str] = {}
    shared: set[tuple[str, ...]] = set()
    for concept, (phrases, _) in COMPANY_WORDS.items():
        for phrase in phrases:
            roots = tuple(_root(w) for w in phrase.split())
            if table.setdefault(roots, concept) != concept:
                shared.add(roots)
    return {roots: concept for roots, concept in table.items() if roots not in shared}


CHINESE_CITIES_FILE = Path(__file__).parent / "cn_cities.txt"
"""The cities a Chinese company's name starts with, as its registered division (GeoNames)."""


def _chinese_cities() -> frozenset[str]:
    text = CHINESE_CITIES_FILE.read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


_CHINESE_CITIES = _chinese_cities()
_PHRASES = _phrase_table()
_WRITTEN = frozenset(p for phrases, _ in COMPANY_WORDS.values() for p in phrases)
_ROOTS = _root_table()


def _longest_after(phrases: Iterable[tuple[str, ...]]) -> dict[str, int]:
    """Each word a phrase starts with, and the longest phrase after it."""
    longest: dict[str, int] = {}
    for words in phrases:
        longest[words[0]] = max(longest.get(words[0], 0), len(words))
    return longest


# The words a company phrase can start with, as written, folded and by root: most words of a
# name start none, and are passed over at one lookup.
_STARTS = _longest_after(_PHRASES)
_FOLDED_STARTS = _longest_after(w for w, (_, abbreviation) in _PHRASES.items() if not abbreviation)
_ROOT_STARTS = _longest_after(_ROOTS)
# The beginnings of the one-word company words, folded: a word that is none of them is not
# the first half of one broken by a hyphen ("proiz" of "proizvodstvennoye").
_FOLDED_HEADS = frozenset(
    word[:cut]
    for word in {w[0] for w in _PHRASES if len(w) == 1} | {r[0] for r in _ROOTS if len(r) == 1}
    for cut in range(3, len(word))
)


def _compound(word: str) -> tuple[str, ...]:
    """A word made of two company words, "gosnii" or "gosmkb" (abbreviations), "agrofirma"
    (words of four letters or more), in its parts; otherwise nothing."""
    for cut in range(2, len(word) - 1):
        head, tail = _PHRASES.get((word[:cut],)), _PHRASES.get((word[cut:],))
        if not (head and tail and (head[0] or tail[0])):
            continue
        if (head[1] or cut >= 4) and (tail[1] or len(word) - cut >= 4):
            return word[:cut], word[cut:]
    return ()


def _tails() -> dict[str, tuple[str, bool]]:
    """The company words a place can be written together with, as written: abbreviations
    of three letters or more ("tets"), words of five or more ("teploelektrotsentral")."""
    tails: dict[str, tuple[str, bool]] = {}
    for concept, (phrases, abbreviations) in COMPANY_WORDS.items():
        if concept:
            tails.update((p, (concept, False)) for p in phrases if " " not in p and len(p) >= 5)
            tails.update((a, (concept, True)) for a in abbreviations if len(a) >= 3)
    return tails


_TAILS = _tails()
_TAIL_ENDS = frozenset(tail[-3:] for tail in _TAILS)


def _suffixed(word: str) -> tuple[str, str, str, bool] | None:
    """A place and a company word written as one ("Krymtets": Krym, TETs): the place (three
    letters or more), the concept, the company word and whether it is an abbreviation;
    otherwise None."""
    if word[-3:] not in _TAIL_ENDS:
        return None  # most words: no company word ends as they do
    for cut in range(3, len(word) - 2):
        found = _TAILS.get(word[cut:])
        if found is not None and lookup_territory(word[:cut]) is not None:
            return word[:cut], found[0], word[cut:], found[1]
    return None


def _hyphenated(first: str, second: str) -> str | None:
    """The company word that two words written apart make together ("proiz" and
    "vodstvenno"), when neither is a word on its own; otherwise None."""
    if len(first) < 3 or len(second) < 3 or fold(first) not in _FOLDED_HEADS:
        return None
    if (fold(second),) in _PHRASES:
        return None
    joined = first + second
    found = _PHRASES.get((fold(joined),))
    if found is not None and not found[1]:
        return found[0] or None
    return _ROOTS.get((_root(joined),))


def _script_to_ascii(name: str) -> tuple[str, frozenset[str]]:
    """The name in lower-case ASCII, and the words that were dotted initials.

    "S.A." becomes "sa", so that rigour finds the legal form; initials that are not one stay
    marked, since they never tell a company apart ("K.S.A." inside any name)."""
    text = single_script(unicodedata.normalize("NFKC", name))
    if _CJK.search(text):
        for word, meaning in CJK_COMPANY_WORDS:
            text = text.replace(word, meaning)
        # Each remaining character is one syllable: keep them apart, as pinyin writes them.
        text = _CJK.sub(lambda m: f" {m.group(0)} ", text)
    latin = anyascii(text).lower()
    # The English possessive is not part of the word: "Iran's Revolutionary Guard".
    latin = _POSSESSIVE.sub("", latin).replace("'", "").replace("`", "")
    initials: set[str] = set()

    def join(found: re.Match[str]) -> str:
        joined = found.group(0).replace(".", "").replace(" ", "")
        initials.add(joined)
        return f" {joined} "

    latin = _DOTTED_INITIALS.sub(join, latin)
    latin = _SLASH_PAIR.sub(r"\1\2", latin)
    latin = _EZAFE.sub(" ", latin)
    latin = _ORDINAL.sub(r"\1", latin)
    latin = _SLAVIC_LEGAL_FORMS.sub(" ", latin)
    return latin.replace("&", " and ").replace("+", " and "), frozenset(initials)


def _company_words(
    words: list[str], concepts: list[tuple[str, str, bool]], drop: bool
) -> list[str]:
    """Words with each company phrase replaced by a placeholder; `concepts` says what each
    placeholder stands for (and grows)."""
    out: list[str] = []
    position = 0
    while position < len(words):
        first = words[position]
        longest = max(
            _STARTS.get(first, 0),
            _FOLDED_STARTS.get(fold(first), 0),
            _ROOT_STARTS.get(_root(first), 0),
        )
        if not longest:
            joined = _hyphenated(first, words[position + 1] if position + 1 < len(words) else "")
            if joined is not None:
                # A word broken across a line or a hyphen: "Proiz-vodstvenno".
                out.append(f"{_PLACEHOLDER}{len(concepts)}")
                concepts.append((joined, first + words[position + 1], False))
                position += 2
                continue
            split = _compound(first)
            suffixed = None if split else _suffixed(first)
            if suffixed is not None:
                # A name and a company word written as one: "Krymtets" (Krym, TETs).
                head, concept, tail, abbreviation = suffixed
                out.append(head)
                out.append(f"{_PLACEHOLDER}{len(concepts)}")
                concepts.append((concept, tail, abbreviation))
                position += 1
                continue
            if split:
                # A Russian compound abbreviation: "GosNII" is "Gos" (state) and "NII".
                for part in split:
                    concept, abbreviation = _PHRASES[(part,)]
                    if concept:
                        out.append(f"{_PLACEHOLDER}{len(concepts)}")
                        concepts.append((concept, part, abbreviation))
            else:
                out.append(first)
            position += 1
            continue
        for length in range(min(longest, len(words) - position), 0, -1):
            phrase = tuple(words[position : position + length])
            found = _PHRASES.get(phrase)
            if found is None:
                # Spelling variants of words fold alike; abbreviations only match as written
                # ("CB" is a commercial bank, "KB" a design bureau).
                folded = _PHRASES.get(tuple(fold(w) for w in phrase))
                found = folded if folded is not None and not folded[1] else None
            if found is None:
                root = _ROOTS.get(tuple(_root(w) for w in phrase))
                found = None if root is None else (root, False)
            if (
                found is not None
                and not found[0]
                and len(phrase) == 1
                and len(first) <= 3
                and len(fold(first)) < len(first)
                and first not in _WRITTEN
            ):
                found = None  # "Lia" folds to "la", an article: a short word stays a word
            if found is not None and found[0] == "" and not drop:
                # The longest phrase here says only "company": several words of it ("foreign
                # limited liability company") go now, before "foreign" alone is read as a
                # concept; one word ("company") is left for after rigour, which knows "joint
                # stock company".
                if length == 1:
                    out.extend(phrase)
                position += length
                break
            if found is not None and (found[0] == "") == drop:
                concept, abbreviation = found
                if concept:
                    out.append(f"{_PLACEHOLDER}{len(concepts)}")
                    concepts.append((concept, " ".join(phrase), abbreviation))
                position += length
                break
        else:
            out.append(words[position])
            position += 1
    return out


class Vocabulary:
    """Every distinct token analysed in this process, each with a number.

    Names share most of their words ("trading", "bank", places): a list of 500,000 names
    holds each as a number into this table, not millions of copies. Numbers never change, so
    a matcher built on a new list version reuses the numbers of the names it shares with the
    last one. It only grows, by the distinct tokens of the names loaded.
    """

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self._numbers: dict[Token, int] = {}
        self._lock = threading.Lock()  # lists are built in the reference reader's thread too

    def number(self, token: Token) -> int:
        found = self._numbers.get(token)
        if found is not None:
            return found
        with self._lock:
            found = self._numbers.get(token)
            if found is None:
                found = len(self.tokens)
                self.tokens.append(token)
                self._numbers[token] = found
            return found


VOCABULARY = Vocabulary()
"""Listed names only: the parties of declarations are analysed, compared and forgotten."""


def _concept_key(concept: str) -> str:
    """A concept's key: "=plant" for a company word, "@asia" for a region (a place)."""
    return concept if concept.startswith("@") else f"={concept}"


@lru_cache(maxsize=65_536)  # the parties that recur in declarations
def analyse(name: str) -> tuple[Token, ...]:
    return analyse_uncached(name)


def analyse_uncached(name: str) -> tuple[Token, ...]:
    """The comparable tokens of an organisation's name, in the order they are written.

    >>> [t.key for t in analyse("OAO Tulskiy Patronny Zavod")]
    ['tulski', '=cartridge', '=plant']
    >>> [t.key for t in analyse("Tula Cartridge Works Ltd")]
    ['tula', '=cartridge', '=plant']
    """
    latin, initials = _script_to_ascii(name)
    by_ear = _CYRILLIC.search(name) is not None
    words = _NON_ALNUM.sub(" ", latin).split()
    concepts: list[tuple[str, str, bool]] = []
    # Company words first: rigour would read "NPO" and "KB" as legal forms (NGO, Swedish KB).
    words = _company_words(words, concepts, drop=False)
    # Legal forms next, before "company" alone is dropped from "joint stock company".
    words = remove_org_types(" ".join(words)).split()
    words = _company_words(words, concepts, drop=True)
    if not words:
        return tuple(Token(_concept_key(c), w, True, a) for c, w, a in concepts)
    [analysed] = analyze_names(NameTypeTag.ORG, [" ".join(words)]) or [None]
    if analysed is None:
        return ()
    spans: dict[int, tuple[str, int]] = {}
    # rigour gives its spans in no fixed order, and a word can be in several ("bank" is a
    # symbol and a domain): the longest span claims its words, ties by symbol, so that a name
    # reads the same in every process.
    ordered = sorted(
        analysed.spans,
        key=lambda span: (-len(span.parts), span.parts[0].index, str(span.symbol)),
    )
    for span in ordered:
        if any(part.index in spans for part in span.parts):
            continue
        category = span.symbol.category
        if category in (SymbolCategory.LOCATION, SymbolCategory.SYMBOL, SymbolCategory.DOMAIN):
            key = f"#{span.symbol.id}".lower()
            if category == SymbolCategory.LOCATION:
                key = f"@{span.symbol.id}".lower()
            elif key[1:] in COMPANY_WORDS:
                key = f"={key[1:]}"  # rigour's "industry" is the dictionary's
            for part in span.parts:
                spans[part.index] = (key, span.parts[0].index)
        elif category == SymbolCategory.ORG_CLASS:
            for part in span.parts:
                spans[part.index] = ("", part.index)
    tokens: list[Token] = []
    for part in analysed.parts:
        form = part.form
        if form.startswith(_PLACEHOLDER) and form[len(_PLACEHOLDER) :].isdigit():
            concept, written, abbreviation = concepts[int(form[len(_PLACEHOLDER) :])]
            tokens.append(Token(_concept_key(concept), written, True, abbreviation))
            continue
        if part.tag in (NamePartTag.LEGAL, NamePartTag.STOP):
            continue
        symbol = spans.get(part.index)
        if symbol is not None:
            key, first = symbol
            if key and first == part.index:
                written = " ".join(
                    p.form for p in analysed.parts if spans.get(p.index, ("", -1))[1] == first
                )
                tokens.append(Token(key, written, True))
            continue
        territory = lookup_territory(form) if len(form) > 3 else None
        if territory is not None:
            tokens.append(Token(f"@{territory.code}", form, True))
            continue
        if form in _CHINESE_CITIES:
            tokens.append(Token(f"@cn-{form}", form, True))  # rigour knows the provinces only
            continue
        place = _place_of_adjective(form)
        if place is not None:
            tokens.append(Token(place, form, True))
            continue
        sound = _sound(form) if by_ear else ""
        tokens.append(Token(fold(form), form, initials=form in initials, sound=sound))
    if not tokens and analysed.parts:
        # A name made only of a legal form ("Company Ltd") still has something to compare.
        tokens = [Token(fold(p.form), p.form) for p in analysed.parts]
    return tuple(tokens)


# A Russian adjective made from a place, as transliterated: "Minskiy", "Permskaia",
# "Krasnodarskogo".
_ADJECTIVE = re.compile(
    r"^(\w{2,}?)(?:en|in)?sk(?:iy|ii|ij|yi|yy|y|i|aya|aia|aja|oye|oe|oie|ogo|oy|oi|ikh|ie|iye)$"
)


@lru_cache(maxsize=65_536)
def _place_of_adjective(word: str) -> str | None:
    """The place a Russian adjective is made from, if rigour knows it as a place:
    "Krasnodarskogo" is Krasnodar, "Permskaia" Perm, "Omskaya" Omsk, "Moskovskiy" Moskva.
    (rigour does not know Tula.)"""
    found = _ADJECTIVE.match(word)
    if found is None:
        if len(word) >= 6 and word.endswith("an"):
            # The English adjective of a region: "Crimean" (Crimea), "Moroccan" (Morocco).
            for candidate in (word[:-1], word[:-2] + "o"):
                territory = lookup_territory(candidate)
                if territory is not None:
                    return f"@{territory.code}"
        return None
    base = found.group(1)
    # "Belaruskaya" is Belarus's, "Krasnodarskogo" Krasnodar's, "Omskaya" Omsk's.
    candidates = [base + "sk", base + "a", base, base + "o", base + "s"]
    if base.endswith("ov"):
        candidates.append(base[:-2] + "va")  # "Moskovskiy" is Moskva's
    for candidate in candidates:
        [analysed] = analyze_names(NameTypeTag.ORG, [candidate]) or [None]
        if analysed is None:
            continue
        for span in analysed.spans:
            if span.symbol.category == SymbolCategory.LOCATION and len(span.parts) == 1:
                return f"@{span.symbol.id}".lower()
        territory = lookup_territory(candidate) if len(candidate) > 3 else None
        if territory is not None:
            return f"@{territory.code}"
    return None


@dataclass(frozen=True, slots=True)
class Agreement:
    similarity: float
    kind: str  # exact, transliteration, spelling, translation, abbreviation


def agree(query: Token, listed: Token) -> Agreement | None:
    """How far two tokens say the same thing, and why; None when they do not."""
    if query.concept and listed.concept and query.key != listed.key:
        if broader(query.key, listed.key) or broader(listed.key, query.key):
            return Agreement(0.9, "translation")  # "Commercial Bank" and "Bank"
        if _kin(query.key, listed.key):
            return Agreement(0.8, "translation")  # "Consortium" and "Corporation"
        return None
    if query.concept or listed.concept:
        if query.key != listed.key:
            word, concept = (query, listed) if listed.concept else (listed, query)
            if word.concept:
                return None
            if _cut_short(word.written, concept.written):
                return Agreement(0.8, "abbreviation")  # "Serv" for "Services"
            if " " in concept.written or concept.abbreviation or concept.key.startswith("#"):
                return None
            if concept.key.startswith("@"):
                # A place's adjective: "Krasnodarskiy" and "Krasnodar" (not "Krasnoyarsk").
                if set(word.stems).isdisjoint(stems(fold(concept.written))):
                    return None
                return Agreement(0.85, "transliteration")
            # A company word spelt another way: "Kholdingz" and "Holdings".
            spelling = _as_word(concept.written)
            if _skeleton(word.key)[0] != _skeleton(spelling.key)[0]:
                return None  # most pairs: not even the first sound agrees
            spelt = agree(word, spelling)
            if spelt is None:
                return None
            return Agreement(min(spelt.similarity, 0.85), spelt.kind)
        if query.written == listed.written:
            kind = "exact"
        elif query.abbreviation or listed.abbreviation:
            kind = "abbreviation"
        elif query.written.replace(" ", "") == listed.written.replace(" ", ""):
            kind = "joined words"  # "Hong Kong", "Hongkong"
        else:
            kind = "translation"
        return Agreement(1.0, kind)
    if query.written == listed.written:
        return Agreement(1.0, "exact")
    if query.key == listed.key or query.key.replace("ks", "x") == listed.key.replace("ks", "x"):
        return Agreement(0.97, "transliteration")  # "Kordeks", "Kordex": the s is no plural
    if len(query.key) >= 3 and _leading_i(query.key) == _leading_i(listed.key):
        return Agreement(0.9, "transliteration")  # "Elya", "Ilya"; "Esfahan", "Isfahan"
    if _english_y(query.key) == _english_y(listed.key):
        return Agreement(0.9, "transliteration")  # "Skai", "Sky": English as Cyrillic writes it
    # The Arabic article written joined or apart: "Alnaser" and "Al-Naser" (rigour drops "al").
    for one, other in ((query.key, listed.key), (listed.key, query.key)):
        if one.startswith(("al", "el")) and one[2:] == other and len(other) >= 3:
            return Agreement(0.95, "transliteration")
    shorter = min(len(query.key), len(listed.key))
    if shorter >= 3 and not set(query.stems).isdisjoint(listed.stems):  # stems[0] is the stem
        return Agreement(0.85, "transliteration")
    # Vowels are what transliterations of Arabic and Persian disagree on most: "Bushra" and
    # "Boshra", "Mashriq" and "Mashreq"; Belarusian and Ukrainian write h for the Russian g
    # ("Hrodna", "Grodno"; "Homel", "Gomel").
    skeleton = _skeleton(query.key)
    if len(_VOWELS.sub("", skeleton)) >= 3 and skeleton == _skeleton(listed.key):
        return Agreement(0.9, "transliteration")
    if shorter >= 4 and not (query.key.isdigit() or listed.key.isdigit()):
        ratio = fuzz.ratio(query.key, listed.key)
        if ratio >= 85:
            return Agreement(min(ratio / 100, 0.9), "spelling")
        # Inflected the Russian way on one side, the English on the other: "Respublikanskoye"
        # and "Republican" differ in their endings and in one letter of their stems.
        pair = query.stem, listed.stem
        if min(len(pair[0]), len(pair[1])) >= 6 and fuzz.ratio(*pair) >= 90:
            return Agreement(0.85, "spelling")
    if _cut_short(query.written, listed.written) or _cut_short(listed.written, query.written):
        return Agreement(0.8, "abbreviation")
    if _by_ear(query, listed) or _by_ear(listed, query):
        return Agreement(0.85, "sound")  # "Interfeys" (Интерфейс) and "Interface"
    return None


_SOUND_MIN = 4
"""Metaphone letters: shorter codes ("AF" for Ava and Avia, "ALF" for Alfa) say too little."""


@lru_cache(maxsize=262_144)
def _sound(written: str) -> str:
    """The word as it sounds read as English (Metaphone), if that says enough to compare."""
    code = metaphone(written) if written.isalpha() and len(written) >= 5 else ""
    return code if len(code) >= _SOUND_MIN else ""


def _by_ear(cyrillic: Token, other: Token) -> bool:
    """A word of a Cyrillic name that sounds as the other word does read as English:
    "korporeyshn" and "corporation", "interneshnl" and "international", "kobalt" and
    "cobalt". Only a word written in Cyrillic is read by ear."""
    return bool(cyrillic.sound) and cyrillic.sound == _sound(other.written)


def _leading_i(key: str) -> str:
    """A word with a leading e read as i: Persian names are written with either
    ("Ebrahim", "Ibrahim"; "Emdad", "Imdad")."""
    return "i" + key[1:] if key[0] == "e" else key


def _english_y(key: str) -> str:
    """A folded word with a final "ai" read as the English y it may transliterate: "Skai" and
    "Sky" (Russian "скай"), "Flai" and "Fly". Short words stay as they are."""
    return key[:-2] + "i" if len(key) >= 4 and key.endswith("ai") else key


def broader(narrow: str, broad: str) -> bool:
    """Whether one concept is a kind of the other ("=commercial_bank", "=bank")."""
    concept = narrow[1:]
    while concept in BROADER:
        concept = BROADER[concept]
        if f"={concept}" == broad:
            return True
    return False


def _kin(one: str, other: str) -> bool:
    """Whether two concepts are kinds of the same one ("=concern", "=corporation")."""
    first, second = BROADER.get(one[1:]), BROADER.get(other[1:])
    return first is not None and first == second


@lru_cache(maxsize=4096)
def _as_word(written: str) -> Token:
    """A company word's own words as a word token, to compare spellings with."""
    return Token(fold(written), written)


@lru_cache(maxsize=262_144)
def _skeleton(key: str) -> str:
    """The word's first letter and its consonants, g and h as one: what is left once the
    vowels and the g/h of Slavic transliterations are set aside."""
    return (key[0] + _VOWELS.sub("", key[1:])).replace("h", "g")


def _cut_short(short: str, long: str) -> bool:
    """A word cut short: "Serv" for "Services", "Trans" for "Transportation"."""
    return len(short) >= 3 and len(long) >= len(short) + 3 and long.startswith(short)
