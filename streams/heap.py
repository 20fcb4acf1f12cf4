"""The garbage collector, tuned for a process that holds much long-lived state.

Reference data, the goods-text cache and window states live as long as the process, and every
full collection walks all of them: with CPython's defaults (a collection per 700 allocations,
a full one every 100 of those) that was a quarter of a backtest's time. Cycles are rare here
(almost everything is freed by reference counting), so the collector runs less often, and what
start-up built is frozen out of its reach.
"""

import gc

THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Call once start-up has built its long-lived objects (rules, reference data)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
