"""From untrusted bytes to a declaration, fast, or to the reason it was refused.

The worker decodes every message with `decode_declaration`: orjson parses, msgspec converts into
frozen structs, and the field checks of `schemas.codes` (the same functions the pydantic
contract in `schemas.declaration` calls) validate. Both decoders accept and reject the same
declarations; a property test holds them to it.

Errors are data here: decoding never raises, so one bad message can never stop the worker.
"""

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
import orjson

from schemas.codes import (
    SHORT_TEXT_MAX,
    TEXT_MAX,
    check_amount,
    check_country,
    check_currency,
    check_hs_code,
    check_text,
    check_unit,
    parse_event_time,
)

_MAX_REASON_CHARS = 1000
DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024
"""Larger messages are refused unread (too_large)."""


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    DUPLICATE_KEY = "duplicate_key"
    INVALID = "invalid"
    FUTURE_EVENT_TIME = "future_event_time"
    RULE_ERROR = "rule_error"


class Rejection(msgspec.Struct, frozen=True):
    """Why a message was not screened. `detail` is one readable line."""

    reason: RejectReason
    detail: str


class InvalidField(ValueError):
    """A field failed its check: the message starts with the field's dotted name."""


class PartyRecord(msgspec.Struct, frozen=True, gc=False):
    """An exporter, importer or declarant as the declaration names it."""

    name: str
    country: str | None = None
    tax_id: str | None = None
    address: str | None = None


class DeclarationRecord(msgspec.Struct, frozen=True, gc=False):
    """A validated customs declaration, as the rules and windows read it.

    >>> decode_declaration(raw_bytes, max_bytes=524288)  # DeclarationRecord or Rejection
    """

    declaration_id: str
    declared_at: datetime
    """Aware, in UTC."""
    direction: str
    reporting_country: str
    exporter: PartyRecord
    importer: PartyRecord
    origin_country: str
    dispatch_country: str
    destination_country: str
    hs_code: str
    goods_description: str
    quantity: float
    quantity_unit: str
    invoice_value: float
    currency: str
    declarant: PartyRecord | None = None
    brand: str | None = None
    model: str | None = None
    net_mass_kg: float | None = None
    gross_mass_kg: float | None = None
    customs_procedure: str | None = None
    transport_mode: str | None = None
    source: str | None = None

    @property
    def hs_chapter(self) -> str:
        return self.hs_code[:2]

    @property
    def hs_heading(self) -> str:
        return self.hs_code[:4]

    @property
    def hs_subheading(self) -> str:
        return self.hs_code[:6]


DIRECTIONS = ("import", "export")


def _required(value: object) -> object:
    if value is None:
        raise ValueError("field required (missing or null)")
    return value


def _direction(value: object) -> str:
    if not isinstance(value, str) or value not in DIRECTIONS:
        raise ValueError(f"must be 'import' or 'export', not {str(value)[:20]!r}")
    return value


class _PartyFieldError(ValueError):
    """A field of a party is bad; the message names it, the caller prefixes the role."""


def _party(value: object) -> PartyRecord:
    if not isinstance(value, dict):
        raise ValueError(f"must be an object, not {type(value).__name__}")
    get = value.get
    field = "name"
    try:
        name = check_text(_required(get("name")), SHORT_TEXT_MAX)
        field = "country"
        country = get("country")
        if country is not None:
            country = check_country(country)
        field = "tax_id"
        tax_id = get("tax_id")
        if tax_id is not None:
            tax_id = check_text(tax_id, SHORT_TEXT_MAX)
        field = "address"
        address = get("address")
        if address is not None:
            address = check_text(address, TEXT_MAX)
    except ValueError as exc:
        raise _PartyFieldError(f"{field}: {exc}") from None
    return PartyRecord(name, country, tax_id, address)


_OPTIONAL_TEXT = (
    ("brand", SHORT_TEXT_MAX),
    ("model", SHORT_TEXT_MAX),
    ("customs_procedure", SHORT_TEXT_MAX),
    ("transport_mode", SHORT_TEXT_MAX),
    ("source", SHORT_TEXT_MAX),
)


def validate(document: dict[str, Any]) -> DeclarationRecord:
    """A declaration from its decoded JSON object; raises InvalidField naming the field.

    Fields are checked in the contract's order, so the first error is the first bad field.
    (Written out field by field: this runs for every message the worker reads.)"""
    get = document.get
    field = "declaration_id"
    try:
        declaration_id = check_text(_required(get(field)), SHORT_TEXT_MAX)
        field = "declared_at"
        declared_at = parse_event_time(_required(get(field)))
        field = "direction"
        direction = _direction(_required(get(field)))
        field = "reporting_country"
        reporting_country = check_country(_required(get(field)))
        field = "exporter"
        exporter = _party(_required(get(field)))
        field = "importer"
        importer = _party(_required(get(field)))
        field = "origin_country"
        origin_country = check_country(_required(get(field)))
        field = "dispatch_country"
        dispatch_country = check_country(_required(get(field)))
        field = "destination_country"
        destination_country = check_country(_required(get(field)))
        field = "hs_code"
        hs_code = check_hs_code(_required(get(field)))
        field = "goods_description"
        goods_description = check_text(_required(get(field)), TEXT_MAX)
        field = "quantity"
        quantity = check_amount(_required(get(field)), positive=True)
        field = "quantity_unit"
        quantity_unit = check_unit(_required(get(field)))
        field = "invoice_value"
        invoice_value = check_amount(_required(get(field)), positive=False)
        field = "currency"
        currency = check_currency(_required(get(field)))
        field = "declarant"
        declarant = get(field)
        if declarant is not None:
            declarant = _party(declarant)
        optional: list[Any] = []
        for field, limit in _OPTIONAL_TEXT:
            value = get(field)
            optional.append(None if value is None else check_text(value, limit))
        field = "net_mass_kg"
        net_mass_kg = get(field)
        if net_mass_kg is not None:
            net_mass_kg = check_amount(net_mass_kg, positive=False)
        field = "gross_mass_kg"
        gross_mass_kg = get(field)
        if gross_mass_kg is not None:
            gross_mass_kg = check_amount(gross_mass_kg, positive=False)
    except _PartyFieldError as exc:
        raise InvalidField(f"{field}.{exc}") from None
    except ValueError as exc:
        raise InvalidField(f"{field}: {exc}") from None
    brand, model, customs_procedure, transport_mode, source = optional
    return DeclarationRecord(
        declaration_id,
        declared_at,
        direction,
        reporting_country,
        exporter,
        importer,
        origin_country,
        dispatch_country,
        destination_country,
        hs_code,
        goods_description,
        quantity,
        quantity_unit,
        invoice_value,
        currency,
        declarant,
        brand,
        model,
        net_mass_kg,
        gross_mass_kg,
        customs_procedure,
        transport_mode,
        source,
    )


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_REASON_CHARS else flat[: _MAX_REASON_CHARS - 1] + "…"


def duplicate_key(raw: bytes, document: dict[str, Any]) -> str | None:
    """The first key that appears twice in one JSON object, or None.

    JSON parsers keep the last of two equal keys, so a declaration could carry the rifle's fields
    first and harmless ones after them. Every key in JSON text is followed by one ':' outside
    strings. The document written back by orjson has one ':' per key it kept plus the colons
    inside its strings, so when the raw text has no more colons than that, no key was dropped.
    A colon escaped as \\u003a (never seen from real producers) falls to the exact check.
    """
    if raw.count(b":") == orjson.dumps(document).count(b":") and b"\\u003" not in raw:
        return None  # (orjson refuses to write what is nested too deeply: see decode_declaration)
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    json.loads(raw, object_pairs_hook=pairs)
    return found[0] if found else None


def decode_declaration(raw: bytes | None, max_bytes: int) -> DeclarationRecord | Rejection:
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
        duplicate = duplicate_key(raw, document)
    except (TypeError, RecursionError):  # nested deeper than any declaration could be
        return Rejection(RejectReason.NOT_JSON, "nested too deeply to be a declaration")
    if duplicate is not None:
        return Rejection(
            RejectReason.DUPLICATE_KEY,
            _one_line(f"key {duplicate!r} appears more than once in one object"),
        )
    try:
        return validate(document)
    except InvalidField as exc:
        return Rejection(RejectReason.INVALID, _one_line(str(exc)))


def to_document(declaration: DeclarationRecord) -> dict[str, Any]:
    """The declaration as a JSON-ready dict (declared_at as RFC 3339 text, in UTC)."""
    document: dict[str, Any] = msgspec.to_builtins(declaration)
    return {k: v for k, v in document.items() if v is not None}
