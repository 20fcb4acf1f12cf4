"""Stopping the worker at once when going on would lose data or hide that it is stuck.

The worker is built to be killed at any moment (every reliability test kills it with SIGKILL):
a restart replays from the last committed offsets and loses nothing. So when a batch's outputs
could not be delivered, or the watchdog finds a partition stuck, the safest thing is to stop
hard, with one line saying why and a non-zero exit code, and let the orchestrator restart it.
"""

import logging
import os
import sys

log = logging.getLogger("tradewatch")

EXIT_FAILSTOP = 70  # EX_SOFTWARE


def fail_stop(reason: str) -> None:
    """Log one line and exit the process with EXIT_FAILSTOP, skipping every shutdown step
    (a graceful stop would commit offsets)."""
    log.critical("fail-stop: %s", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_FAILSTOP)
