"""The field checks of the declaration contract, shared by both of its decoders.

The pydantic model (`schemas.declaration`, the published contract and the source of the JSON
Schema) and the fast decoder the worker runs (`schemas.wire`) call these same functions, so they
accept and reject exactly the same declarations. Each check takes the value as it came from JSON
and returns the normalised value, or raises ValueError with one readable line.

Coded fields are ASCII: an HS code in Arabic-Indic or full-width digits, or a country code in
look-alike letters, is rejected by name rather than normalised, since a rule that never sees
the code it is written for could be walked past; the JSON Schema says the same ([0-9], [A-Za-z]).
"""

import math
import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

import pycountry
from pydantic import BeforeValidator, WithJsonSchema

# XK (Kosovo) is a user-assigned code that customs administrations use in practice.
COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}
CURRENCY_CODES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)

MAX_AMOUNT = 1e15
"""The largest quantity, value or mass accepted: far above any real shipment, and small enough
that converting it to US dollars at any rate stays a finite number."""

_HS_SEPARATORS = re.compile(r"[. ]+")
_HS_DIGITS = re.compile(r"[0-9]{6,10}")
_UNIT = re.compile(r"[A-Z0-9]{1,8}")
# RFC 3339 date-time: full-date "T" full-time with a mandatory offset. A space or a lower-case t
# between date and time is allowed (RFC 3339 section 5.6, note); seconds may be 60 (a leap second).
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _non_ascii(text: str) -> str:
    """' (found U+0669 ARABIC-INDIC DIGIT NINE)' for the first non-ASCII character, or ''."""
    for char in text:
        if not char.isascii():
            name = unicodedata.name(char, "unnamed character")
            return f" (found U+{ord(char):04X} {name})"
    return ""


def _code_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value.strip().upper()


def check_country(value: object) -> str:
    """An ISO 3166-1 alpha-2 code, any case: 'ru' becomes 'RU'."""
    code = _code_text(value, "a country code")
    if code not in COUNTRY_CODES:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}{_non_ascii(code)}")
    return code


def check_currency(value: object) -> str:
    """An ISO 4217 code, any case."""
    code = _code_text(value, "a currency code")
    if code not in CURRENCY_CODES:
        raise ValueError(f"unknown ISO 4217 currency code {code!r}{_non_ascii(code)}")
    return code


def check_unit(value: object) -> str:
    """A unit of quantity: 1 to 8 ASCII letters or digits, any case ('pce' becomes 'PCE')."""
    unit = _code_text(value, "a unit")
    if not unit.isascii() or not _UNIT.fullmatch(unit):
        raise ValueError(f"unit {unit!r} must be 1 to 8 ASCII letters or digits{_non_ascii(unit)}")
    return unit


def check_hs_code(value: object) -> str:
    """The digits of an HS code as declared, accepting the dots and spaces of forms.

    >>> check_hs_code("9303 20 10 00")
    '9303201000'
    """
    if not isinstance(value, str):
        # A number would lose the leading zeros of chapters 01-09.
        raise ValueError(f"an HS code must be text, not {type(value).__name__}")
    digits = _HS_SEPARATORS.sub("", value.strip())
    if not digits.isascii() or not _HS_DIGITS.fullmatch(digits):
        raise ValueError(
            f"HS code {value!r} must be 6 to 10 ASCII digits 0-9, optionally grouped by dots or "
            f"spaces{_non_ascii(value)}"
        )
    return digits


normalize_hs_code = check_hs_code


def parse_event_time(value: object) -> datetime:
    """An RFC 3339 timestamp with its offset, as an aware datetime (in that offset).

    Text only: a bare number, or a string of digits, is not taken as seconds since the epoch.
    A leap second (23:59:60) is read as the last microsecond of its minute.

    >>> parse_event_time("2016-12-31T23:59:60Z")
    datetime.datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(value, str):
        raise ValueError(
            f"must be an RFC 3339 timestamp string with an offset, not {type(value).__name__}"
        )
    text = value.strip()
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{value[:40]!r} is not an RFC 3339 timestamp with an offset "
            "(like 2023-03-15T10:20:00+03:00)"
        )
    fraction = match.group(7)
    leap = match.group(6) == "60"
    if leap or (fraction and len(fraction) > 7):
        # datetime cannot hold a 61st second or more than microseconds: rewrite the text.
        fraction = ".999999" if leap else fraction[:7]
        text = f"{text[:17]}{'59' if leap else match.group(6)}{fraction}{match.group(8)}"
    try:
        return datetime.fromisoformat(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value[:40]!r} is not a valid date and time: {exc}") from None


def check_text(value: object, max_length: int) -> str:
    """Text with surrounding white space removed: 1 to max_length characters."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters, not {len(text)}")
    return text


def check_amount(value: object, *, positive: bool) -> float:
    """A quantity, value or mass: a JSON number, finite, > 0 (or >= 0), at most MAX_AMOUNT."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {type(value).__name__}")
    try:
        amount = float(value)
    except OverflowError:  # an integer beyond any float
        raise ValueError(f"must be at most {MAX_AMOUNT:g}") from None
    if not math.isfinite(amount):
        raise ValueError("must be a finite number")
    if positive and amount <= 0:
        raise ValueError("must be greater than 0")
    if not positive and amount < 0:
        raise ValueError("must be at least 0")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT:g}")
    return amount


CountryCode = Annotated[
    str,
    BeforeValidator(check_country),
    WithJsonSchema(
        {"type": "string", "pattern": "^ *[A-Za-z]{2} *$", "description": "ISO 3166-1 alpha-2"}
    ),
]
CurrencyCode = Annotated[
    str,
    BeforeValidator(check_currency),
    WithJsonSchema({"type": "string", "pattern": "^ *[A-Za-z]{3} *$", "description": "ISO 4217"}),
]
HsCode = Annotated[
    str,
    BeforeValidator(check_hs_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^ *[0-9](?:[0-9. ]*[0-9])? *$",
            "description": "6 to 10 ASCII digits; dots and spaces between them are ignored",
        }
    ),
]
Unit = Annotated[
    str,
    BeforeValidator(check_unit),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^ *[A-Za-z0-9]{1,8} *$",
            "description": "Unit of quantity, e.g. PCE, KG, PR, SET (ASCII, any case).",
        }
    ),
]
EventTime = Annotated[
    datetime,
    BeforeValidator(parse_event_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 timestamp with offset; the event time. A leap second "
            "(:60) is read as the last microsecond of its minute.",
        }
    ),
]


def _amount_type(positive: bool, description: str) -> Any:
    bound = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return Annotated[
        float,
        BeforeValidator(lambda value: check_amount(value, positive=positive)),
        WithJsonSchema(
            {"type": "number", **bound, "maximum": MAX_AMOUNT, "description": description}
        ),
    ]


PositiveAmount = _amount_type(True, "A JSON number greater than 0, at most 1e15.")
Amount = _amount_type(False, "A JSON number, at least 0, at most 1e15.")


def _text_type(max_length: int) -> Any:
    return Annotated[
        str,
        BeforeValidator(lambda value: check_text(value, max_length)),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": max_length,
                "description": f"Text; surrounding white space is removed; 1 to {max_length} "
                "characters.",
            }
        ),
    ]


TEXT_MAX = 4000
SHORT_TEXT_MAX = 256
Text = _text_type(TEXT_MAX)
ShortText = _text_type(SHORT_TEXT_MAX)
