"""Every value the tables hold, as bytes: a format byte, then the body its schema names.

    raw = WINDOW_STATE.encode(state)      # b"\x02" + MessagePack of KeyState
    state = WINDOW_STATE.decode(raw)      # StateDecodeError if raw is not one

The format byte says which schema the rest is, so that a value written by another version is
read by its own schema or refused by name (StateDecodeError), never misread. Each schema also
reads what was stored before it had a format byte:

| schema | byte | body | read too |
| --- | --- | --- | --- |
| `WINDOW_STATE` | 2 | MessagePack of `KeyState` (alerts/windows/state.py) | first JSON (`{…}`) |
| `STREAM_START` | 3 | MessagePack of an event time (ms) | byte 2 and the same body; decimal text |
| `PARTY` | 4 | MessagePack of `PartyRecord` (alerts/retro.py) | the same body with no byte |
| `LOOK_BACK` | 5 | MessagePack of `LookBackMarker` | its JSON object (`{…}`) |
| `REVIEW` | 6 | JSON of `Review` (alerts/feedback.py) | the same JSON with no byte |
| `FRAME_CURSOR` | 7 | MessagePack of an offset of the observations topic | nothing (new) |

A window state's day buckets are vectors of six numbers, in the order `BUCKET_FIELDS` names
(alerts/windows/state.py): the rules add them day by day, and a vector adds faster than a record.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

import msgspec
import orjson

from alerts.errors import StateDecodeError
from alerts.feedback import Review
from alerts.retro import PartyRecord
from alerts.windows.state import KeyState

T = TypeVar("T")


class Format(IntEnum):
    """The first byte of a stored value: which schema the rest of it is."""

    WINDOW_STATE = 2
    STREAM_START = 3
    PARTY = 4
    LOOK_BACK = 5
    REVIEW = 6
    FRAME_CURSOR = 7


class LookBackMarker(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """How far a look back over one list version got on one partition (streams/look_back.py):
    the version's new and changed entries, when it took effect, the next party key to look at
    (hex; None when none is left) and whether it is done."""

    label: str
    entries: list[str]
    effective_ms: int
    next: str | None
    done: bool


class _NotLegacy(Exception):
    """The bytes do not start as the values stored before format bytes did."""


_DECODE_ERRORS = (msgspec.DecodeError, orjson.JSONDecodeError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class Schema(Generic[T]):
    """One kind of stored value: its name, its format byte, and how its body is written and
    read; `legacy` reads what was stored before the format byte (None: nothing was)."""

    name: str
    format: Format
    write: Callable[[T], bytes]
    read: Callable[[memoryview], T]
    legacy: Callable[[bytes], T] | None = None
    head: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", bytes([self.format]))

    def encode(self, value: T) -> bytes:
        return self.head + self.write(value)

    def decode(self, raw: bytes) -> T:
        """The value of stored bytes; StateDecodeError when they are not one."""
        head = raw[:1]
        try:
            if head == self.head:
                return self.read(memoryview(raw)[1:])
            if self.legacy is not None:
                return self.legacy(raw)
        except _NotLegacy:
            pass
        except _DECODE_ERRORS as exc:
            raise StateDecodeError(f"unreadable {self.name}: {exc}") from exc
        raise StateDecodeError(f"unknown {self.name} format {head!r}")


def _msgpack(kind: type[Any]) -> tuple[Callable[[Any], bytes], Callable[[memoryview], Any]]:
    return msgspec.msgpack.Encoder().encode, msgspec.msgpack.Decoder(kind).decode


def _legacy_window_state(raw: bytes) -> KeyState:
    if raw[:1] != b"{":
        raise _NotLegacy
    data = orjson.loads(raw)
    return KeyState(
        watermark_ms=data["w"],
        first_day=data["f"],
        sources={int(p): o for p, o in data["s"].items()},
        recent=[(i, t) for i, t in data["r"]],
        late=[(i, t) for i, t in data["l"]],
        buckets={int(day): values for day, values in data["b"].items()},
        histograms={
            int(day): {int(b): c for b, c in bins.items()} for day, bins in data["h"].items()
        },
    )


_int_write, _int_read = _msgpack(int)


def _legacy_stream_start(raw: bytes) -> int:
    if raw[:1] == b"\x02":  # the window state's byte, which stream starts shared before
        return _int_read(memoryview(raw)[1:])
    if not raw[:1].isdigit():
        raise _NotLegacy
    return int(raw)


def _legacy_review(raw: bytes) -> Review:
    if raw[:1] != b"{":
        raise _NotLegacy
    return Review.decode(raw)


_party_write, _party_read = _msgpack(PartyRecord)
_marker_write, _marker_read = _msgpack(LookBackMarker)
_marker_json = msgspec.json.Decoder(LookBackMarker).decode


def _legacy_party(raw: bytes) -> PartyRecord:
    if raw[:1] not in (b"\x94", b"\xdc"):  # a MessagePack array of four fields
        raise _NotLegacy
    return _party_read(memoryview(raw))


def _legacy_marker(raw: bytes) -> LookBackMarker:
    if raw[:1] != b"{":
        raise _NotLegacy
    return _marker_json(raw)


WINDOW_STATE: Schema[KeyState] = Schema(
    "window state", Format.WINDOW_STATE, *_msgpack(KeyState), legacy=_legacy_window_state
)
STREAM_START: Schema[int] = Schema(
    "stream start", Format.STREAM_START, _int_write, _int_read, legacy=_legacy_stream_start
)
PARTY: Schema[PartyRecord] = Schema(
    "party record",
    Format.PARTY,
    _party_write,
    _party_read,
    legacy=_legacy_party,
)
LOOK_BACK: Schema[LookBackMarker] = Schema(
    "look-back marker", Format.LOOK_BACK, _marker_write, _marker_read, legacy=_legacy_marker
)
REVIEW: Schema[Review] = Schema(
    "case review",
    Format.REVIEW,
    Review.encode,
    lambda body: Review.decode(bytes(body)),
    legacy=_legacy_review,
)

FRAME_CURSOR: Schema[int] = Schema("frame cursor", Format.FRAME_CURSOR, _int_write, _int_read)
"""The offset after the last frame a partition's window stage applied (streams/window_agent.py)."""

SCHEMAS: tuple[Schema[Any], ...] = (
    WINDOW_STATE,
    STREAM_START,
    PARTY,
    LOOK_BACK,
    REVIEW,
    FRAME_CURSOR,
)
