"""A file a loop touches while it turns: what an orchestrator's health check can look at.

The demo feed and the Alertmanager sink serve no HTTP; a health check that only asks whether
process 1 exists passes while either is stuck. With `TRADEWATCH_HEARTBEAT_FILE` set, each touches
that file every few seconds from its main loop (the sink only between deliveries, so a sink that
cannot reach Alertmanager stops beating), and `tradewatch heartbeat --within 60` exits non-zero
once the file is older than that.

    beat = Heartbeat(settings.heartbeat_file)
    while running:
        beat()
"""

import os
import time
from collections.abc import Callable
from pathlib import Path

EVERY_S = 5.0


class Heartbeat:
    def __init__(
        self, path: Path | None, every_s: float = EVERY_S, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.every_s = every_s
        self.clock = clock
        self._last = float("-inf")

    def __call__(self) -> None:
        if self.path is None:
            return
        now = self.clock()
        if now - self._last < self.every_s:
            return
        self._last = now
        self.path.touch()
        os.utime(self.path, (now, now))


def age_s(path: Path, clock: Callable[[], float] = time.time) -> float | None:
    """Seconds since the last beat, or None if there was none."""
    try:
        return clock() - path.stat().st_mtime
    except FileNotFoundError:
        return None
