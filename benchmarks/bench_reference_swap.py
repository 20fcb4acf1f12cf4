"""The pause a live reference update adds to screening. Prints numbers; asserts none.

    .venv/bin/python benchmarks/bench_reference_swap.py [--names 100000] [--batches 400]

Screening runs on the main thread, a batch of 1,000 declarations at a time, as the worker's
screening agent does, while the worker's own reference reader (streams/reference_reader.py)
takes a new watchlist version (generated as in bench_watchlist_scale.py) from records as the
topic would give them, validates it and builds the core again in its thread, then hands it
over, and frees the core it replaced (a full collection, as the worker's use_core does).
Measured: each batch's screening time before, during and after the build; the longest batch
while building against the usual one (the pause screening sees); and the swap itself.
"""

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from alerts.pipeline import Core, CoreOptions
from alerts.retro import ListChange
from benchmarks.bench_rules import synthetic
from benchmarks.bench_watchlist_scale import generate
from streams import heap
from streams.metrics import Metrics
from streams.reference_reader import ReferenceReader
from streams.reference_topic import encode_file
from streams.settings import Settings

TARGET_PAUSE_S = 1.0


class Record:
    def __init__(self, key: bytes, value: bytes) -> None:
        self.key, self.value = key, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=400)
    args = parser.parse_args()

    path = Path(tempfile.mkdtemp(prefix="tradewatch-swap-")) / "watchlist_scale.jsonl"
    generate(path, args.names, 7)
    records = [
        Record(k, v)
        for k, v in encode_file(
            "watchlist", "watchlist_scale", "1", path.read_bytes(), datetime.now(UTC)
        )
    ]
    core = Core.build(CoreOptions())
    heap.settle()  # as the worker does once start-up has built its core
    in_use = {"core": core, "swapped_at": 0.0}

    def use_core(new: Core, changes: list[ListChange]) -> None:
        started = time.perf_counter()
        in_use["core"] = new  # what the worker's use_core does on the loop, between batches
        in_use["swapped_at"] = time.perf_counter()
        in_use["swap_s"] = in_use["swapped_at"] - started
        heap.resettle()  # as the worker's use_core does: frees the core replaced
        in_use["resettle_s"] = time.perf_counter() - in_use["swapped_at"]

    def failed(reason: str) -> None:
        raise SystemExit(f"the reader failed: {reason}")

    reader = ReferenceReader(
        Settings(), CoreOptions(), core, Metrics(CollectorRegistry()), use_core, failed
    )
    reader.caught_up.set()  # a running worker's reader: the start-up catch-up is behind it
    raw = synthetic(1000, 7)
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    build: dict[str, float] = {}

    def take() -> None:
        build["start"] = time.perf_counter()
        reader._take(records)  # type: ignore[arg-type]
        build["end"] = time.perf_counter()

    thread = threading.Thread(target=take)
    for number in range(args.batches):
        if number == args.batches // 4:
            thread.start()
        started = time.perf_counter()
        screen = in_use["core"].screener.screen  # type: ignore[union-attr]
        for offset, value in enumerate(raw):
            screen(value, 0, offset)
        took = time.perf_counter() - started
        phase = "before" if not thread.is_alive() and "start" not in build else "during"
        if "end" in build and started > build["end"]:
            phase = "after"
        phases[phase].append(took)
    thread.join()
    if in_use["core"] is core:
        raise SystemExit("the new version was not swapped in (see the log line above)")

    usual = statistics.median(phases["before"])
    longest = max(phases["during"] or [usual])
    print(
        f"new version: {args.names:,} names; built in {build['end'] - build['start']:.1f} s "
        f"beside screening; swap {in_use.get('swap_s', 0) * 1e6:.1f} µs, then "
        f"{in_use.get('resettle_s', 0):.2f} s freeing the old core"
    )
    print()
    print(f"{'screening a batch of 1,000':<44}{'p50 ms':>9}{'max ms':>9}{'batches':>9}")
    for name, times in phases.items():
        if times:
            print(
                f"{name + ' the build':<44}{statistics.median(times) * 1000:>9.1f}"
                f"{max(times) * 1000:>9.1f}{len(times):>9}"
            )
    pause = longest - usual
    print()
    label = "longest pause screening saw (max - usual)"
    print(f"{label:<44}{pause:>8.3f}s  target <= {TARGET_PAUSE_S:.0f} s")
    print(f"{'batches screened on the new version':<44}{len(phases['after']):>9}")


if __name__ == "__main__":
    main()
