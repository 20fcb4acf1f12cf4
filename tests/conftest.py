"""Shared fixtures: a valid declaration to vary, and the real broker for integration tests."""

import os
import uuid
from typing import Any

import pytest

from schemas.wire import DeclarationRecord, validate


def declaration_dict(**overrides: Any) -> dict[str, Any]:
    """A valid declaration as it arrives on the wire; keyword arguments replace fields."""
    base: dict[str, Any] = {
        "declaration_id": "10702020/150323/0000001",
        "declared_at": "2023-03-15T10:20:00+03:00",
        "direction": "import",
        "reporting_country": "RU",
        "exporter": {"name": "Jiangsu Machinery Export Co., Ltd.", "country": "CN"},
        "importer": {"name": "OOO Promtekh", "country": "RU", "tax_id": "7701234567"},
        "origin_country": "CN",
        "dispatch_country": "CN",
        "destination_country": "RU",
        "hs_code": "8471.30",
        "goods_description": "Portable computers",
        "quantity": 10,
        "quantity_unit": "PCE",
        "invoice_value": 5000,
        "currency": "USD",
    }
    base.update(overrides)
    return base


def declaration_record(**overrides: Any) -> DeclarationRecord:
    """A valid declaration as the rules see it (decoded and validated as the worker does)."""
    return validate(declaration_dict(**overrides))


@pytest.fixture
def broker_url() -> str:
    """The real broker that scripts/run-tests starts; tests that need it fail loudly without it."""
    url = os.environ.get("TRADEWATCH_TEST_BROKER")
    if not url:
        pytest.fail("TRADEWATCH_TEST_BROKER is not set: run the suite with `make test`")
    return url


@pytest.fixture
def unique_name() -> str:
    """A fresh prefix for topics and consumer groups, so tests never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}"
