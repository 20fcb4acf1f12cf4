import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.text import Lexicon, LexiconEntry, normalize, russian_reading, single_script


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AK-47", "ak 47"),  # punctuation becomes a space
        ("AK47", "ak 47"),  # glued letters and digits split
        ("АК-47", "ak 47"),  # Cyrillic А and К fold onto Latin
        ("ＱＢＺ－９５", "qbz 95"),  # full-width forms (NFKC)
        ("7.62mm", "7 62 mm"),  # glued unit
        ("CQ自动步枪", "cq 自动步枪"),  # Chinese run next to Latin letters
        ("81式", "81 式"),  # digits next to a Chinese character
        ("  Mixed\tCASE\n", "mix case"),  # case folding, whitespace, English stems
        ("Бронежилетами", "бpoheжилet"),  # Russian stem, then look-alikes folded
        ("bulletproof vests", "bulletproof vest"),  # plural stems to the singular
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


LEXICON = Lexicon(
    [
        LexiconEntry("kalashnikov", "AK-47", "en"),
        LexiconEntry("generic", "автомат", "ru"),
        LexiconEntry("generic", "自动步枪", "zh"),
        LexiconEntry("generic", "machine gun", "en"),
    ]
)


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("rifles ak47 cal 7.62", ["kalashnikov"]),  # glued designation
        ("Автомат Калашникова", ["generic"]),  # Russian, capitalised
        ("56式自动步枪一支", ["generic"]),  # Chinese inside a longer run
        ("hak 47 screws", []),  # no match inside a longer word
        ("автоматический выключатель", []),  # a longer Russian word is not the term
        ("machine-gun mount", ["generic"]),  # multi-word term with punctuation
        ("machine guns", ["generic"]),  # plurals stem to the singular
        ("machinegunner", []),  # a longer word is not the term
        ("", []),
    ],
)
def test_lexicon_finds_whole_terms(text: str, groups: list[str]) -> None:
    assert [m.entry.group for m in LEXICON.find(text)] == groups


def test_spellings_that_fold_together_count_once() -> None:
    lexicon = Lexicon([LexiconEntry("g", "пулемёт", "ru"), LexiconEntry("g", "пулемет", "ru")])
    assert len(lexicon.find("пулемет ПКМ")) == 1


def test_empty_term_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        Lexicon([LexiconEntry("g", "--", "en")])


@pytest.mark.parametrize(
    ("text", "groups", "corrections"),
    [
        ("Bulletprof vests", ["armour"], [("bulletprof", "bulletproof")]),  # a letter missing
        ("Bulletprooof vests", ["armour"], [("bulletprooof", "bulletproof")]),  # one extra
        ("Bullteproof vests", ["armour"], [("bullteproof", "bulletproof")]),  # transposed
        ("Бронижилеты", ["armour"], [("бpohижилet", "бpoheжилet")]),  # one changed (Russian)
        ("Bulletpr vest", [], []),  # two letters off: not corrected
        ("sorting machines", [], []),  # short stems are never corrected
    ],
)
def test_typos_in_long_words_are_corrected(
    text: str, groups: list[str], corrections: list[tuple[str, str]]
) -> None:
    lexicon = Lexicon(
        [
            LexiconEntry("armour", "bulletproof vest", "en"),
            LexiconEntry("armour", "бронежилет", "ru"),
        ]
    )
    matches, applied = lexicon.search(text)
    assert [m.entry.group for m in matches] == groups
    assert list(applied) == corrections


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Teхкpим", "Техкрим"),  # Latin T, e, p among Cyrillic letters, and и tells
        ("TEXKPИM", "ТЕХКРИМ"),  # one Cyrillic И is enough: Latin has no look-alike for it
        ("Tekhкrim", "Tekhkrim"),  # a Cyrillic к among Latin letters, and t, h, r tell
        ("Kонцерн", "Концерн"),  # no letter tells: the script with more letters wins
        ("CAXAP", "CAXAP"),  # one script: nothing to change, whatever it may stand for
        ("Сo", "Сo"),  # as many of each, nothing telling: left alone
        ("АК-47 Kalashnikov", "АК-47 Kalashnikov"),  # each word on its own
    ],
)
def test_a_word_in_two_scripts_is_rewritten_in_one(written: str, meant: str) -> None:
    assert single_script(written) == meant


def test_a_word_in_two_scripts_normalises_as_the_word_it_is() -> None:
    # Latin e and p in Russian words, inflected: the stemmer sees the Russian word.
    assert normalize("Бронежилeтами, пaтpонами") == normalize("Бронежилетами, патронами")


@pytest.mark.parametrize(
    ("word", "reading"),
    [
        ("okhotnichiy", "охотничий"),  # BGN/PCGN
        ("ohotnichiy", "охотничий"),  # "h" alone for х
        ("bronežilet", "бронежилет"),  # ISO 9 / Czech caron
        ("kvadrokoptery", "квадрокоптеры"),
        ("dlya", "для"),
    ],
)
def test_russian_in_latin_letters_reads_back(word: str, reading: str) -> None:
    assert russian_reading(word) == reading


RUSSIAN = Lexicon(
    [
        LexiconEntry("armour", "бронежилет", "ru"),
        LexiconEntry("hunting", "для охоты", "ru"),
        LexiconEntry("cartridge", "патрон", "ru"),
        LexiconEntry("vest", "vest", "en"),
    ]
)


@pytest.mark.parametrize(
    ("text", "groups", "read"),
    [
        # One long word bears the reading out.
        ("Bronezhilety, 10 sht", ["armour"], [("bronezhilety", "бронежилеты")]),
        # Two words the Russian terms use bear it out.
        (
            "patrony dlya okhoty 7.62",
            ["cartridge", "hunting"],
            [("patrony", "патроны"), ("dlya", "для"), ("okhoty", "охоты")],
        ),
        # One short word alone does not: a brand, not cartridges.
        ("Patron tequila", [], []),
        # English stays English: no Russian term is read into it.
        ("Ballistic vest", ["vest"], []),
    ],
)
def test_lexicon_reads_russian_written_in_latin_letters(
    text: str, groups: list[str], read: list[tuple[str, str]]
) -> None:
    matches, corrections = RUSSIAN.search(text)
    assert sorted(m.entry.group for m in matches) == sorted(groups)
    assert list(corrections) == read


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(1, 6), st.sampled_from(["a", "b"])),
        max_size=40,
    )
)
def test_matches_inside_a_longer_one_are_found_as_by_comparing_every_pair(
    spans: list[tuple[int, int, str]],
) -> None:
    from alerts.text import _inside_longer

    found = [
        (start, start + length - 1, "k", LexiconEntry("g", "t", "en", lexicon))
        for start, length, lexicon in spans
    ]
    by_pairs = {
        position
        for position, (start, end, _, entry) in enumerate(found)
        if any(
            other.lexicon == entry.lexicon
            and other_start <= start
            and end <= other_end
            and other_end - other_start > end - start
            for other_start, other_end, _, other in found
        )
    }
    assert _inside_longer(found) == by_pairs
