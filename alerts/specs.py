"""Components of unmanned aircraft recognised by their technical specification.

A drone's parts are often declared under generic electrical headings with no drone word at all:
"Brushless motor 2207 1750KV", "5.8G 1.6W 48CH transmitter", "640x512 12µm uncooled core",
"F722 stack 30.5x30.5mm". What gives them away is the way their specifications are written, a
notation of the trade rather than a vocabulary:
- a multirotor motor is named by its stator (diameter and height in mm, "2207") and its KV
  rating (rpm per volt); a KV rating also names an outrunner when the text says it is brushless;
- an FPV video transmitter works in the 5.8 GHz band, and its specification gives its power and
  its channel count (the 40 or 48 channels of the band plans);
- an uncooled thermal core is sold by the resolutions of microbolometer arrays, 640x512, 384x288
  and 256x192 (a visible-light sensor is 4:3 or 16:9), or by any array with its pixel pitch in µm
  or its NETD in mK;
- a flight controller is an STM32 F4, F7 or H7 board in the stack mounting patterns of the trade
  (20x20, 25.5x25.5, 30.5x30.5 mm) or running flight firmware (Betaflight, INAV, ArduPilot, PX4);
- its radio link speaks the control protocols of the trade (ExpressLRS, TBS Crossfire / CRSF).

Sources: the motor, band, mounting and protocol notations as the open-source flight stacks
document them (Betaflight and INAV target and hardware pages, the ExpressLRS and TBS Crossfire
documentation, ArduPilot's and PX4's hardware lists) and the array formats of microbolometer
makers' data sheets. Each reading is a `TermMatch` of the uav lexicon's drone_component group,
so the rules treat it as they treat the named component words.
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
    valid: Callable[[re.Match[str]], bool] = lambda match: True


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
        requires=(re.compile(rf"{_MOUNTING}|betaflight|\binav\b|ardupilot|\bpx4\b", re.I),),
    ),
    Specification(
        "radio-control link (ExpressLRS, TBS Crossfire)",
        re.compile(r"\b(?:elrs|expresslrs|crsf|crossfire)\b", re.I),
    ),
)


@lru_cache(maxsize=65_536)
def read_specifications(text: str) -> tuple[TermMatch, ...]:
    """The drone components the text specifies, one match per kind of specification.

    >>> [m.entry.term for m in read_specifications("Brushless motor 2207 1750KV")]
    ['multirotor motor (stator size and KV rating)']
    >>> read_specifications("Power transformer 10 kV, 630 kVA")
    ()
    """
    folded = unicodedata.normalize("NFKC", text)
    found: dict[str, TermMatch] = {}
    for spec in SPECIFICATIONS:
        if spec.name in found or not all(r.search(folded) for r in spec.requires):
            continue
        match = next((m for m in spec.pattern.finditer(folded) if spec.valid(m)), None)
        if match is not None:
            entry = LexiconEntry("drone_component", spec.name, "spec", "uav")
            found[spec.name] = TermMatch(entry, match.group(0))
    return tuple(found.values())
