"""Window state as bytes: the one place that encodes and decodes it.

A stored state is a format byte followed by MessagePack. The format byte says how to read the
rest, so a state written by an older version is read (or refused by name) instead of misread:
- 2: MessagePack of `KeyState` (this version);
- 1 (no format byte; the bytes start with '{'): the JSON object earlier versions wrote, whose
  cached baselines are dropped on reading (they are derived again).
Anything else raises StateDecodeError.

The window stage also keeps one reserved record per partition: where that partition's stream
started (`encode_stream_start`).
"""

from typing import Any

import msgspec
import orjson

from alerts.errors import StateDecodeError
from alerts.windows.state import KeyState

STATE_FORMAT = 2
_HEADER = bytes([STATE_FORMAT])
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(KeyState)
_int_decoder = msgspec.msgpack.Decoder(int)


def encode_state(state: KeyState) -> bytes:
    return _HEADER + _encoder.encode(state)


def decode_state(raw: bytes) -> KeyState:
    """The KeyState of stored bytes; StateDecodeError when they are not one."""
    head = raw[:1]
    try:
        if head == _HEADER:
            return _decoder.decode(memoryview(raw)[1:])
        if head == b"{":
            return _legacy(orjson.loads(raw))
    except (msgspec.DecodeError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StateDecodeError(f"unreadable window state: {exc}") from exc
    raise StateDecodeError(f"unknown window state format {head!r}")


def _legacy(data: dict[str, Any]) -> KeyState:
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


def encode_stream_start(event_time_ms: int) -> bytes:
    return _HEADER + _encoder.encode(event_time_ms)


def decode_stream_start(raw: bytes) -> int:
    """Also reads the decimal text that earlier versions stored."""
    try:
        if raw[:1] == _HEADER:
            return _int_decoder.decode(memoryview(raw)[1:])
        return int(raw)
    except (msgspec.DecodeError, ValueError) as exc:
        raise StateDecodeError(f"unreadable stream start: {exc}") from exc
