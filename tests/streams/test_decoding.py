"""Dead letters: what a rejected message carries to the dead-letter topic, and that it fits."""

from datetime import UTC, datetime

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.wire import Rejection, RejectReason
from streams.decoding import SourceRef, dead_letter, dead_letter_headers

REJECTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = SourceRef("customs.declarations", 2, 41)
INVALID = Rejection(RejectReason.INVALID, "quantity: must be greater than 0")


def test_dead_letter_headers() -> None:
    headers = dict(dead_letter_headers(INVALID, SOURCE, REJECTED_AT))
    assert headers == {
        "tradewatch.error": b"quantity: must be greater than 0",
        "tradewatch.reason": b"invalid",
        "tradewatch.source.topic": b"customs.declarations",
        "tradewatch.source.partition": b"2",
        "tradewatch.source.offset": b"41",
        "tradewatch.rejected_at": b"2026-01-01T00:00:00+00:00",
    }


def test_a_dead_letter_keeps_value_key_and_original_headers() -> None:
    letter = dead_letter(
        INVALID, SOURCE, REJECTED_AT, b"k1", b'{"x": 1}', [("trace-id", b"abc")], 1 << 20
    )
    assert (letter.key, letter.value, letter.truncated) == (b"k1", b'{"x": 1}', False)
    headers = dict(letter.headers)
    assert headers["tradewatch.original.trace-id"] == b"abc"
    assert headers["tradewatch.reason"] == b"invalid"


def size(letter: object) -> int:
    return int(
        DefaultRecordBatchBuilder.estimate_size_in_bytes(
            letter.key,  # type: ignore[attr-defined]
            letter.value,  # type: ignore[attr-defined]
            letter.headers,  # type: ignore[attr-defined]
        )
    )


@pytest.mark.parametrize(
    ("value_bytes", "key_bytes", "header_bytes"),
    [
        (1_048_400, 0, 0),  # the value alone fits a request; with our headers it does not
        (2_000_000, 10, 100),  # far too large: cut
        (10, 2_000_000, 0),  # a key too large to keep
        (10, 0, 2_000_000),  # original headers too large to keep
    ],
)
def test_an_oversized_dead_letter_is_cut_to_fit_one_request(
    value_bytes: int, key_bytes: int, header_bytes: int
) -> None:
    limit = 1_048_576
    letter = dead_letter(
        Rejection(RejectReason.TOO_LARGE, "message of many bytes exceeds the limit"),
        SOURCE,
        REJECTED_AT,
        b"k" * key_bytes or None,
        b"v" * value_bytes,
        [("h", b"x" * header_bytes)] if header_bytes else [],
        limit,
    )
    assert size(letter) <= limit
    headers = dict(letter.headers)
    assert letter.truncated
    assert headers["tradewatch.truncated"] == b"true"
    assert headers["tradewatch.original_size"] == str(value_bytes).encode()
    assert headers["tradewatch.source.offset"] == b"41"  # the full original is still there
    assert letter.value == b"v" * len(letter.value)
