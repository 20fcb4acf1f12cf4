"""The worker's decoder: every reason a message is refused, and agreement with the contract.

The pydantic model (the published contract, the source of the JSON Schema) and the fast decoder
call the same field checks; these tests hold them to the same decisions on hostile input.
"""

import json
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.declaration import Declaration
from schemas.export import schema_of
from schemas.wire import DeclarationRecord, Rejection, RejectReason, decode_declaration
from tests.conftest import declaration_dict
from tests.hostile import encode, hostile_payloads

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
        (encoded(quantity="10"), RejectReason.INVALID, "quantity"),  # a number is a JSON number
        (encoded(quantity=True), RejectReason.INVALID, "quantity"),
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
        # Inputs that once slipped past every rule:
        (encoded(hs_code="٩٣٠٣٢٠"), RejectReason.INVALID, "U+0669 ARABIC-INDIC DIGIT NINE"),
        (encoded(hs_code="۹۳۰۳۲۰"), RejectReason.INVALID, "EXTENDED ARABIC-INDIC"),
        (encoded(hs_code="९३०३२०"), RejectReason.INVALID, "DEVANAGARI"),
        (encoded(hs_code="９３０３２０"), RejectReason.INVALID, "FULLWIDTH DIGIT"),
        (encoded(destination_country="ＲＵ"), RejectReason.INVALID, "FULLWIDTH LATIN"),
        (encoded(destination_country="РУ"), RejectReason.INVALID, "CYRILLIC"),
        (encoded(currency="ＵＳＤ"), RejectReason.INVALID, "currency"),
        (encoded(quantity_unit="ＰＣＥ"), RejectReason.INVALID, "quantity_unit"),
        (encoded(declared_at="1678875600"), RejectReason.INVALID, "RFC 3339"),
        (encoded(declared_at=1678875600), RejectReason.INVALID, "declared_at"),
        (encoded(invoice_value=1.7e308), RejectReason.INVALID, "at most 1e+15"),
        (encoded(quantity=10**18), RejectReason.INVALID, "at most"),
    ],
)
def test_rejections(raw: bytes | None, reason: RejectReason, mentions: str) -> None:
    outcome = decode_declaration(raw, LIMIT)
    assert isinstance(outcome, Rejection)
    assert outcome.reason is reason, outcome
    assert mentions in outcome.detail
    assert "\n" not in outcome.detail


RIFLES = {"hs_code": "930320", "goods_description": "CQ-A automatic rifles"}
HARMLESS = {"hs_code": "950300", "goods_description": "plush toys"}


@pytest.mark.parametrize(
    "raw",
    [
        # The rifle's fields first, harmless ones after: a parser keeps the last of each.
        b"{"
        + b",".join(
            orjson.dumps(k) + b":" + orjson.dumps(v)
            for k, v in [*declaration_dict(**RIFLES).items(), *HARMLESS.items()]
        )
        + b"}",
        # The same with white space before a colon, and a duplicate inside a party.
        b'{"a": 1, "exporter" : {"name": "A", "name" : "B"}}',
        # Duplicates that differ only in escapes are the same key.
        b'{"hs_code": "930320", "hs\\u005fcode": "950300"}',
    ],
)
def test_duplicate_keys_are_refused(raw: bytes) -> None:
    outcome = decode_declaration(raw, 1 << 20)
    assert isinstance(outcome, Rejection)
    assert outcome.reason is RejectReason.DUPLICATE_KEY


def test_colons_inside_strings_are_not_keys() -> None:
    document = declaration_dict(goods_description='spare parts: "a:b" {x: 1}, ratio 1:2')
    document["note"] = {"a:b": "c:d", "list": [{"e": ":"}]}
    outcome = decode_declaration(json.dumps(document).encode(), 1 << 20)
    assert isinstance(outcome, DeclarationRecord)


def test_valid_declaration_decodes_with_codes_normalised() -> None:
    outcome = decode_declaration(
        encoded(hs_code=" 9303 20 ", origin_country="cn", currency="usd", quantity_unit="pce"),
        LIMIT,
    )
    assert isinstance(outcome, DeclarationRecord)
    assert (outcome.hs_code, outcome.origin_country, outcome.currency, outcome.quantity_unit) == (
        "930320",
        "CN",
        "USD",
        "PCE",
    )


def test_a_leap_second_is_the_last_microsecond_of_its_minute() -> None:
    outcome = decode_declaration(encoded(declared_at="2016-12-31T23:59:60Z"), LIMIT)
    assert isinstance(outcome, DeclarationRecord)
    assert outcome.declared_at.isoformat() == "2016-12-31T23:59:59.999999+00:00"


def pydantic_decision(raw: bytes) -> bool | None:
    """Whether the contract accepts the document the fast decoder parsed (None: not a JSON
    object, which neither decoder gets as far as validating)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    try:
        orjson.dumps(document)
    except TypeError:
        return None  # nested too deeply for any declaration: refused before validation
    try:
        Declaration.model_validate(document)
    except ValidationError:
        return False
    return True


def field_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(
            [
                " 9303.20 ",
                "93032010",
                "٩٣٠٣٢٠",
                "9303-20",
                "ru",
                "RU ",
                "ＲＵ",
                "usd",
                "pce",
                "2023-03-15T10:20:00+03:00",
                "2023-03-15 10:20:00Z",
                "2016-12-31T23:59:60Z",
                "1678875600",
                "2023-03-15",
                "   ",
                "x" * 300,
            ]
        ),
        st.dictionaries(st.sampled_from(["name", "country", "tax_id"]), st.text(max_size=5)),
    )


declarations_with_one_odd_field = st.builds(
    lambda field, value: encode(declaration_dict(**{field: value})),
    st.sampled_from([*sorted(declaration_dict()), "brand", "net_mass_kg", "declarant"]),
    field_values(),
)


@settings(
    max_examples=int(__import__("os").environ.get("TW_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.one_of(hostile_payloads, declarations_with_one_odd_field))
def test_the_fast_decoder_and_the_contract_agree(raw: bytes) -> None:
    outcome = decode_declaration(raw, 1 << 20)
    expected = pydantic_decision(raw)
    if expected is None:
        assert isinstance(outcome, Rejection)
        return
    if isinstance(outcome, Rejection) and outcome.reason is RejectReason.DUPLICATE_KEY:
        return  # the contract's parser never sees the first of two equal keys
    assert isinstance(outcome, DeclarationRecord) is expected, outcome


SCHEMA = schema_of(Declaration)


@pytest.mark.parametrize(
    ("hs_code", "valid"),
    [
        ("930320", True),
        ("9303.20", True),
        ("9303 20 10 00", True),
        ("٩٣٠٣٢٠", False),  # Arabic-Indic digits
        ("९३०३२०", False),  # Devanagari digits
        ("９３０３２０", False),  # full-width digits
    ],
)
def test_the_json_schema_and_the_decoder_agree_on_hs_codes(hs_code: str, valid: bool) -> None:
    document = declaration_dict(hs_code=hs_code)
    schema_ok = jsonschema.Draft202012Validator(SCHEMA).is_valid(document)
    decoded = decode_declaration(encode(document), 1 << 20)
    assert schema_ok is valid
    assert isinstance(decoded, DeclarationRecord) is valid
