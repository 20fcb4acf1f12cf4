"""Errors of the streams package."""

from pathlib import Path

from schemas.errors import TradewatchError


class StreamsError(TradewatchError):
    """Base class of errors raised by the Kafka wiring and the command line."""


class InputFileError(StreamsError):
    """A file given on the command line is missing or has a bad line."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class BrokerError(StreamsError):
    """The broker cannot be reached or refused what was asked of it."""


class BrokerUnreachable(BrokerError):
    """Nothing answered at the broker address in time: it may come up later."""
