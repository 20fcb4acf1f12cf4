"""Hostile payloads for the screening path: what a broken or malicious producer might send."""

import json
from typing import Any

from hypothesis import strategies as st

from tests.conftest import declaration_dict

BIDI_AND_ZERO_WIDTH = ["\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff"]
CONTROL = ["\x00", "\x07", "\x1b[2J", "\r", "\u0085", "\u2028"]


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


sneaky_text = st.lists(
    st.one_of(st.text(min_size=1, max_size=8), st.sampled_from(BIDI_AND_ZERO_WIDTH + CONTROL)),
    min_size=1,
    max_size=6,
).map("".join)

hostile_field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.just("x" * 100_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

hostile_payloads = st.one_of(
    st.binary(max_size=200),  # random bytes
    st.builds(lambda n: encode(declaration_dict())[:n], st.integers(0, 300)),  # truncated JSON
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 5000)),  # deep nesting
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(1, 3000)),
    st.sampled_from([b"NaN", b'{"quantity": NaN}', b'{"quantity": Infinity}', b"1e99999"]),
    st.sampled_from([b"\xff\xfe\xfd", b'{"declaration_id": "\xc3\x28"}', b"\xed\xa0\x80"]),
    st.builds(  # a declaration with one field replaced by something hostile
        lambda field, value: encode(declaration_dict(**{field: value})),
        st.sampled_from(sorted(declaration_dict())),
        hostile_field_values,
    ),
    st.builds(  # valid shape, hostile text in party names
        lambda exporter, importer: encode(
            declaration_dict(
                hs_code="930320",
                goods_description="CQ-A rifles",
                exporter={"name": exporter, "country": "CN"},
                importer={"name": importer, "country": "RU"},
            )
        ),
        sneaky_text,
        sneaky_text,
    ),
    st.sampled_from(  # dates far in the past or the future
        [
            encode(declaration_dict(declared_at="0001-01-01T00:00:00+00:00")),
            encode(declaration_dict(declared_at="9999-12-31T23:59:59+00:00")),
            encode(declaration_dict(declared_at="2023-02-30T10:00:00+03:00")),
            encode(declaration_dict(declared_at="2023-03-15T10:00:00+25:00")),
        ]
    ),
)


def hostile_batch(seed: int, count: int) -> list[bytes]:
    """A fixed, reproducible mix of the same kinds of payload, for tests against the broker."""
    import random

    rng = random.Random(seed)
    valid = encode(declaration_dict())
    makers = [
        lambda: rng.randbytes(rng.randint(0, 120)),
        lambda: valid[: rng.randint(0, len(valid) - 1)],
        lambda: b"[" * 3000 + b"]" * 3000,
        lambda: encode(declaration_dict(goods_description="x" * 200_000)),
        lambda: b'{"quantity": NaN, "declared_at": Infinity}',
        lambda: b'{"declaration_id": "\xc3\x28", "exporter": "\xff"}',
        lambda: encode(declaration_dict(quantity=10**400 if rng.random() < 0.5 else -1)),
        lambda: encode(declaration_dict(declared_at="9999-12-31T23:59:59+00:00")),
        lambda: encode(
            declaration_dict(
                hs_code="930320",
                goods_description="CQ-A rifles",
                importer={"name": "OOO \u202eTekh\u200bkrim\x1b[2J", "country": "RU"},
            )
        ),
        # Evasions that once passed as valid: codes in other digits and letters, a duplicate
        # key hiding the rifle, epoch text as a date, a value that overflows in dollars.
        lambda: encode(
            declaration_dict(hs_code=rng.choice(["٩٣٠٣٢٠", "۹۳۰۳۲۰", "९३०३२०", "９３０３２０"]))
        ),
        lambda: encode(declaration_dict(destination_country=rng.choice(["ＲＵ", "РУ"]))),
        lambda: encode(declaration_dict(hs_code="930320"))[:-1] + b', "hs_code": "950300"}',
        lambda: encode(declaration_dict(declared_at=str(rng.randint(10**9, 2 * 10**9)))),
        lambda: encode(declaration_dict(invoice_value=1.7e308, currency="EUR")),
    ]
    return [rng.choice(makers)() for _ in range(count)]
