"""Controlled goods recognised by the notation their trade writes them in, not by a word list.

Goods are often declared under generic headings with no word that names them: "Motor 2207
1750KV", "5.8G 1.6W 48CH transmitter", "640x512 12µm core", "F722 stack 30.5x30.5mm", "AK bolt
carrier group", "Жилет, класс защиты 5а по ГОСТ Р 50744-95", "Vest VPAM 7". What gives them away
is how their specifications are written.

Components of unmanned aircraft (the uav lexicon's drone_component group):
- a multirotor motor is named by its stator (diameter and height in mm, "2207") and its KV
  rating (rpm per volt); a KV rating also names an outrunner when the text says it is brushless;
- an FPV video transmitter works in the 5.8 GHz band, and its specification gives its power and
  its channel count (the 40 or 48 channels of the band plans);
- an uncooled thermal core is sold by the resolutions of microbolometer arrays, 640x512, 384x288
  and 256x192 (a visible-light sensor is 4:3 or 16:9), or by any array with its pixel pitch in µm
  or its NETD in mK;
- a flight controller is an STM32 F4, F7 or H7 board in the stack mounting patterns of the trade
  (20x20, 25.5x25.5, 30.5x30.5 mm), running flight firmware (Betaflight, INAV, ArduPilot, PX4)
  or made by a maker on Betaflight's list of flight-controller makers; a stack, ESC, FC, video
  transmitter, receiver, motor, frame, camera or goggles of one of those makers is a component;
- its radio link speaks the control protocols of the trade (ExpressLRS, TBS Crossfire / CRSF).
Sources: the notations as the open-source flight stacks document them (Betaflight and INAV
target and hardware pages, the ExpressLRS and TBS Crossfire documentation, ArduPilot's and PX4's
hardware lists) and the array formats of microbolometer makers' data sheets.

Parts of military-pattern firearms (the military_firearms lexicon): a pattern's short name
(AK, AKM, RPK, AR-15, AR-10, M4, M16, SVD, PKM, in Latin or Cyrillic letters) within three words
of a part the control lists name: barrels, receivers, bolts and bolt carriers, slides and sears
(US Munitions List Category I(g), 22 CFR 121.1; EU Common Military List ML1), and the parts an
armourer's manual names on those rifles (handguard, gas block and tube, trigger group, buffer
tube, muzzle brake, flash hider, dust cover, pistol grip: US Army TM 9-1005-319-10 for the
M16/M4, the AK manuals in Russian and Chinese; not the magazine or the stock, which are also a
shop and an inventory). A plain "bolt" or "barrel" counts only for patterns that are
not also metric thread sizes (an M4 bolt is a screw, an M16 barrel nut a furniture fitting).

Ballistic protection (the body_armour lexicon), by the classes of the standards that test it,
old and national ones too: GOST R 50744-95 (classes 1 to 6a) and GOST 34286-2017 (Br1 to Br6),
NIJ 0101.04/.06/.07 (the text names NIJ and a standard or a level), the German VPAM scale, the UK
HOSDB/CAST scale, China's GA 141 and NATO STANAG 4569 and 2920.

Air guns and airsoft replicas (the end_use lexicon's replica_context group), by the power they
are sold by, in whatever language the rest is written: a muzzle energy of 30 J or less (the
thresholds of the laws on weapons: 3 and 7.5 J in Russia's Federal Law 150-FZ, 16.3 J for an
air rifle in the UK's Firearms Act; a rifle cartridge gives thousands of joules) or a muzzle
velocity of 700 fps or less (airsoft is sold at 300 to 500 fps; rifle cartridges leave at 2,000
and more).

Each reading is a `TermMatch` with the language "spec", so the rules treat it as they treat a
named term; it bears itself out (`category_mismatch.corroborated_by`), since it needs two
things at once (a name and a part, a standard and a class, a size and a rating).
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from alerts.text import LexiconEntry, TermMatch

_X = r"\s*[x×х*]\s*"  # Latin x, multiplication sign, Cyrillic х, asterisk


@dataclass(frozen=True, slots=True)
class Specification:
    """One way a component's specification is written, with what it says the goods are: its
    pattern, what else the text must say (each searched once), and a check of each match."""

    name: str
    pattern: re.Pattern[str]
    requires: tuple[re.Pattern[str], ...] = ()
    pattern_first: bool = False
    """Look for the pattern before what the text must also say: where the pattern is the
    cheaper search and the rarer find (a microcontroller's name before the list of makers)."""
    valid: Callable[[re.Match[str]], bool] = lambda match: True
    lexicon: str = "uav"
    group: str | Callable[[re.Match[str]], str] = "drone_component"


_MOTOR = "multirotor motor (stator size and KV rating)"
_KV_RANGE = range(100, 20_001)


def _stator_and_kv(match: re.Match[str]) -> bool:
    stator = match.group("stator")
    diameter, height = int(stator[:2]), int(stator[2:4])
    return 8 <= diameter <= 99 and 3 <= height <= 40 and int(match.group("kv")) in _KV_RANGE


_THERMAL = "thermal core (microbolometer array)"
_THERMAL_ONLY = {("640", "512"), ("384", "288"), ("256", "192")}
_ARRAY = re.compile(rf"\b(?P<w>640|384|256|160|1280){_X}(?P<h>512|288|192|120|1024)\b", re.I)
_MOUNTING = rf"\b(?:20|25[.,]5|30[.,]5){_X}(?:20|25[.,]5|30[.,]5)\s*mm\b"
# The makers of flight controllers, from Betaflight's official list of manufacturer ids
# (github.com/betaflight/unified-targets, Manufacturers.md): the names that are nobody's ordinary
# word (no placeholders, people, or "Airbot"; ST Microelectronics makes far more than these).
_FC_MAKERS = (
    "alienflight", "aikon", "apexfpv", "axisflying", "betafpv", "beastfpv", "clracing",
    "cyclonerc", "darwinfpv", "dalrc", "demonrc", "diatone", "dys", "eachine", "exuav",
    "furious fpv", "flyfishrc", "flycolor", "flywoo", "foxeer", "frsky", "getfpv", "geprc",
    "ge-fpv", "happymodel", "hakrc", "holybro", "hifionrc", "hglrc", "nidici", "hobbywing",
    "iflight", "jhemcu", "whitenoisefpv", "ldarc", "lumenier", "mepsking", "merakrc", "motolab",
    "matek", "mateksys", "namimno", "newbeedrone", "neutronrc", "oddityrc", "openpilot",
    "pyro-drone", "pyrodrone", "racerstar", "rctimer", "rushfpv", "skystars", "skyzone",
    "sologood", "nvisionfpv", "speedybee", "spedix", "seriously pro racing", "spracing",
    "taco rc", "tcmm", "team blacksheep", "t-motor", "tmotor", "transtec", "tunerc", "vivafpv",
    "zeez rc", "zeezrc",
)  # fmt: skip
_MAKER = r"\b(?:" + "|".join(re.escape(m) for m in _FC_MAKERS) + r")\b"
_MAKER_PART = (
    r"\b(?:stack|aio|esc|fc|flight controller|vtx|video transmitter|receiver|motors?|frame|"
    r"cameras?|goggles|"
    r"полетн\w* контроллер\w*|регулятор\w*|飞控|电调|图传)"
)

# Short names of military rifle patterns, and the lexicon group each belongs to. Letters stand
# apart from other letters and digits ("AK-47" counts, "akmatic" does not); AR only with its
# number (a plain AR is as often augmented reality or an anti-reflective coating).
_PATTERN_GROUPS = {
    "ak": "kalashnikov", "ак": "kalashnikov", "akm": "kalashnikov", "акм": "kalashnikov",
    "rpk": "kalashnikov", "рпк": "kalashnikov", "ar15": "ar_m16",
    "ar-15": "ar_m16", "ar10": "ar_m16", "ar-10": "ar_m16", "m4": "ar_m16", "м4": "ar_m16",
    "m16": "ar_m16", "м16": "ar_m16", "svd": "other_military", "свд": "other_military",
    "pkm": "other_military", "пкм": "other_military",
}  # fmt: skip
_METRIC_THREADS = {"m4", "м4", "m16", "м16"}
_LETTERED = sorted((n for n in _PATTERN_GROUPS if n.isalpha()), key=len, reverse=True)
_NUMBERED = sorted((n for n in _PATTERN_GROUPS if not n.isalpha()), key=len, reverse=True)
# A lettered name may carry its model number ("AK47", "AK-74M"); a numbered one is whole.
_PATTERN = (
    r"(?<![\w])(?:(?P<name>"
    + "|".join(re.escape(n) for n in _LETTERED)
    + r")(?:-?\d{1,3}[mм]?)?|(?P<numbered>"
    + "|".join(re.escape(n) for n in _NUMBERED)
    + r"))(?![a-zа-я0-9])"
)
_PART = (
    r"(?P<part>bolt carriers?(?: groups?)?|bcg|(?:lower |upper )?receivers?|(?P<barrel>barrels?)|"
    r"hand ?guards?|gas (?:blocks?|tubes?|pistons?)|trigger (?:groups?|assembl(?:y|ies))|"
    r"buffer tubes?|muzzle brakes?|flash hiders?|dust covers?|sears?|slides?|(?P<bolt>bolts?)|"
    r"pistol grips?|пистолетн\w* рукоятк\w*|握把|"
    r"затворн\w* рам\w*|затвор\w*|ствольн\w* коробк\w*|ствол\w*|цевь[её]\w*|газов\w* "
    r"(?:трубк\w*|блок\w*)|газоблок\w*|дульн\w* тормоз\w*|пламегасител\w*|шептал\w*|"
    r"枪机框|枪机|机匣|护木|导气箍|导气管|扳机组|枪口制退器|消焰器|枪管)"
)
_NEAR = r"[^\w]*(?:[\w.-]+[^\w]+){0,3}?"
_NAMED = re.compile(_PATTERN, re.I)  # searched first: most texts name no pattern at all


def _pattern_name(match: re.Match[str]) -> str:
    return match.group("name") or match.group("numbered")


def _pattern_part(match: re.Match[str]) -> bool:
    metric = match.group("bolt") or match.group("barrel")
    return not (metric and _pattern_name(match) in _METRIC_THREADS)


def _pattern_group(match: re.Match[str]) -> str:
    return _PATTERN_GROUPS[_pattern_name(match)]


_RIFLE_PART = "part of a military rifle pattern (short name and part)"
_ARMOUR = "ballistic protection class of a test standard"
_REPLICA = "air gun or airsoft replica by its power"
_AIR_JOULES = 30.0  # the most an air rifle gives; a cartridge gives thousands
_AIR_FPS = 700  # faster than any airsoft or most air guns, slower than any rifle cartridge


def _joules(match: re.Match[str]) -> bool:
    return float(match.group("joules").replace(",", ".")) <= _AIR_JOULES


def _fps(match: re.Match[str]) -> bool:
    return int(match.group("fps")) <= _AIR_FPS


SPECIFICATIONS: tuple[Specification, ...] = (
    Specification(
        _MOTOR,
        re.compile(r"\b(?P<stator>\d{4})(?:[.,]\d)?\b\D{0,24}?\b(?P<kv>\d{3,5})\s?kv\b", re.I),
        valid=_stator_and_kv,
    ),
    Specification(
        _MOTOR,
        re.compile(r"\b(?P<kv>\d{3,5})\s?kv\b", re.I),
        requires=(re.compile(r"brushless|outrunner|бесколлекторн|无刷", re.I),),
        valid=lambda match: int(match.group("kv")) in _KV_RANGE,
    ),
    Specification(
        "5.8 GHz video transmitter (power and channels)",
        re.compile(r"\b5[.,]8\s*(?:ghz|g|ггц)\b", re.I),
        requires=(
            re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:mw|w|мвт|вт)\b", re.I),
            re.compile(r"\b(?:40|48|72)\s*(?:ch|channels?|канал\w*)\b", re.I),
        ),
    ),
    Specification(_THERMAL, _ARRAY, valid=lambda m: (m.group("w"), m.group("h")) in _THERMAL_ONLY),
    Specification(
        _THERMAL,
        _ARRAY,
        requires=(re.compile(r"\b\d{1,2}\s*(?:µm|μm|um|мкм)\b|\b\d{2,3}\s*mk\b", re.I),),
    ),
    Specification(
        "flight controller (STM32 board, stack mounting or flight firmware)",
        re.compile(r"\b(?:stm32)?[fh][47]\d{2}\b", re.I),
        requires=(
            re.compile(rf"{_MOUNTING}|betaflight|\binav\b|ardupilot|\bpx4\b|{_MAKER}", re.I),
        ),
        pattern_first=True,
    ),
    Specification(
        "component by a flight-controller maker (Betaflight's list of makers)",
        re.compile(_MAKER, re.I),
        requires=(re.compile(_MAKER_PART, re.I),),
    ),
    Specification(
        "radio-control link (ExpressLRS, TBS Crossfire)",
        re.compile(r"\b(?:elrs|expresslrs|crsf|crossfire)\b", re.I),
    ),
    *(
        Specification(
            _RIFLE_PART,
            re.compile(pattern, re.I),
            requires=(_NAMED,),
            valid=_pattern_part,
            lexicon="military_firearms",
            group=_pattern_group,
        )
        for pattern in (f"{_PATTERN}{_NEAR}{_PART}", f"{_PART}{_NEAR}{_PATTERN}")
    ),
    Specification(
        _ARMOUR,
        re.compile(
            r"гост\s*р?\s*(?:50744|34286)|(?<!\w)бр\s?[1-6](?!\d)|класс\w*\s+защиты\s+[1-6]а\b"
            r"|\bvpam\b\W*(?:klasse|class|kl\.?)?\W*\d{1,2}\b|\bhosdb\b|\bga\s*141\b"
            r"|\bstanag\s*(?:4569|2920)\b"
            r"|\bnij\b\W*(?:0101|0106|0108|std|standard|level|class|ii|iia|iiia|iii|iv|hg|rf)",
            re.I,
        ),
        requires=(re.compile(r"гост|бр|защиты|vpam|hosdb|141|stanag|nij"),),
        lexicon="body_armour",
        group="body_armour",
    ),
    Specification(
        _REPLICA,
        re.compile(
            r"(?<![\d.,])(?P<joules>\d{1,2}(?:[.,]\d+)?)\s*(?:j|joules?|дж|джоул\w*|焦耳?)(?!\w)"
        ),
        valid=_joules,
        lexicon="end_use",
        group="replica_context",
    ),
    Specification(
        _REPLICA,
        re.compile(r"(?<![\d.,])(?P<fps>\d{2,4})\s*fps\b"),
        valid=_fps,
        lexicon="end_use",
        group="replica_context",
    ),
)


@lru_cache(maxsize=65_536)
def read_specifications(text: str) -> tuple[TermMatch, ...]:
    """The controlled goods the text specifies, one match per kind of specification.

    >>> [m.entry.term for m in read_specifications("Brushless motor 2207 1750KV")]
    ['multirotor motor (stator size and KV rating)']
    >>> read_specifications("Power transformer 10 kV, 630 kVA")
    ()
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    found: dict[str, TermMatch] = {}
    for spec in SPECIFICATIONS:
        if spec.name in found or (spec.pattern_first and not spec.pattern.search(folded)):
            continue
        if not all(r.search(folded) for r in spec.requires):
            continue
        match = next((m for m in spec.pattern.finditer(folded) if spec.valid(m)), None)
        if match is not None:
            group = spec.group if isinstance(spec.group, str) else spec.group(match)
            entry = LexiconEntry(group, spec.name, "spec", spec.lexicon)
            found[spec.name] = TermMatch(entry, match.group(0))
    return tuple(found.values())
