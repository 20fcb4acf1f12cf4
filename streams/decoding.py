"""Dead letters: a rejected message, its reason and where it came from, ready for Kafka.

The dead-letter copy carries the original value and key unchanged, the original headers under
`tradewatch.original.`, and headers saying why and from where. A copy that would not fit in one
produce request is truncated (`tradewatch.truncated`, with the original size): the full
original stays on the source topic, at the offset the headers name.
"""

from dataclasses import dataclass
from datetime import datetime

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.wire import Rejection

DLQ_HEADER_PREFIX = "tradewatch."
ORIGINAL_HEADER_PREFIX = "tradewatch.original."
_LENGTH_SLACK = 16  # the record's length fields grow with what is put in it


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a message came from, for the dead-letter headers."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    truncated: bool = False


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


def _size(key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> int:
    """What the producer counts against its request limit (its own upper bound)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


def dead_letter(
    rejection: Rejection,
    source: SourceRef,
    rejected_at: datetime,
    key: bytes | None,
    value: bytes | None,
    original_headers: list[tuple[str, bytes]] | None,
    max_request_bytes: int,
) -> DeadLetter:
    """The dead-letter copy of a message, cut to fit in one produce request of this size."""
    headers = dead_letter_headers(rejection, source, rejected_at)
    headers += [(ORIGINAL_HEADER_PREFIX + name, data) for name, data in original_headers or ()]
    body = value or b""
    if _size(key, body, headers) <= max_request_bytes:
        return DeadLetter(key, body, headers)
    headers += [
        (DLQ_HEADER_PREFIX + "truncated", b"true"),
        (DLQ_HEADER_PREFIX + "original_size", str(len(body)).encode()),
    ]
    room = max_request_bytes - _size(key, b"", headers) - _LENGTH_SLACK
    if room < 0:  # even the headers alone are too large: keep ours, drop the originals'
        headers = [h for h in headers if not h[0].startswith(ORIGINAL_HEADER_PREFIX)]
        room = max_request_bytes - _size(key, b"", headers) - _LENGTH_SLACK
    if room < 0 and key:  # and a key too large to keep
        headers.append((DLQ_HEADER_PREFIX + "original_key_size", str(len(key)).encode()))
        key = None
        room = max_request_bytes - _size(key, b"", headers) - _LENGTH_SLACK
    return DeadLetter(key, body[: max(0, room)], headers, truncated=True)
