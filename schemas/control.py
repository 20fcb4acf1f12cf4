"""Records of the control topics (decisions, reference manifests), from untrusted bytes.

A control record changes what every worker screens, so it is read more strictly than a
declaration, and never by a parser that could keep the second of two equal keys: the size is
capped before parsing, a key given twice is refused, and the model then validates every field
(times with their UTC offset). Every failure is one `InvalidControlRecord` with a reason code
for the metric and one readable line, so that a reader refuses the record and goes on.

    feedback = decode_control(raw, Feedback, max_bytes=MAX_FEEDBACK_BYTES)
"""

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.errors import TradewatchError, first_problem
from schemas.wire import duplicate_key

Model = TypeVar("Model", bound=BaseModel)


class InvalidControlRecord(TradewatchError):
    """A control record that cannot be taken: `reason` for the metric, the message for a log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_control(raw: bytes | None, model: type[Model], max_bytes: int) -> Model:
    """The record as `model`, or InvalidControlRecord saying why not."""
    if not raw:
        raise InvalidControlRecord("empty", "empty record")
    if len(raw) > max_bytes:
        raise InvalidControlRecord(
            "too_large", f"record of {len(raw)} bytes exceeds the limit of {max_bytes}"
        )
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidControlRecord("not_json", f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidControlRecord("not_object", "a control record must be a JSON object")
    try:
        duplicate = duplicate_key(raw, document)
    except (TypeError, RecursionError) as exc:
        raise InvalidControlRecord("not_json", "nested too deeply") from exc
    if duplicate is not None:
        raise InvalidControlRecord(
            "duplicate_key", f"key {duplicate!r} appears more than once in one object"
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidControlRecord("invalid", first_problem(exc)) from exc
