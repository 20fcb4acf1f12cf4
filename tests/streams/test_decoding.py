from datetime import UTC, datetime

import orjson
import pytest

from schemas.declaration import Declaration
from streams.decoding import (
    Rejection,
    RejectReason,
    SourceRef,
    dead_letter_headers,
    decode_declaration,
)
from tests.conftest import declaration_dict

LIMIT = 4096


def encoded(**overrides: object) -> bytes:
    return orjson.dumps(declaration_dict(**overrides))


def without(field: str) -> bytes:
    document = declaration_dict()
    del document[field]
    return orjson.dumps(document)


@pytest.mark.parametrize(
    ("raw", "reason", "mentions"),
    [
        (b"this is not json", RejectReason.NOT_JSON, "JSON"),
        (b'{"declaration_id": "x",', RejectReason.NOT_JSON, "JSON"),  # truncated
        (b"[1, 2, 3]", RejectReason.NOT_OBJECT, "list"),
        (b'"a string"', RejectReason.NOT_OBJECT, "str"),
        (without("importer"), RejectReason.INVALID, "importer"),
        (encoded(quantity="lots"), RejectReason.INVALID, "quantity"),
        (encoded(hs_code="93O3.20"), RejectReason.INVALID, "hs_code"),
        (encoded(origin_country="ZZ"), RejectReason.INVALID, "origin_country"),
        (encoded(quantity=-1), RejectReason.INVALID, "quantity"),
        (encoded(declared_at="2023-03-15T10:20:00"), RejectReason.INVALID, "declared_at"),
        (b'{"declaration_id": "\xff\xfe"}', RejectReason.INVALID_UTF8, "UTF-8"),
        (b'{"quantity": NaN}', RejectReason.NOT_JSON, "JSON"),  # NaN is not JSON
        (b"[" * 5000 + b"]" * 5000, RejectReason.TOO_LARGE, "limit"),
        (encoded(goods_description="x" * LIMIT), RejectReason.TOO_LARGE, str(LIMIT)),
        (b"", RejectReason.EMPTY, "empty"),
        (None, RejectReason.EMPTY, "empty"),
    ],
)
def test_rejections(raw: bytes | None, reason: RejectReason, mentions: str) -> None:
    outcome = decode_declaration(raw, LIMIT)
    assert isinstance(outcome, Rejection)
    assert outcome.reason is reason
    assert mentions in outcome.detail
    assert "\n" not in outcome.detail


def test_deep_nesting_within_the_size_limit_is_rejected_not_raised() -> None:
    outcome = decode_declaration(b"[" * 2000 + b"]" * 2000, LIMIT)
    assert isinstance(outcome, Rejection) and outcome.reason is RejectReason.NOT_JSON


def test_valid_declaration_decodes() -> None:
    outcome = decode_declaration(encoded(hs_code="9303 20"), LIMIT)
    assert isinstance(outcome, Declaration)
    assert outcome.hs_code == "930320"


def test_dead_letter_headers() -> None:
    rejection = Rejection(RejectReason.INVALID, "quantity: Input should be greater than 0")
    headers = dict(
        dead_letter_headers(
            rejection, SourceRef("customs.declarations", 2, 41), datetime(2026, 1, 1, tzinfo=UTC)
        )
    )
    assert headers == {
        "tradewatch.error": b"quantity: Input should be greater than 0",
        "tradewatch.reason": b"invalid",
        "tradewatch.source.topic": b"customs.declarations",
        "tradewatch.source.partition": b"2",
        "tradewatch.source.offset": b"41",
        "tradewatch.rejected_at": b"2026-01-01T00:00:00+00:00",
    }
