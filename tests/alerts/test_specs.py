import pytest

from alerts.specs import read_specifications
from tests.alerts.rules.helpers import alerts_by_rule


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Brushless motor 2207 1750KV", "multirotor motor"),
        ("Motor 2806.5 1300KV, 6S", "multirotor motor"),  # half-millimetre stator
        ("Outrunner motor 900KV", "multirotor motor"),  # no stator, says brushless
        ("Бесколлекторный двигатель 1750 KV", "multirotor motor"),
        ("Transmitter 5.8G 1.6W 48CH", "5.8 GHz video transmitter"),
        ("Видеопередатчик 5,8 ГГц 2,5 Вт 40 каналов", "5.8 GHz video transmitter"),
        ("Uncooled core 640x512 12µm", "thermal core"),
        ("Модуль 384х288", "thermal core"),  # Cyrillic х between the numbers
        ("Camera module 1280x1024, 17 um", "thermal core"),  # any array, with its pitch
        ("F722 stack 30.5x30.5mm with 60A ESC", "flight controller"),
        ("Controller STM32H743, ArduPilot", "flight controller"),
        ("ELRS 2.4GHz receiver nano", "radio-control link"),
        ("Приемник ExpressLRS 915 МГц", "radio-control link"),
    ],
)
def test_a_component_is_read_from_its_specification(text: str, kind: str) -> None:
    found = read_specifications(text)
    assert [m.entry.term.split(" (")[0] for m in found] == [kind]
    assert found[0].entry.lexicon == "uav" and found[0].entry.group == "drone_component"


@pytest.mark.parametrize(
    "text",
    [
        "Power transformer 10 kV, 630 kVA",  # kilovolts, not a KV rating
        "Cable 110 kV, copper",
        "Electric motor 1500 rpm, 7.5 kW",
        "Motor 1750KV",  # a KV rating with neither stator nor brushless: not enough
        "Wi-Fi router dual band 2.4/5.8 GHz, 300 mW",  # the band and a power, no channels
        "Webcam 1280x720",
        "Monitor 1280x1024, 19 inch",  # an SXGA screen: no pitch
        "Photo frame 20x20 cm",
        "STM32F405 development board",  # a microcontroller board, no stack or firmware
        "Crossfit gloves",
    ],
)
def test_ordinary_goods_specify_no_component(text: str) -> None:
    assert read_specifications(text) == ()


def test_a_specified_component_under_a_generic_heading_to_a_restricted_destination() -> None:
    found = alerts_by_rule(
        {
            "hs_code": "8501.31",
            "goods_description": "Motor 2207 1750KV",
            "destination_country": "RU",
        }
    )
    mismatch = found["category_mismatch.uav"]
    assert mismatch.evidence["declared_group"] == "generic_electrical"
    assert mismatch.evidence["matched_terms"] == [
        {
            "family": "drone_component",
            "term": "multirotor motor (stator size and KV rating)",
            "language": "spec",
        }
    ]
    assert "controlled_goods.restricted_destination" in found


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("AK bolt carrier group", "kalashnikov"),
        ("Газоблок для АК", "kalashnikov"),  # the part first, the name after, in Cyrillic
        ("Затворная рама АКМ", "kalashnikov"),
        ("ak枪机框", "kalashnikov"),  # Chinese: no space between the name and the part
        ("M4 handguard, M-LOK, 13.5 inch", "ar_m16"),
        ("AR-15 upper receiver, forged", "ar_m16"),
        ("СВД ствол", "other_military"),
        ("AK47枪管", "kalashnikov"),  # a lettered name with its model number
        ("AK-74M pistol grip", "kalashnikov"),
    ],
)
def test_a_rifle_part_is_read_from_its_pattern_and_part(text: str, group: str) -> None:
    (found,) = read_specifications(text)
    assert (found.entry.lexicon, found.entry.group) == ("military_firearms", group)


@pytest.mark.parametrize(
    "text",
    [
        "Жилет защитный, класс защиты 5а по ГОСТ Р 50744-95",  # the older Russian standard
        "Бронеплиты Бр4",  # GOST 34286-2017
        "Vest, protection level VPAM 7",
        "Vest NIJ 0101.06 level III",
        "Police vest GA 141-2010",
        "Plates STANAG 4569 level 2",
    ],
)
def test_armour_is_read_from_the_class_of_its_standard(text: str) -> None:
    (found,) = read_specifications(text)
    assert (found.entry.lexicon, found.entry.group) == ("body_armour", "body_armour")


@pytest.mark.parametrize(
    "text",
    [
        "M4 bolt stainless DIN 933",  # a metric screw
        "M16 bolts and nuts",
        "M4 barrel nut",  # a furniture fitting
        "AR coating lens, anti-glare",  # augmented reality, anti-reflective
        "AV receiver 7.1 with AR mode",
        "Akumulator AK 12V",  # no part named
        "Магазин одежды АК Барс",  # a shop, not a magazine
        "M4 stock photo",  # an inventory, not a stock
        "AR-1500 receiver",  # an audio receiver's model: a numbered name is whole
        "Класс защиты 2 (электробезопасность)",  # an electrical protection class
        "IP67 класс защиты",
    ],
)
def test_ordinary_goods_are_not_read_as_rifle_parts_or_armour(text: str) -> None:
    assert read_specifications(text) == ()


def test_a_rifle_part_outside_chapter_93_bears_itself_out() -> None:
    found = alerts_by_rule({"hs_code": "8479.89", "goods_description": "AK bolt carrier group"})[
        "category_mismatch.military_firearm"
    ]
    assert found.evidence["declared_group"] == "elsewhere"
    assert found.evidence["corroborated_by"][0] == {
        "kind": "specification",
        "detail": "ak bolt carrier group",
    }


@pytest.mark.parametrize(
    "text",
    [
        "АК-74М, 6 мм, 0,20 г, 1,5 Дж",  # airsoft by its energy, no replica word
        "M4A1 AEG, 350 FPS",
        "Пневматическая винтовка 3 Дж",
    ],
)
def test_an_air_gun_or_airsoft_replica_is_read_from_its_power(text: str) -> None:
    found = read_specifications(text)
    assert [(m.entry.lexicon, m.entry.group) for m in found] == [("end_use", "replica_context")]


@pytest.mark.parametrize(
    "text",
    ["Rifle .308, muzzle energy 3500 J", "Hunting rifle, 2800 fps", "Capacitor bank 5 kJ"],
)
def test_a_cartridge_firearm_is_not_read_as_a_replica(text: str) -> None:
    assert read_specifications(text) == ()


def test_a_replica_of_a_military_design_sold_by_its_power_is_where_air_guns_go() -> None:
    found = alerts_by_rule({"hs_code": "9304.00", "goods_description": "АК-74М, 6 мм, 1,5 Дж"})
    assert "category_mismatch.military_firearm" not in found
    assert "category_mismatch.military_firearm" in alerts_by_rule(
        {"hs_code": "9304.00", "goods_description": "АК-74М, 5,45 мм"}
    )


@pytest.mark.parametrize(
    "text",
    [
        "SpeedyBee F405 V4 BLS 55A Stack",  # a maker on Betaflight's list, and its MCU
        "Matek H743-WING",
        "T-Motor F60 Pro IV motors",
        "Foxeer Razer Mini camera",
    ],
)
def test_a_component_of_a_flight_controller_maker_is_a_drone_component(text: str) -> None:
    found = read_specifications(text)
    assert found and all(m.entry.group == "drone_component" for m in found)


@pytest.mark.parametrize(
    "text",
    ["Eachine toy", "Lumenier AXII antenna", "Holybro Pixhawk 6C", "Motor for a washing machine"],
)
def test_a_maker_or_a_part_alone_is_no_component(text: str) -> None:
    assert read_specifications(text) == ()
