"""From untrusted bytes to a Declaration, or to a reason for the dead-letter topic.

Errors are data here: decoding never raises, so one bad message can never stop the worker.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import orjson
from pydantic import ValidationError

from schemas.declaration import Declaration

_MAX_REASON_CHARS = 1000
_MAX_ERRORS_SHOWN = 5


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    INVALID = "invalid"
    FUTURE_EVENT_TIME = "future_event_time"
    RULE_ERROR = "rule_error"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was not screened. `detail` is one readable line."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a message came from, for the dead-letter headers."""

    topic: str
    partition: int
    offset: int


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad field: 'hs_code: Value error, ...; quantity: ...'."""
    problems = error.errors(include_url=False, include_input=False)
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'declaration'}: {e['msg']}"
        for e in problems[:_MAX_ERRORS_SHOWN]
    ]
    if len(problems) > _MAX_ERRORS_SHOWN:
        parts.append(f"and {len(problems) - _MAX_ERRORS_SHOWN} more")
    return "; ".join(parts)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_REASON_CHARS else flat[: _MAX_REASON_CHARS - 1] + "…"


def decode_declaration(raw: bytes | None, max_bytes: int) -> Declaration | Rejection:
    """Parse and validate one message value."""
    if not raw:
        return Rejection(RejectReason.EMPTY, "empty message (no value)")
    if len(raw) > max_bytes:
        return Rejection(
            RejectReason.TOO_LARGE, f"message of {len(raw)} bytes exceeds the limit of {max_bytes}"
        )
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as utf8_error:
            return Rejection(
                RejectReason.INVALID_UTF8,
                f"not valid UTF-8: byte {utf8_error.start}: {utf8_error.reason}",
            )
        return Rejection(RejectReason.NOT_JSON, _one_line(f"not valid JSON: {exc}"))
    if not isinstance(document, dict):
        return Rejection(
            RejectReason.NOT_OBJECT,
            f"a declaration must be a JSON object, not {type(document).__name__}",
        )
    try:
        return Declaration.model_validate(document)
    except ValidationError as exc:
        return Rejection(RejectReason.INVALID, _one_line(describe_validation_error(exc)))


DLQ_HEADER_PREFIX = "tradewatch."


def dead_letter_headers(
    rejection: Rejection, source: SourceRef, rejected_at: datetime
) -> list[tuple[str, bytes]]:
    """The headers a rejected message carries on the dead-letter topic."""
    fields = {
        "error": rejection.detail,
        "reason": rejection.reason.value,
        "source.topic": source.topic,
        "source.partition": str(source.partition),
        "source.offset": str(source.offset),
        "rejected_at": rejected_at.isoformat(),
    }
    return [(DLQ_HEADER_PREFIX + name, value.encode("utf-8")) for name, value in fields.items()]
