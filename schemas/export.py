"""Export the JSON Schema of each wire model into schemas/ for producers in other languages.

Run `python -m schemas.export` after changing a model; a test fails while the files are stale.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.alert import Alert
from schemas.case import Case
from schemas.declaration import Declaration
from schemas.feedback import Feedback

SCHEMA_DIR = Path(__file__).resolve().parent
EXPORTED: dict[str, type[BaseModel]] = {
    "declaration.schema.json": Declaration,
    "alert.schema.json": Alert,
    "case.schema.json": Case,
    "feedback.schema.json": Feedback,
}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a model as it is read from JSON."""
    schema = model.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render(model: type[BaseModel]) -> str:
    return json.dumps(schema_of(model), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    for filename, model in EXPORTED.items():
        (SCHEMA_DIR / filename).write_text(render(model), encoding="utf-8")
        print(f"wrote schemas/{filename}")


if __name__ == "__main__":
    main()
