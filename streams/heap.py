"""The garbage collector, tuned for a process that holds much long-lived state.

Reference data, the goods-text cache and window states live as long as the process, and every
full collection walks all of them: with CPython's defaults (a collection per 700 allocations,
a full one every 100 of those) that was a quarter of a backtest's time. Cycles are rare here
(almost everything is freed by reference counting), so the collector runs less often, and what
start-up built is frozen out of its reach.
"""

import gc

from alerts.memory import release_free_memory

THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Call once start-up has built its long-lived objects (rules, reference data)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    release_free_memory()  # what building the core made and dropped


def resettle() -> None:
    """Call when start-up's long-lived objects are replaced (a new core, on a list update).

    The old core holds reference cycles, and frozen objects are out of the collector's reach:
    without this, every live update would keep the core it replaced (at 500,000 names, some
    150 MB). A full collection frees it; then what is in use now is frozen in its place.
    """
    if not gc.get_freeze_count():
        return  # not settled (a test's process): the collector reaches everything already
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    release_free_memory()
