from typing import Any

import pytest

from schemas.alert import Severity
from tests.alerts.rules.helpers import EVERYDAY_WORDS, alerts_by_rule, party

FIREARM = "category_mismatch.military_firearm"
ARMOUR = "category_mismatch.body_armour"
UAV = "category_mismatch.uav"
CLAIM = "category_mismatch.civilian_claim"
HUB = "controlled_goods.diversion_destination"

NORINCO = party("China North Industries Corporation", "CN")


@pytest.mark.parametrize(
    ("overrides", "severity"),
    [
        # 2022 case shape: state arms maker's CQ-A rifles to a Russian importer, as hunting arms.
        (
            {
                "hs_code": "9303.20",
                "goods_description": "Карабины охотничьи CQ-A калибр 5,56 мм",
                "brand": "Norinco",
                "exporter": NORINCO,
            },
            Severity.CRITICAL,
        ),
        # Same rifles described in Chinese.
        (
            {"hs_code": "930320", "goods_description": "CQ自动步枪 5.56毫米 狩猎用"},
            Severity.CRITICAL,
        ),
        # English, Kalashnikov pattern, glued designation.
        ({"hs_code": "930320", "goods_description": "Hunting rifle AKM7.62x39"}, Severity.CRITICAL),
        # The model field alone names the rifle.
        (
            {"hs_code": "930320", "goods_description": "Hunting rifles", "model": "QBZ-95-1"},
            Severity.CRITICAL,
        ),
        # Not to a restricted destination: one level lower.
        (
            {
                "hs_code": "930320",
                "goods_description": "Sporting rifle M16A4",
                "destination_country": "RS",
                "importer": party("Oruzje DOO", "RS"),
            },
            Severity.HIGH,
        ),
        # A generic military word only, not to a restricted destination.
        (
            {
                "hs_code": "930320",
                "goods_description": "assault rifle, semi-auto",
                "destination_country": "KZ",
            },
            Severity.MEDIUM,
        ),
        # Parts of 9303 rifles (9305.20) named as Kalashnikov parts.
        ({"hs_code": "930520", "goods_description": "AK-74 bolt carriers"}, Severity.CRITICAL),
        # Declared as toys, no toy wording, real calibre.
        ({"hs_code": "9503.00", "goods_description": "Автомат АК-74М 5,45 мм"}, Severity.CRITICAL),
        # As air guns, with no replica wording.
        ({"hs_code": "9304.00", "goods_description": "AK-74M rifles 5.45"}, Severity.CRITICAL),
        # A designation in another word order than the lexicon's "Type 56 rifle".
        ({"hs_code": "930320", "goods_description": "Rifle Type 56, 7.62x39"}, Severity.CRITICAL),
    ],
)
def test_military_firearm_positive(overrides: dict[str, Any], severity: Severity) -> None:
    alert = alerts_by_rule(overrides)[FIREARM]
    assert alert.severity is severity
    assert "9301" in alert.summary
    assert alert.evidence["declared_prefix"] in {"9303", "930520", "9503", "9304"}


def test_a_military_firearm_under_any_other_heading_is_a_lesser_mismatch() -> None:
    alert = alerts_by_rule(
        {
            "hs_code": "8479.89",
            "goods_description": "Machine, Kalashnikov AK-103",
            "destination_country": "AM",
        }
    )[FIREARM]
    assert alert.severity is Severity.MEDIUM
    assert alert.evidence["declared_group"] == "elsewhere"


@pytest.mark.parametrize(
    "overrides",
    [
        # Military rifles declared honestly under 9301.
        {"hs_code": "9301.10", "goods_description": "Assault rifles AK-74M"},
        # The words appear, but under printed matter (a poster).
        {"hs_code": "4911.91", "goods_description": "Poster of an AK-47 rifle"},
        # A longer word containing a short designation.
        {"hs_code": "930320", "goods_description": "Hunting rifle, walnut stock, akmatic finish"},
        # A toy, and it says so.
        {"hs_code": "9503.00", "goods_description": "Toy water gun AK-47 shape, plastic"},
        # Airsoft replicas of military designs under 9304, where customs classifies them.
        {"hs_code": "9304.00", "goods_description": "Airsoft AEG replica M4A1, 6mm BB"},
        {"hs_code": "9304.00", "goods_description": "Страйкбольный автомат АК-74, шары 6 мм"},
        # Browning over-and-under shotgun.
        {
            "hs_code": "930320",
            "goods_description": "Browning B525 shotgun 12 gauge",
            "destination_country": "ES",
            "importer": party("Armeria SL", "ES"),
        },
    ],
)
def test_military_firearm_negative(overrides: dict[str, Any]) -> None:
    assert FIREARM not in alerts_by_rule(overrides)


@pytest.mark.parametrize(
    ("overrides", "severity"),
    [
        # 2022 case shape: body armour from China dispatched from Turkey to Russia, as textiles.
        (
            {
                "hs_code": "6307.90",
                "goods_description": "Бронежилеты класс защиты Бр5",
                "origin_country": "CN",
                "dispatch_country": "TR",
            },
            Severity.CRITICAL,
        ),
        # As knitted T-shirts: ordinary clothing, where no vest is classified.
        (
            {
                "hs_code": "6109.10",
                "goods_description": "Bulletproof vests NIJ IIIA, black",
                "destination_country": "KZ",
            },
            Severity.HIGH,
        ),
        # Turkish wording, as other made-up textile articles.
        (
            {
                "hs_code": "6307.90",
                "goods_description": "Kurşun geçirmez yelek, seviye IIIA",
                "destination_country": "GE",
            },
            Severity.HIGH,
        ),
        # Arabic wording, to Russia, as textile articles.
        ({"hs_code": "6307.90", "goods_description": "سترة واقية من الرصاص"}, Severity.CRITICAL),
    ],
)
def test_body_armour_positive(overrides: dict[str, Any], severity: Severity) -> None:
    alert = alerts_by_rule(overrides)[ARMOUR]
    assert alert.severity is severity
    assert "ML13" in alert.summary


@pytest.mark.parametrize(
    "overrides",
    [
        # Motorcycle jackets with CE protectors: ordinary clothing, however "armoured".
        {
            "hs_code": "6203.33",
            "goods_description": "Men's motorcycle jackets, CE armour protectors",
            "destination_country": "DE",
        },
        # Riding safety vest.
        {"hs_code": "6211.43", "goods_description": "Equestrian body protector vest, foam"},
        # Plastic plates for the kitchen.
        {"hs_code": "3926.90", "goods_description": "Plastic cutting plates"},
    ],
)
def test_body_armour_negative(overrides: dict[str, Any]) -> None:
    assert ARMOUR not in alerts_by_rule(overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        # Where customs classifies ballistic protection (CBP rulings: vests 6211.43, panels
        # 6217, helmets 6506, plates by material): not a mismatch, but still Military List
        # goods to a diversion hub.
        {"hs_code": "6211.43", "goods_description": "Bulletproof vests NIJ IIIA, black"},
        {"hs_code": "6217.90", "goods_description": "Ballistic panel, Kevlar"},
        {"hs_code": "3926.90", "goods_description": "防弹插板 聚乙烯 UHMWPE"},
        {"hs_code": "7326.90", "goods_description": "AR500 steel armor plates 10x12"},
        {"hs_code": "6506.10", "goods_description": "Ballistic helmet, aramid"},
    ],
)
def test_body_armour_where_it_is_classified_is_no_mismatch(overrides: dict[str, Any]) -> None:
    to_hub = alerts_by_rule({**overrides, "destination_country": "KZ"})
    assert ARMOUR not in to_hub
    assert to_hub[HUB].severity is Severity.MEDIUM
    to_russia = alerts_by_rule(overrides)
    assert ARMOUR not in to_russia
    assert to_russia["controlled_goods.restricted_destination"].severity is Severity.CRITICAL
    ordinary = alerts_by_rule({**overrides, "destination_country": "DE", "dispatch_country": "DE"})
    assert ordinary == {}


@pytest.mark.parametrize(
    ("overrides", "severity"),
    [
        # FPV drones as toys to Russia.
        (
            {"hs_code": "9503.00", "goods_description": "FPV drone 7 inch, carbon frame"},
            Severity.CRITICAL,
        ),
        # Quadcopters as radio transmission apparatus, to a third country: still misdeclared.
        (
            {
                "hs_code": "8525.60",
                "goods_description": "Квадрокоптеры с камерой",
                "destination_country": "AM",
            },
            Severity.HIGH,
        ),
        # 2022 case shape: repeated drone parts, flight controllers as data-processing parts.
        (
            {
                "hs_code": "8473.30",
                "goods_description": "飞控 F405 无人机用",
                "origin_country": "CN",
                "dispatch_country": "CN",
            },
            Severity.CRITICAL,
        ),
        # Components only (no whole-drone word), to a diversion hub: medium.
        (
            {
                "hs_code": "8525.89",
                "goods_description": "Thermal imaging module 640x512 uncooled",
                "destination_country": "KZ",
            },
            Severity.MEDIUM,
        ),
        # The pre-2022 aircraft heading for a drone, in Chinese.
        (
            {
                "hs_code": "8802.20",
                "goods_description": "植保无人机 30升",
                "destination_country": "KG",
            },
            Severity.HIGH,
        ),
        # Video transmitters to Russia, components only.
        (
            {"hs_code": "8517.62", "goods_description": "Видеопередатчики 5.8 ГГц 2.5 Вт"},
            Severity.HIGH,
        ),
        # Toy wording does not clear professional features: FPV, a 7-inch frame.
        (
            {"hs_code": "9503.00", "goods_description": "Toy FPV drone for kids, 7 inch frame"},
            Severity.CRITICAL,
        ),
        # Nor a payload and a range in km, in Chinese with toy wording.
        (
            {"hs_code": "9503.00", "goods_description": "玩具无人机 载重5公斤 航程10公里"},
            Severity.CRITICAL,
        ),
        # Turkish wording, as a toy with a thermal camera, to Turkey.
        (
            {
                "hs_code": "9503.00",
                "goods_description": "Oyuncak dron, termal kamera, FPV",
                "destination_country": "TR",
            },
            Severity.HIGH,
        ),
        # Machinery (8479), a heading on no list of hiding places: a lesser mismatch.
        (
            {
                "hs_code": "8479.89",
                "goods_description": "Quadcopter drones with camera",
                "destination_country": "KZ",
            },
            Severity.MEDIUM,
        ),
        # Persian wording, as electrical machines, to Russia.
        ({"hs_code": "8543.70", "goods_description": "پهپاد شاهد"}, Severity.CRITICAL),
    ],
)
def test_uav_positive(overrides: dict[str, Any], severity: Severity) -> None:
    alert = alerts_by_rule(overrides)[UAV]
    assert alert.severity is severity
    assert "8806" in alert.summary


@pytest.mark.parametrize(
    "overrides",
    [
        # A consumer camera drone to Germany under 8806: correctly declared.
        {
            "hs_code": "8806.22",
            "goods_description": "DJI Mini 4 Pro consumer camera drone",
            "destination_country": "DE",
        },
        # A toy drone that says so.
        {
            "hs_code": "9503.00",
            "goods_description": "Toy drone for kids with LED lights",
            "destination_country": "FR",
        },
        # A thermal camera module to Germany: components alert only on risky routes.
        {
            "hs_code": "8525.89",
            "goods_description": "Thermal imaging module for building inspection",
            "destination_country": "DE",
        },
        # Batteries for drones, declared as batteries (CBP NY N303574), on an ordinary route.
        {
            "hs_code": "8507.60",
            "goods_description": "Intelligent Flight Batteries for the Mavic 2 Pro drones",
            "destination_country": "US",
        },
        # A thermal imager used in unmanned aerial vehicles (CBP NY N255714).
        {
            "hs_code": "9013.80",
            "goods_description": "Micro thermal imager used in unmanned aerial vehicles",
            "destination_country": "US",
        },
    ],
)
def test_uav_negative(overrides: dict[str, Any]) -> None:
    assert UAV not in alerts_by_rule(overrides)


@pytest.mark.parametrize(
    ("overrides", "severity"),
    [
        # English: civilian claim next to military grade.
        (
            {
                "hs_code": "9005.10",
                "goods_description": "Civilian binoculars, military grade",
                "destination_country": "KZ",
            },
            Severity.HIGH,
        ),
        # Russian: hunting claim "for the needs of the special military operation".
        (
            {"hs_code": "9005.10", "goods_description": "Бинокль охотничий, для нужд СВО"},
            Severity.CRITICAL,
        ),
        # Chinese: civilian (民用) and military (军用) in one line.
        ({"hs_code": "9013.80", "goods_description": "民用夜视仪 军用级"}, Severity.CRITICAL),
    ],
)
def test_civilian_claim_positive(overrides: dict[str, Any], severity: Severity) -> None:
    alert = alerts_by_rule(overrides)[CLAIM]
    assert alert.severity is severity


@pytest.mark.parametrize(
    "overrides",
    [
        # "Non-military" is a civilian claim, not a military marker.
        {"hs_code": "9005.10", "goods_description": "Non-military binoculars for hunting"},
        # A hunting claim with no military wording.
        {
            "hs_code": "9303.20",
            "goods_description": "Hunting rifle Beretta BRX1",
            "destination_country": "NO",
        },
    ],
)
def test_civilian_claim_negative(overrides: dict[str, Any]) -> None:
    assert CLAIM not in alerts_by_rule(overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        # The precision cases: none of these may alert at all.
        {
            "hs_code": "9303.30",
            "goods_description": "Hunting rifle Beretta BRX1 .308 Win",
            "brand": "Beretta",
            "exporter": party("Beretta Holding SpA", "IT"),
            "importer": party("Jakt og Fiske AS", "NO"),
            "origin_country": "IT",
            "dispatch_country": "IT",
            "destination_country": "NO",
            "reporting_country": "NO",
        },
        {
            "hs_code": "9303.20",
            "goods_description": "Browning X-Bolt hunting rifle",
            "brand": "Browning",
            "exporter": party("Browning Viana", "PT"),
            "importer": party("Jakt og Fiske AS", "NO"),
            "origin_country": "BE",
            "dispatch_country": "PT",
            "destination_country": "NO",
        },
        {
            "hs_code": "6203.33",
            "goods_description": "Men's motorcycle jackets with CE protectors",
            "origin_country": "IT",
            "dispatch_country": "IT",
            "destination_country": "DE",
        },
        {
            "hs_code": "8806.22",
            "goods_description": "Consumer camera drone, 249 g",
            "origin_country": "CN",
            "dispatch_country": "CN",
            "destination_country": "DE",
        },
        {
            "hs_code": "8471.30",
            "goods_description": "Laptops 14 inch",
            "origin_country": "CN",
            "dispatch_country": "CN",
            "destination_country": "FR",
            "importer": party("Fnac Darty SA", "FR"),
        },
    ],
)
def test_ordinary_trade_raises_nothing(overrides: dict[str, Any]) -> None:
    assert alerts_by_rule(overrides) == {}


def test_summary_escapes_control_characters_in_party_names() -> None:
    alert = alerts_by_rule(
        {
            "hs_code": "930320",
            "goods_description": "CQ-A rifles",
            "importer": party("OOO Tekh\u202ekrim\x1b[2J", "RU"),
        }
    )[FIREARM]
    assert "\u202e" not in alert.summary and "\x1b" not in alert.summary
    assert "\\u202e" in alert.summary


def test_inflected_and_misspelt_descriptions_still_match() -> None:
    alert = alerts_by_rule(
        {"hs_code": "6307.90", "goods_description": "Партия бронижилетами и бронеплитами"}
    )[ARMOUR]
    assert alert.evidence["spelling_corrections"] == [
        {"written": "бpohижилet", "read_as": "бpoheжилet"}
    ]


@pytest.mark.parametrize(
    ("description", "written", "read_as"),
    [
        # Russian written in Latin letters (BGN spelling), as ordinary clothing.
        ("Bronezhilety 4 klass zashchity", "bronezhilety", "бронежилеты"),
        # The same, with "h" alone for х and a caron for ж.
        ("Bronežilety, chekhly dlya bronezhiletov", "bronežilety", "бронежилеты"),
    ],
)
def test_russian_written_in_latin_letters_is_read_as_russian(
    description: str, written: str, read_as: str
) -> None:
    alert = alerts_by_rule({"hs_code": "6307.90", "goods_description": description})[ARMOUR]
    assert {"written": written, "read_as": read_as} in alert.evidence["spelling_corrections"]


def test_a_latin_letter_inside_a_cyrillic_word_does_not_hide_it() -> None:
    # The e of "бронежилeтами" is Latin: the word is read whole, in Cyrillic, and inflected.
    alert = alerts_by_rule({"hs_code": "6307.90", "goods_description": "Партия бронежилeтами"})
    assert ARMOUR in alert
    assert alert[ARMOUR].evidence["spelling_corrections"] == []


@pytest.mark.parametrize(("hs_code", "description", "destination"), EVERYDAY_WORDS)
def test_a_weapon_name_that_is_an_everyday_word_needs_the_text_to_bear_it_out(
    hs_code: str, description: str, destination: str
) -> None:
    found = alerts_by_rule(
        {"hs_code": hs_code, "goods_description": description, "destination_country": destination}
    )
    assert FIREARM not in found and UAV not in found


@pytest.mark.parametrize(
    ("description", "corroboration"),
    [
        ("AK-47, 7.62x39", {"kind": "numbers", "detail": "7.62x39"}),
        ("Mortar 120 mm, military use", {"kind": "military marker", "detail": "military use"}),
        ("Machine, Kalashnikov AK-103", {"kind": "another term", "detail": "AK-103"}),
        ("Запчасти для АК-74", {"kind": "parts", "detail": "Запчасти"}),  # its parts
        ("Детали автомата Калашникова", {"kind": "parts", "detail": "Детали"}),
    ],
)
def test_a_weapon_name_under_another_heading_says_what_bore_it_out(
    description: str, corroboration: dict[str, str]
) -> None:
    alert = alerts_by_rule(
        {"hs_code": "8479.89", "goods_description": description, "destination_country": "RU"}
    )[FIREARM]
    assert alert.evidence["declared_group"] == "elsewhere"
    assert corroboration in alert.evidence["corroborated_by"]


def test_under_a_known_hiding_place_the_heading_is_the_corroboration() -> None:
    alert = alerts_by_rule({"hs_code": "9503.00", "goods_description": "Автомат АК-74М"})[FIREARM]
    assert alert.evidence["corroborated_by"] == [{"kind": "declared heading", "detail": "toys"}]
