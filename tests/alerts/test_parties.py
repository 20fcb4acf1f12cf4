from pathlib import Path

import pytest

from alerts.errors import ReferenceDataError
from alerts.parties import (
    PartyMatcher,
    WatchlistEntry,
    load_opensanctions_csv,
    normalize_party_name,
)

ENTRIES = [
    WatchlistEntry(
        "test",
        "kc",
        "Kalashnikov Concern JSC",
        ("АО Концерн Калашников",),
        "RU",
        ("1826001137",),
        "SDN",
    ),
    WatchlistEntry(
        "test",
        "nor",
        "China North Industries Group Corporation Limited",
        ("Norinco", "中国北方工业集团有限公司"),
        "CN",
        (),
        "NS-CMIC",
    ),
    WatchlistEntry("test", "azu", "Azu International", (), "TR", (), "SDN"),
    WatchlistEntry("test", "tk", "Tekhkrim", (), "RU", ("7701234567", "1027700132195"), "EU"),
]
MATCHER = PartyMatcher(ENTRIES)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("ООО «Техкрим»", "tekhkrim"),  # Cyrillic, legal form, guillemets
        ("Tekhkrim, LLC", "tekhkrim"),  # Latin legal form and punctuation
        ("TEKHKRIM Co., Ltd.", "tekhkrim"),  # case and two legal forms
        ("Общество с ограниченной ответственностью Техкрим", "tekhkrim"),  # long Russian form
        ("中国北方工业集团有限公司", "zhong guo bei fang gong ye"),  # Chinese legal form removed
        ("Azu Dis Ticaret Ltd. Şti.", "azu"),  # Turkish legal forms
        ("Müller GmbH & Co. KG", "muller"),  # German forms, umlaut
    ],
)
def test_normalize_party_name(name: str, normalized: str) -> None:
    assert normalize_party_name(name) == normalized


@pytest.mark.parametrize(
    ("name", "tax_id", "entry_id", "method"),
    [
        ("Kalashnikov Concern", None, "kc", "name"),  # legal form dropped
        ("Concern Kalashnikov, JSC", None, "kc", "name"),  # word order
        ("АО Концерн Калашников", None, "kc", "name"),  # Cyrillic alias
        ("Kontsern Kalashnikov AO", None, "kc", "name"),  # transliterated alias
        ("Kalashnikof Concern", None, "kc", "name"),  # typo in a long word
        ("Kalashnikov Concern Izhevsk Branch", None, "kc", "name"),  # listed name inside
        ("NORINCO", None, "nor", "name"),  # alias, case
        ("Norinco Trading Co", None, "nor", "name"),  # alias plus filler
        ("中国北方工业集团有限公司", None, "nor", "name"),  # Chinese
        ("Some Front Company LLC", "7701234567", "tk", "tax_id"),  # INN decides
        ("Some Front Company LLC", "1027700132195", "tk", "tax_id"),  # OGRN decides
        ("Some Front Company LLC", "770-123-4567", "tk", "tax_id"),  # punctuation in the id
    ],
)
def test_matches(name: str, tax_id: str | None, entry_id: str, method: str) -> None:
    [match] = MATCHER.match(name, tax_id)
    assert (match.entry.entry_id, match.method) == (entry_id, method)
    assert match.score >= MATCHER.threshold


@pytest.mark.parametrize(
    ("name", "tax_id"),
    [
        ("Azur International Ltd", None),  # one letter more in the only distinctive word
        ("Kalashnikov Vodka Ltd", None),  # shares a word, not the company
        ("Rostelecom PJSC", None),  # not in this list at all
        ("China North Trading Company", None),  # only common words shared
        ("Some Front Company LLC", "7701234568"),  # a neighbouring tax id
    ],
)
def test_non_matches(name: str, tax_id: str | None) -> None:
    assert MATCHER.match(name, tax_id) == ()


# Listed names as real lists spell them, and how declarants write them instead. Each kind of
# variation the rules were measured to miss: the list holds primary names only.
LISTED = [
    WatchlistEntry("t", "vektor", "OOO Vektor Tekhnologii Moskva", (), "RU", (), "EU"),
    WatchlistEntry("t", "otkr", "Bank Otkritie Finansovaya Korporatsiya", (), "RU", (), "SDN"),
    WatchlistEntry("t", "eko", "Ekotekh Prom", (), "RU", (), "SDN"),
    WatchlistEntry("t", "tula", "AO Tulskiy Patronny Zavod", (), "RU", (), "SDN"),
    WatchlistEntry("t", "kbp", "AO Konstruktorskoye Byuro Priborostroeniya", (), "RU", (), "SDN"),
    WatchlistEntry("t", "xinda", "Shenzhen Xinda Maoyi Youxian Gongsi", (), "CN", (), "BIS"),
    WatchlistEntry("t", "mash", "NPO Mashinostroyeniya", (), "RU", (), "SDN"),
    WatchlistEntry(
        "t", "pulsar", "Nauchno-Proizvodstvennoye Predpriyatiye Pulsar", (), "RU", (), "EU"
    ),
    WatchlistEntry("t", "rosob", "FGUP Rosoboronexport", (), "RU", (), "SDN"),
    WatchlistEntry("t", "sinotrade", "Hongkong Tiles and Ceramics Trading", (), "HK", (), "BIS"),
    WatchlistEntry("t", "alpha", "Torgovy Dom Alfa-Komplekt", (), "RU", (), "UK"),
    WatchlistEntry("t", "azim", "Azim Import Export Co", (), "IR", (), "SDN"),
    WatchlistEntry("t", "ksa", "K.S.A.", (), "AE", (), "SDN"),
    WatchlistEntry("t", "ask", "A.S.K. Group", (), "TR", (), "SDN"),
    WatchlistEntry("t", "kartal", "Kartal Savunma Sanayi", (), "TR", (), "SDN"),
    WatchlistEntry("t", "delta", "Delta Vektor Bank Group", (), "RU", (), "SDN"),
    WatchlistEntry("t", "rublev", "Kommercheskiy Bank Rublev", (), "RU", (), "SDN"),
]
LISTS = PartyMatcher(LISTED)


@pytest.mark.parametrize(
    ("name", "entry_id", "reason"),
    [
        ("Vector Technologies Moscow LLC", "vektor", "transliteration"),  # v/w, k/c, translation
        ("Bank Otkrytie Financial Corporation", "otkr", "transliteration"),  # y/i
        ("Eco-Tech Prom", "eko", "joined words"),  # kh/ch, a hyphen splits the word
        ("Tula Cartridge Works JSC", "tula", "translation"),  # patronny zavod
        ("KB Priborostroeniya", "kbp", "abbreviation"),  # konstruktorskoye byuro
        ("Instrument Design Bureau JSC", "kbp", "translation"),  # English
        ("Shenzhen Xinda Trading Co., Ltd.", "xinda", "translation"),  # maoyi youxian gongsi
        ("Scientific Production Association of Machine Building", "mash", "translation"),
        ("NPP Pulsar", "pulsar", "abbreviation"),
        ("Federal State Unitary Enterprise Rosoboroneksport", "rosob", "abbreviation"),
        ("Hong Kong Tile & Ceramic Trading Ltd", "sinotrade", "joined words"),  # and plurals
        ("TD Alfa Komplekt", "alpha", "abbreviation"),  # torgovy dom, hyphen
        ("Azim I/E Company", "azim", "abbreviation"),  # import export
        ("Delta Vektor Bank", "delta", "containment"),  # "Group" left out
        ("Delta Vektor", "delta", "containment"),  # "Bank Group" left out
        ("JSC CB Rublev", "rublev", "abbreviation"),  # CB: commercial bank (KB: design bureau)
    ],
)
def test_variants_a_list_does_not_spell_out_still_match(
    name: str, entry_id: str, reason: str
) -> None:
    found = {m.entry.entry_id: m for m in LISTS.match(name, None)}
    assert entry_id in found, f"{name!r} found {list(found)}"
    assert reason in found[entry_id].reasons


@pytest.mark.parametrize(
    "name",
    [
        "Inversiones K. S. A. Garcia S.A.",  # Spanish S.A. and initials are not "K.S.A."
        "Akdeniz Tekstil Sanayi A.Ş.",  # Turkish A.Ş. is a legal form, not the initials A S
        "Kaya Sanayi A.S. Group",  # A.S. is not the initials of "A.S.K. Group"
        "Kartal Gida Ticaret A.S.",  # shares one word with "Kartal Savunma Sanayi"
        "Delta Airlines Inc",  # shares a common word only
    ],
)
def test_ordinary_companies_do_not_match_initials_or_common_words(name: str) -> None:
    assert LISTS.match(name, None) == ()


def test_a_name_inside_a_longer_one_scores_below_the_same_name() -> None:
    [same] = LISTS.match("Delta Vektor Bank Group", None)
    [shorter] = LISTS.match("Delta Vektor", None)
    assert same.score == 100 and LISTS.threshold <= shorter.score < same.score
    # Without its rarest word the name still matches, lower: severity is graded by it.
    [without_delta] = [m for m in LISTS.match("Vektor Bank", None) if m.entry.entry_id == "delta"]
    assert without_delta.score < shorter.score


def test_initials_alone_match_only_the_same_initials() -> None:
    assert [m.entry.entry_id for m in LISTS.match("K. S. A.", None)] == ["ksa"]
    assert LISTS.match("KSA Trading", None) == ()


def test_the_party_country_raises_or_lowers_confidence() -> None:
    [plain] = LISTS.match("Delta Vektor Bank", None)
    [agrees] = LISTS.match("Delta Vektor Bank", None, "RU")
    [differs] = LISTS.match("Delta Vektor Bank", None, "US")
    assert differs.score < plain.score < agrees.score
    assert "country agrees" in agrees.reasons and "country differs" in differs.reasons


def test_the_evidence_names_the_words_that_agree() -> None:
    [match] = LISTS.match("Tula Cartridge Works", None)
    assert "cartridge = patronny (translation)" in match.aligned
    assert "works = zavod (translation)" in match.aligned
    assert any(a.startswith("tula = tulskiy") for a in match.aligned)


def test_name_match_still_counts_when_the_tax_id_differs() -> None:
    # A different id does not clear a name hit: the analyst sees both facts in the evidence.
    [match] = MATCHER.match("Tekhkrim LLC", "9999999999")
    assert match.method == "name"


def test_recurring_parties_are_cached() -> None:
    matcher = PartyMatcher(ENTRIES)
    for _ in range(3):
        matcher.match("Kalashnikov Concern", None)
    assert matcher.match.cache_info().hits == 2


SIMPLE_CSV = (
    "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,"
    "dataset,first_seen,last_seen,last_change\n"
    'NK-1,Company,"Sertal LLC","ООО Сертал;Sertal",,ru,,7703123456,"US OFAC SDN",,,'
    "us_ofac_sdn,2022-01-01,2026-01-01,2026-01-01\n"
    'NK-2,Person,"Ivan Ivanov",,1970-01-01,ru,,,"EU FSF",,,'
    "eu_fsf,2022-01-01,2026-01-01,2026-01-01\n"
    'NK-3,Organization,"Special Technology Center","STC",,ru,,,"BIS Entity List",,,'
    "us_bis,2022-01-01,2026-01-01,2026-01-01\n"
)


def test_opensanctions_simple_csv(tmp_path: Path) -> None:
    path = tmp_path / "targets.simple.csv"
    path.write_text(SIMPLE_CSV, encoding="utf-8")
    label, entries = load_opensanctions_csv(path)
    assert label.startswith("targets.simple@sha256:")
    assert [e.entry_id for e in entries] == ["NK-1", "NK-3"]  # people are left out
    matcher = PartyMatcher(entries)
    assert matcher.match("ООО «Сертал»", None)[0].entry.entry_id == "NK-1"
    assert matcher.match("Unknown LLC", "7703123456")[0].method == "tax_id"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("id,name\nx,y\n", "missing"),  # not the export format
        (SIMPLE_CSV.replace('"Sertal LLC"', '""'), "without id or name"),  # empty name
        (SIMPLE_CSV.splitlines()[0] + "\n", "no organisations"),  # header only
    ],
)
def test_broken_opensanctions_csv(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=reason):
        load_opensanctions_csv(path)


LOOKUPS = PartyMatcher(
    [
        WatchlistEntry("t", "odesa", "State Enterprise Odesa Sea Trading Port", (), "UA", (), "x"),
        WatchlistEntry("t", "vympel", "Main System Design Bureau Vympel", (), "RU", (), "x"),
        WatchlistEntry("t", "ccg", "Chongchongang Shipping Co", (), "KP", (), "x"),
        WatchlistEntry("t", "other", "Unrelated Widget Makers", (), "KP", (), "x"),
    ]
)


@pytest.mark.parametrize(
    ("name", "entry_id", "reason"),
    [
        # Names of places and company words only: the city finds the listed name.
        ("Port of Odesa", "odesa", "containment"),
        # A run of words joined on the listed side: the query's words, joined, find it.
        ("Chong Chon Gang Shipping", "ccg", "joined words"),
        # Initials on one side, the words on the other.
        ("MSDB Vympel", "vympel", "abbreviation"),
    ],
)
def test_names_found_by_place_joined_words_and_initials(
    name: str, entry_id: str, reason: str
) -> None:
    [match] = LOOKUPS.match(name, None, None)
    assert match.entry.entry_id == entry_id
    assert reason in match.reasons


def test_initials_do_not_take_words_that_match_as_they_are() -> None:
    listed = PartyMatcher([WatchlistEntry("t", "mmt", "Metal Mineral Trade SARL", (), "", (), "x")])
    [match] = listed.match("Metal and Mineral Trade (MMT)", None, None)
    assert match.score >= 90
    assert "metal = metal (exact)" in match.aligned


@pytest.mark.parametrize(
    ("adjective", "place"),
    [("Grodnenskoye", "Grodno"), ("Tulskiy", "Tula"), ("Dolgoprudnenskoye", "Dolgoprudny")],
)
def test_an_adjective_made_from_a_place_shares_its_stem(adjective: str, place: str) -> None:
    from alerts.names import analyse

    [made], [named] = analyse(adjective), analyse(place)
    assert made.stem == named.stem


def test_a_word_ending_in_en_keeps_it_without_the_adjective_suffix() -> None:
    from alerts.names import stem

    assert stem("grodnen") == "grodnen"
    assert stem("lenskoe") == "len"  # too short to be a place's adjective stem


def test_stems_that_differ_by_a_letter_agree_as_a_spelling() -> None:
    from alerts.names import agree, analyse

    [russian], [english] = analyse("Respublikanskoye"), analyse("Republican")
    found = agree(russian, english)
    assert found is not None and found.kind == "spelling"
    [short], [other] = analyse("Kamen"), analyse("Kamenskoye")
    assert agree(short, other) is None or agree(short, other).kind != "spelling"  # type: ignore[union-attr]


def test_a_belarusian_republican_unitary_enterprise_is_a_legal_form() -> None:
    from alerts.names import analyse

    for name in ("RUP Tsentrkurort", "Republican Unitary Enterprise Tsentrkurort"):
        assert [t.key for t in analyse(name) if not t.concept] == ["centrkurort"]


@pytest.mark.parametrize(
    ("adjective", "place"),
    [("Grodnenskaya", "Grodno"), ("Yaltinskaya", "Yalta"), ("Gatchinsky", "Gatchina")],
)
def test_a_feminine_or_inskiy_adjective_agrees_with_its_place(adjective: str, place: str) -> None:
    from alerts.names import agree, analyse

    [made], [named] = analyse(adjective), analyse(place)
    found = agree(made, named)
    assert found is not None and found.kind == "transliteration"


def test_an_inskiy_adjective_finds_its_place_in_the_index() -> None:
    listed = PartyMatcher([WatchlistEntry("t", "y", "Yaltinskaya Kinostudiya", (), "", (), "x")])
    [match] = listed.match("Yalta Film Studio", None, None)
    assert match.entry.entry_id == "y"
    assert "film studio = kinostudiya (translation)" in match.aligned


def test_belarusian_h_agrees_with_russian_g() -> None:
    from alerts.names import agree, analyse

    [belarusian], [russian] = analyse("Hrodna"), analyse("Grodno")
    assert agree(belarusian, russian) is not None
    [one], [other] = analyse("Hamel"), analyse("Gomer")
    assert agree(one, other) is None


@pytest.mark.parametrize(
    ("inflected", "concept"),
    [
        ("Gosudarstvennogo", "=state"),
        ("Natsionalnogo", "=national"),
        ("Federalnaya", "=federal"),
        ("Mezhdunarodnogo", "=international"),
    ],
)
def test_company_words_are_found_in_any_case_or_gender(inflected: str, concept: str) -> None:
    from alerts.names import analyse

    assert analyse(f"{inflected} Zvezda")[0].key == concept


def test_short_words_are_not_read_as_an_inflected_company_word() -> None:
    from alerts.names import analyse

    # "Makin" is not "makina" (machine), nor "Sharqiya" "sharq" (east) without its ending.
    assert analyse("Makin Institute")[0].key == "makin"
    assert not analyse("Ahrar al-Sharqiya")[-1].concept


def test_a_rare_word_with_only_company_words_around_it_matches_at_the_lowest_grade() -> None:
    listed = PartyMatcher(
        [
            WatchlistEntry("t", "k", "Kremsont Commercial Inc.", (), "", (), "x"),
            WatchlistEntry("t", "l", "Liberty Shipping Co Ltd", (), "", (), "x"),
            *(
                WatchlistEntry("t", f"f{n}", f"Liberty Filler{n} Ltd", (), "", (), "x")
                for n in range(3)
            ),
            *(
                WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x")
                for n in range(40)
            ),
        ]
    )
    [match] = listed.match("Kremsont Alliance Corp", None, None)
    assert match.entry.entry_id == "k"
    assert match.score == listed.threshold
    assert "only company words differ" in match.reasons
    # A word that several listed names share does not carry such a match, nor does a
    # distinctive word left unpaired.
    assert not [
        m for m in listed.match("Liberty Energy Inc", None, None) if m.entry.entry_id == "l"
    ]
    assert not listed.match("Kremsont Nikan Corp", None, None)


def test_an_adjective_agrees_with_the_place_it_is_made_from() -> None:
    from alerts.names import Token, agree, analyse, fold

    # As a word (rigour does not know every place's adjective as the place).
    adjective = Token(fold("krasnodarskiy"), "krasnodarskiy")
    [place] = analyse("Krasnodar")
    assert place.concept
    found = agree(adjective, place)
    assert found is not None and found.kind == "transliteration"
    assert agree(Token(fold("krasnoyarsk"), "krasnoyarsk"), place) is None


def test_a_word_may_spell_a_company_word_another_way_but_not_an_abbreviation() -> None:
    from alerts.names import agree, analyse

    [_, kholdingz], [_, holdings] = analyse("Dana Kholdingz"), analyse("Dana Holdings")
    assert holdings.concept and not kholdingz.concept
    assert agree(kholdingz, holdings) is not None
    [npk], [npc] = analyse("NPK"), analyse("NPC")
    assert npk.abbreviation and agree(npc, npk) is None


def test_distinctive_words_side_by_side_in_the_same_order_score_higher() -> None:
    listed = PartyMatcher(
        [WatchlistEntry("t", "z", "Zarya Kometa Relief Committee", (), "", (), "x")], threshold=50
    )
    [in_order] = listed.match("Zarya Kometa Foundation", None, None)
    [swapped] = listed.match("Kometa Zarya Foundation", None, None)
    assert in_order.score > swapped.score


def test_a_turkish_joint_stock_company_is_a_legal_form() -> None:
    from alerts.names import analyse

    for name in ("Ramor Anonim Sirketi", "RAMOR ANONİM ŞİRKETİ", "Ramor A.S."):
        assert [t.key for t in analyse(name)] == ["ramor"]


def test_a_long_rare_word_spelt_alike_carries_a_match_among_company_words() -> None:
    entries = [WatchlistEntry("t", "p", "Promsyrioimport Machinery Plant", (), "", (), "x")]
    entries += [
        WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x") for n in range(40)
    ]
    listed = PartyMatcher(entries)
    [match] = listed.match("VO Promsyrieimport FGUP", None, None)
    assert match.entry.entry_id == "p" and "only company words differ" in match.reasons


def test_a_concept_agrees_a_little_less_with_the_broader_one() -> None:
    from alerts.names import agree, analyse

    [commercial_bank], [bank] = analyse("Commercial Bank"), analyse("Bank")
    found = agree(commercial_bank, bank)
    assert found is not None and found.similarity < 1.0
    assert agree(bank, commercial_bank) == found
    assert agree(analyse("Commercial Bank")[0], analyse("Plant")[0]) is None


def test_the_english_possessive_is_not_part_of_the_word() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("Iran's Aluminum Company")] == [
        t.key for t in analyse("Iran Aluminum Company")
    ]


def test_rigour_symbols_that_the_dictionary_knows_are_its_concepts() -> None:
    from alerts.names import analyse

    # rigour reads "Industrialny" as its symbol INDUSTRY; the dictionary reads "Industrial".
    assert analyse("Industrialny Zvezda")[0].key == analyse("Industrial Zvezda")[0].key


def test_the_adjective_of_a_place_in_sk() -> None:
    # rigour does not know Orsk: both are words. A place of four letters keeps its "sk" in
    # its stem, and only the adjective's second stem ("orsk") finds it in the index.
    entries = [WatchlistEntry("t", "orsk", "Orsk Refinery", (), "", (), "x")]
    entries += [
        WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x") for n in range(20)
    ]
    [match] = PartyMatcher(entries).match("Orskiy Neftepererabatyvayushchiy Zavod", None, None)
    assert match.entry.entry_id == "orsk"
    assert "orskiy = orsk (transliteration)" in match.aligned


def test_a_russian_compound_abbreviation_is_read_as_its_parts() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("AO GosMKB Raduga")] == [
        t.key for t in analyse("State Engineering Design Bureau Raduga")
    ]
    assert [t.key for t in analyse("GosNII Kristall")][:2] == ["=state", "=research_institute"]
    assert [t.key for t in analyse("Gostar")] == ["gostar"]  # not "gos" and a word


@pytest.mark.parametrize(
    ("written", "translated"),
    [
        # Persian company words and legal forms
        ("Sherkat Battery Sazi Niru Sahami Khass", "Niru Battery Manufacturing Company"),
        ("Mashin Sazi Arak", "Machine Building Arak"),
        ("Siman-e Kurdistan", "Kurdistan Cement"),
        ("Bank Keshavarzi", "Agricultural Bank"),
        ("Gharargah Sazandegi Nooh", "Nooh Construction Headquarters"),
        # English abbreviations of Russian enterprise forms
        ("RPE Almaz", "NPP Almaz"),
        ("Turbina SDB", "SKB Turbina"),
        ("RPA Rusbitech", "NPO Rusbitech"),
        ("TsKB Rubin", "Central Design Bureau Rubin"),
        ("Severnaya Verf", "Severnaya Zavod"),
        ("Morskoye Byuro", "Morskoi Byuro"),
        # Russian industry and institution words, and pinyin
        ("Avtomobilny Zavod Ural", "Ural Automobile Plant"),
        ("Raketny Tsentr Makeyev", "Makeyev Rocket Center"),
        ("Federalnoe Byudzhetnoe Uchrezhdenie Luch", "Federal Budgetary Institution Luch"),
        ("Voiskovaia Chast 20924", "Military Unit 20924"),
        ("SPG Yakutia", "LNG Yakutia"),
        ("Vserossiyskiy Institut Zvezda", "All-Russian Institute Zvezda"),
        ("Vertoletny Zavod Kazan", "Helicopter Plant Kazan"),
        ("Optiko Mekhanicheskiy Zavod Luch", "Optical Mechanical Plant Luch"),
        ("Sankt-Peterburgskoye Morskoye Byuro Malakhit", "St. Petersburg Marine Bureau Malakhit"),
        ("Ordena Lenina Institut Imeni Akademika Luch", "Academician Luch Institute"),
        ("Sanatoriy Oreanda", "Oreanda Resort"),
        ("Wu Li Chuangxin Wuliu Konggu", "Wu Li Innovation Logistics Holding"),
        ("Voenno Promyshlennaya Korporatsiya Luch", "Military Industrial Corporation Luch"),
        ("Burovaya Kompaniya Luch", "Luch Drilling"),
        ("KTB Luch", "Design and Technological Bureau Luch"),
        ("NKO Luch", "Non-Bank Credit Organization Luch"),
        ("Kinostudiya Luch", "Luch Film Studio"),
        # Ukrainian, Belarusian and Turkish enterprise words, and a free zone
        ("Derzhavne Pidpryemstvo Luch", "State Enterprise Luch"),
        ("Dzyarzhaunaye Pradpryemstva Luch", "Gosudarstvennoye Predpriyatiye Luch"),
        ("Luch Gemi Acentelik", "Luch Shipping Agency"),
        ("Luch Tarim ve Hayvancilik", "Luch Agriculture and Livestock"),
        ("Luch Zona Franca", "Luch Free Zone"),
        ("Institut Vinograda i Vina Luch", "Luch Institute of Grapes and Wine"),
        ("Luch TETs", "Luch Teploelektrotsentral"),
        ("Agrofirma Luch", "Luch Agricultural Firm"),  # two company words written as one
        ("APK Luch", "Agropromyshlenny Kompleks Luch"),
        ("MKK Luch", "Mikrokreditnaya Kompaniya Luch"),
        ("Luch Yuhang Keji", "Luch Aerospace Technology"),
        ("Luch Cargo", "Luch Freight"),
        ("Luch SURL", "Luch"),
    ],
)
def test_company_words_read_alike_across_languages(written: str, translated: str) -> None:
    from alerts.names import analyse

    assert sorted(t.key for t in analyse(written)) == sorted(t.key for t in analyse(translated))


@pytest.mark.parametrize(
    "form",
    [
        "Aktcionernoe Obshchestvo",
        "Otkrytoe Atsionernoe Obshchestvo",
        "Aktsionernoe Obshestvo",
        "Nepublichnoe Aktsionernoe Obshchestvo",
        "Obschestvo s Organichennoy Otvetstvennostyu",
    ],
)
def test_misspelt_and_non_public_russian_legal_forms_are_legal_forms(form: str) -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse(f"{form} Luch")] == ["luh"]
    assert [t.key for t in analyse(f"{form} Kordex")] == ["kordex"]


@pytest.mark.parametrize(
    ("acronym", "listed"),
    [
        ("TFK Kamaz", "Torgovo-Finansovaya Kompaniya Kamaz"),  # the dropped company word
        ("NTTs Privodnaya Tekhnika", "Nauchno Tekhnicheskii Tsentr Privodnaya Tekhnika"),
        ("SRPE Luch", "State Research and Production Enterprise Luch"),  # "and" is no initial
    ],
)
def test_russian_acronyms_keep_digraphs_and_the_company_word(acronym: str, listed: str) -> None:
    matcher = PartyMatcher([WatchlistEntry("t", "a", listed, (), "", (), "x")])
    [match] = matcher.match(acronym, None, None)
    assert "abbreviation" in match.reasons


def test_kinds_of_the_same_concept_agree_less_than_either_with_it() -> None:
    from alerts.names import agree, analyse

    [consortium], [corporation], [group] = (
        analyse("Consortium"),
        analyse("Corporation"),
        analyse("Group"),
    )
    kin, broader = agree(consortium, corporation), agree(consortium, group)
    assert kin is not None and broader is not None
    assert kin.similarity < broader.similarity < 1.0


def test_a_final_ks_is_the_letter_x_not_a_plural() -> None:
    from alerts.names import agree, analyse

    [kordeks], [kordex] = analyse("Kordeks"), analyse("Kordex")
    found = agree(kordeks, kordex)
    assert found is not None and found.kind == "transliteration"


def test_an_adjective_of_a_place_rigour_knows_is_the_place() -> None:
    from alerts.names import analyse

    for adjective, place in (("Krasnodarskiy", "Krasnodar"), ("Moskovskiy", "Moskva")):
        [made], [named] = analyse(adjective), analyse(place)
        assert made.concept and made.key == named.key
    assert not analyse("Kremsontskiy")[0].concept  # no such place


@pytest.mark.parametrize(
    ("adjective", "place"),
    [("Crimean", "Crimea"), ("Moroccan", "Morocco"), ("Belaruskaya", "Belarus")],
)
def test_english_and_russian_adjectives_of_a_region_are_the_region(
    adjective: str, place: str
) -> None:
    from alerts.names import analyse

    [made], [named] = analyse(adjective), analyse(place)
    assert made.concept and made.key == named.key
    assert not analyse("Kremsontian")[0].concept


def test_a_chinese_city_that_starts_a_company_name_is_a_place() -> None:
    from alerts.names import agree, analyse

    dalian, *_ = analyse("Dalian Kremsont Economic and Trade Co Ltd")
    wuhan, *_ = analyse("Wuhan Kremsont Trading")
    assert dalian.concept and dalian.key == "@cn-dalian"
    assert agree(dalian, wuhan) is None  # each city is its own place
    assert [t.key for t in analyse("Economic and Trade")] == ["=economic", "=trade"]


def test_a_part_of_the_world_is_a_place_the_company_words_may_differ_around() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("Kremsont Middle East")] == [
        "kremsont",
        "@region-middle_east",
    ]
    assert analyse("Khavarmianeh")[0].key == "@region-middle_east"  # the Persian
    listed = PartyMatcher(
        [
            WatchlistEntry("t", "k", "Kremsont Trading Beijing Co Ltd", (), "", (), "x"),
            *(
                WatchlistEntry("t", f"o{n}", f"Other{n} Asia Ltd", (), "", (), "x")
                for n in range(40)
            ),
        ]
    )
    [match] = listed.match("Kremsont Asia Co Ltd", None, None)
    assert match.entry.entry_id == "k"
    assert "only company words differ" in match.reasons


def test_a_short_name_that_folds_to_an_article_stays_a_word() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("LIA Company")] == ["la"]  # "lia" folds to "la"
    assert [t.key for t in analyse("TAA Bremino")] == ["bremino"]  # a legal form as written


def test_a_word_the_name_repeats_counts_once() -> None:
    listed = PartyMatcher(
        [
            WatchlistEntry("t", "k", "Kremsont Institute of Wine", (), "", (), "x"),
            *(
                WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x")
                for n in range(40)
            ),
        ]
    )
    once = listed.match("Kremsont Institute of Wine Vinograd", None, None)
    twice = listed.match("Kremsont Institute of Wine Vinograd Kremsont", None, None)
    assert once and twice and twice[0].score == once[0].score


def test_an_english_y_written_the_cyrillic_way_agrees() -> None:
    from alerts.names import Token, agree, fold

    def word(written: str) -> Token:
        return Token(fold(written), written)

    found = agree(word("skai"), word("sky"))
    assert found is not None and found.kind == "transliteration"
    assert agree(word("flai"), word("fly")) is not None
    assert agree(word("mai"), word("mi")) is None  # too short to tell


def test_a_company_word_broken_by_a_hyphen_is_the_company_word() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("Proiz-vodstvennoye Obyedineniye Luch")] == [
        t.key for t in analyse("Proizvodstvennoye Obyedineniye Luch")
    ]
    assert [t.key for t in analyse("Kremsont-Luch")] == ["kremsont", "luh"]  # not one word


def test_a_place_and_a_company_word_written_as_one_are_read_apart() -> None:
    from alerts.names import analyse

    assert [t.key for t in analyse("Krymtets")] == [t.key for t in analyse("Krym TETs")]
    assert [t.key for t in analyse("Krymteploelektrotsentral")] == [
        t.key for t in analyse("Krymtets")
    ]
    assert [t.written for t in analyse("Transservis")] == ["transservis"]  # "trans" is no place


@pytest.mark.parametrize(("one", "other"), [("elya", "ilya"), ("esfahan", "isfahan")])
def test_a_leading_e_or_i_of_a_persian_name_agree(one: str, other: str) -> None:
    from alerts.names import Token, agree, fold

    found = agree(Token(fold(one), one), Token(fold(other), other))
    assert found is not None and found.kind == "transliteration"
    assert agree(Token(fold("elya"), "elya"), Token(fold("olya"), "olya")) is None


def test_a_company_word_implied_by_a_narrower_one_of_the_same_name_weighs_nothing() -> None:
    listed = PartyMatcher(
        [
            WatchlistEntry("t", "k", "Kremsont Film Studio", (), "", (), "x"),
            *(
                WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x")
                for n in range(40)
            ),
        ]
    )
    [plain] = listed.match("Kremsont Kinostudiya", None, None)
    [twice] = listed.match("Kinostudiya Kremsont-Film", None, None)  # "film" says it again
    assert twice.score == plain.score


def test_a_name_is_analysed_once_however_often_it_is_asked_about() -> None:
    from alerts.names import analyse

    assert analyse("Kremsont Trading Luch") is analyse("Kremsont Trading Luch")


@pytest.mark.parametrize(
    "written",
    [
        "ООО «Teхкpим»",  # Latin T, e and p inside a Cyrillic word
        "ООО «TEXKPИM»",  # every letter Latin but the И, which Latin has no look-alike for
        "Tekhкrim LLC",  # a Cyrillic к inside a Latin word
    ],
)
def test_a_word_in_two_scripts_is_read_in_the_one_it_belongs_to(written: str) -> None:
    [match] = MATCHER.match(written, None)
    assert match.entry.entry_id == "tk"
    assert normalize_party_name(written) == "tekhkrim"


def test_a_word_in_one_script_keeps_its_letters() -> None:
    # All look-alikes, no letter to tell: it stays as written ("CAXAP" may be English).
    assert normalize_party_name("CAXAP") == "caxap"


BY_EAR = PartyMatcher(
    [
        WatchlistEntry("t", "melfi", "Melfi Marine Corporation S.A.", (), "", (), "x"),
        WatchlistEntry("t", "gi", "Global Interface Company Inc.", (), "", (), "x"),
        WatchlistEntry("t", "cobalt", "International Cobalt Co. Inc.", (), "", (), "x"),
        WatchlistEntry("t", "avia", "Avia Group", (), "", (), "x"),
        *(WatchlistEntry("t", f"o{n}", f"Other{n} Trading", (), "", (), "x") for n in range(40)),
    ]
)


@pytest.mark.parametrize(
    ("written", "entry_id"),
    [
        ("МЕЛФИ МАРИН КОРПОРЕЙШН", "melfi"),  # English written in Cyrillic by ear
        ("ООО «Глобал Интерфейс»", "gi"),
        ("ИНТЕРНЕШНЛ КОБАЛТ", "cobalt"),
    ],
)
def test_english_names_written_in_cyrillic_by_ear_are_found(written: str, entry_id: str) -> None:
    found = BY_EAR.match(written, None, None)
    assert found and found[0].entry.entry_id == entry_id


def test_only_words_written_in_cyrillic_are_read_by_ear() -> None:
    from alerts.names import agree, analyse

    [cyrillic] = analyse("Интерфейс")
    [latin] = analyse("Interfeys")
    [listed] = analyse("Interface")
    found = agree(cyrillic, listed)
    assert found is not None and found.kind == "sound"
    assert agree(latin, listed) is None  # Latin letters are read as they are spelt
    assert analyse("Ава")[0].sound == ""  # "AF" would say too little: Ava is not Avia by ear
