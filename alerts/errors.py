"""Errors of the alerts package."""

from pathlib import Path

from schemas.errors import TradewatchError


class AlertsError(TradewatchError):
    """Base class of errors raised by the rule core."""


class ReferenceDataError(AlertsError):
    """A reference data file is missing or broken; start-up must stop."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class FrameDecodeError(AlertsError):
    """Bytes on the observations topic are not a frame this version can read."""


class StateDecodeError(AlertsError):
    """Stored window state is not in a format this version can read."""
