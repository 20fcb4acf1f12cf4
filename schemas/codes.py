"""ISO code types shared by the models: country (3166-1 alpha-2), currency (4217) and HS code."""

import re
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

# XK (Kosovo) is a user-assigned code that customs administrations use in practice.
COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}
CURRENCY_CODES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)

_HS_SEPARATORS = re.compile(r"[.\s]+")
_HS_DIGITS = re.compile(r"\d{6,10}")


def _upper_str(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _country(code: str) -> str:
    if code not in COUNTRY_CODES:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}")
    return code


def _currency(code: str) -> str:
    if code not in CURRENCY_CODES:
        raise ValueError(f"unknown ISO 4217 currency code {code!r}")
    return code


def normalize_hs_code(raw: str) -> str:
    """Return the digits of an HS code as declared, accepting the dots and spaces of forms.

    >>> normalize_hs_code("9303 20 10 00")
    '9303201000'
    """
    digits = _HS_SEPARATORS.sub("", raw)
    if not _HS_DIGITS.fullmatch(digits):
        raise ValueError(
            f"HS code {raw!r} must be 6 to 10 digits, optionally grouped by dots or spaces"
        )
    return digits


def _hs_code(value: object) -> object:
    return normalize_hs_code(value) if isinstance(value, str) else value


CountryCode = Annotated[
    str,
    BeforeValidator(_upper_str),
    AfterValidator(_country),
    WithJsonSchema(
        {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2"}
    ),
]
CurrencyCode = Annotated[
    str,
    BeforeValidator(_upper_str),
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217"}),
]
HsCode = Annotated[
    str,
    BeforeValidator(_hs_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9](?:[0-9. ]*[0-9])?$",
            "description": "6 to 10 digits; dots and spaces between them are ignored",
        }
    ),
]
