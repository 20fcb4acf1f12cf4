"""The root of every tradewatch exception; each package derives its own from it."""

from pydantic import ValidationError


class TradewatchError(Exception):
    """Base class of all errors raised by tradewatch on purpose."""


def first_problem(error: ValidationError) -> str:
    """The first problem of a validation error, in one line: 'field.path: message'."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
