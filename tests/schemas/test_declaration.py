from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codes import normalize_hs_code
from schemas.declaration import Declaration
from tests.conftest import declaration_dict


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("930320", "930320"),  # plain six digits
        ("9303.20", "930320"),  # dotted, as on forms
        ("9303 20 10 00", "9303201000"),  # national ten-digit code with spaces
        ("8806.22.10", "88062210"),  # dots at every level
    ],
)
def test_hs_code_normalisation(raw: str, digits: str) -> None:
    assert normalize_hs_code(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "93O3.20",  # letter O for zero
        "9303",  # heading only: the contract needs at least a subheading
        "93032010001",  # eleven digits
        "9303-20",  # a dash is not a form separator
        "",
    ],
)
def test_hs_code_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="HS code"):
        normalize_hs_code(raw)


def test_valid_declaration_parses_with_derived_levels() -> None:
    declaration = Declaration.model_validate(declaration_dict(hs_code="9303 20 10 00"))
    assert (declaration.hs_chapter, declaration.hs_heading, declaration.hs_subheading) == (
        "93",
        "9303",
        "930320",
    )
    assert declaration.declared_at == datetime(2023, 3, 15, 7, 20, tzinfo=UTC)


def test_codes_are_case_normalised_and_unknown_fields_ignored() -> None:
    declaration = Declaration.model_validate(
        declaration_dict(origin_country="cn", currency="usd", feed_extension={"x": 1})
    )
    assert (declaration.origin_country, declaration.currency) == ("CN", "USD")
    assert not hasattr(declaration, "feed_extension")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"declared_at": "2023-03-15T10:20:00"}, "declared_at"),  # no offset: ambiguous time
        ({"declared_at": 1678875600}, "declared_at"),  # epoch number, not RFC 3339 text
        ({"origin_country": "ZZ"}, "origin_country"),  # not an ISO 3166 code
        ({"currency": "XXY"}, "currency"),  # not an ISO 4217 code
        ({"quantity": -3}, "quantity"),  # negative quantity
        ({"quantity": 0}, "quantity"),  # zero quantity is no shipment
        ({"quantity": "lots"}, "quantity"),  # wrong type
        ({"invoice_value": float("nan")}, "invoice_value"),  # NaN must not reach the statistics
        ({"direction": "transit"}, "direction"),  # only import or export
        ({"goods_description": "   "}, "goods_description"),  # blank text
        ({"exporter": {"country": "CN"}}, "exporter.name"),  # party without a name
        ({"hs_code": 930320}, "hs_code"),  # a number loses leading zeros: must be text
    ],
)
def test_invalid_declarations_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Declaration.model_validate(declaration_dict(**overrides))
    fields = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert field in fields


def test_missing_required_field() -> None:
    document = declaration_dict()
    del document["importer"]
    with pytest.raises(ValidationError, match="importer"):
        Declaration.model_validate(document)
