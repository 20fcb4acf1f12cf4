import json

import jsonschema
import pytest

from schemas.export import EXPORTED, SCHEMA_DIR, render
from tests.conftest import declaration_dict


@pytest.mark.parametrize("filename", sorted(EXPORTED))
def test_exported_schema_matches_model(filename: str) -> None:
    exported = (SCHEMA_DIR / filename).read_text(encoding="utf-8")
    assert exported == render(EXPORTED[filename]), (
        f"schemas/{filename} is stale: run `python -m schemas.export`"
    )


def test_exported_declaration_schema_validates_like_the_model() -> None:
    schema = json.loads((SCHEMA_DIR / "declaration.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(declaration_dict(hs_code="9303 20 10 00")))
    missing = declaration_dict()
    del missing["currency"]
    assert any("currency" in e.message for e in validator.iter_errors(missing))
    assert list(validator.iter_errors(declaration_dict(origin_country="CHN")))
