"""Per-stage cost of the core, in microseconds per declaration, against each stage's budget.

    .venv/bin/python benchmarks/bench_stages.py [--count 100000] [--seed 1]

On a generated feed (`tradewatch generate`, 60 days), in batches of 1,000 as the worker takes
them from a fetch:
- decode + validate: bytes to a DeclarationRecord (orjson, duplicate keys, field checks);
- rules: the whole declaration catalogue on decoded declarations (its goods-text cache warm, as a
  live feed keeps it);
- observations: what each declaration contributes to its aggregation keys;
- window update: the window stage over each batch's frame (admission, buckets, every window
  rule), state in memory;
- state encode + decode: each key changed between two checkpoints (CHECKPOINT_BATCHES batches,
  about a second of a worker), encoded once and read back (what a checkpoint and a cache miss
  cost).
Prints a table with the budget beside each figure (issue 16) and the profile of the largest
stage; asserts nothing.

This machine's speed can move by 2x within an hour, so a change is measured against the code
before it in the same run, the two taken in turn and the best of each kept:

    .venv/bin/python benchmarks/bench_stages.py --compare 35ca647 [--rounds 3]

(the revision is checked out in a temporary git worktree; the feed is the same for both).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODE_ROOT = os.environ.get("TRADEWATCH_BENCH_CODE", str(ROOT))
"""Whose core is measured: this checkout's, or another's (--compare sets it)."""
sys.path.insert(0, CODE_ROOT)

from alerts.pipeline import Core, CoreOptions, MemoryStore, WindowStage  # noqa: E402
from alerts.state.formats import PARTY, WINDOW_STATE  # noqa: E402
from alerts.windows.observations import Frame, Observation, observations_for  # noqa: E402

try:  # rules declare their dimensions (registry); --compare may measure code from before
    from alerts.retro import party_observations
    from alerts.windows.observations import Declared
    from alerts.windows.registry import WINDOW_DIMENSIONS

    def declare(declaration: "DeclarationRecord", **where: Any) -> Any:
        """What screening reads a declaration as, once for the windows and the party index."""
        return Declared(declaration, **where)

    def observe(declared: Any) -> list[Observation]:
        return observations_for(declared, WINDOW_DIMENSIONS)

    def parties(declared: Any) -> list[Observation]:
        return party_observations(declared)
except ImportError:
    from alerts.windows.observations import party_observations  # type: ignore[attr-defined,no-redef]

    def declare(declaration: "DeclarationRecord", **where: Any) -> Any:
        return declaration, where

    def observe(declared: Any) -> list[Observation]:
        declaration, where = declared
        return observations_for(declaration, **where)  # type: ignore[call-arg,arg-type]

    def parties(declared: Any) -> list[Observation]:
        declaration, where = declared
        return party_observations(declaration, where["source_partition"], where["source_offset"])  # type: ignore[call-arg,arg-type]


from schemas.wire import DeclarationRecord, decode_declaration  # noqa: E402
from streams import heap  # noqa: E402

BUDGETS_US = {
    "decode + validate": 8.0,
    "rules": 10.0,
    "observations": 5.0,
    "window update": 15.0,
    "state encode + decode": 3.0,
    "party index": 5.0,
}
BATCH = 1000
CHECKPOINT_BATCHES = 8
"""Batches between two checkpoints: a worker screens about 8,000 declarations a second and
checkpoints every second (TRADEWATCH_CHECKPOINT_SECONDS)."""


def feed(count: int, seed: int) -> list[bytes]:
    out = Path(tempfile.mkdtemp(prefix="tradewatch-stages-")) / "feed.jsonl"
    command = [sys.executable, "-m", "streams", "generate", "--out", str(out)]
    command += ["--count", str(count), "--days", "60", "--seed", str(seed)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return out.read_bytes().splitlines()


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the window update")
    parser.add_argument("--compare", metavar="REV", help="measure against this git revision too")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side with --compare")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return

    lines = feed(args.count, args.seed)
    count = len(lines)
    core = Core.build(CoreOptions())
    heap.settle()  # as the worker and backtest do
    screener = core.screener
    catalogue = core.catalogue
    [lines[n : n + BATCH] for n in range(0, count, BATCH)]

    seconds: dict[str, float] = {}
    decoded: list[DeclarationRecord] = []
    seconds["decode + validate"] = timed(
        lambda: decoded.extend(
            d for r in lines if isinstance(d := decode_declaration(r, 1 << 20), DeclarationRecord)
        )
    )
    engine = screener.engine
    assessed = [engine.assess(d) for d in decoded[:20_000]]  # warm the goods-text cache
    seconds["rules"] = timed(lambda: [engine.assess(d) for d in decoded])
    watched = [
        catalogue.on_risky_route(d) and bool(catalogue.controls.controls(facts))
        for d, (_, facts) in zip(decoded, [engine.assess(d) for d in decoded], strict=True)
    ]
    del assessed
    declared: list[Any] = []
    observed: list[list[Observation]] = []

    def observations() -> None:
        for n, (d, w) in enumerate(zip(decoded, watched, strict=True)):
            declared.append(declare(d, watched=w, fx=core.fx, source_partition=0, source_offset=n))
            observed.append(observe(declared[-1]))

    seconds["observations"] = timed(observations)
    frames = [
        Frame(group[0][0].event_time_ms, [o for obs in group for o in obs])
        for group in (observed[n : n + BATCH] for n in range(0, len(observed), BATCH))
    ]
    stage = WindowStage(core.windows)
    store = MemoryStore(core.windows)
    changed_per_frame: list[list[bytes]] = []

    def windows() -> None:
        for frame in frames:
            stage.apply(frame, 0, store)
            changed_per_frame.append(list(frame.by_key()))  # type: ignore[arg-type]

    profile = cProfile.Profile() if args.profile else None
    if profile is not None:
        profile.enable()
    seconds["window update"] = timed(windows)
    if profile is not None:
        profile.disable()

    per_checkpoint = [
        {k for keys in changed_per_frame[n : n + CHECKPOINT_BATCHES] for k in keys}
        for n in range(0, len(changed_per_frame), CHECKPOINT_BATCHES)
    ]
    states = [store.entries[k.encode()].state for keys in per_checkpoint for k in keys]  # type: ignore[attr-defined]

    def round_trips() -> None:
        # One at a time, each dropped once read back, as a worker's are: a list of every one
        # read back would charge this stage the collector's walks over tens of megabytes of
        # states no worker holds (it tripled the figure).
        for state in states:
            WINDOW_STATE.decode(WINDOW_STATE.encode(state))

    seconds["state encode + decode"] = timed(round_trips)

    # The party index (alerts/retro.py): each declaration's parties, applied and written once
    # per checkpoint per changed party, as the window stage does.
    party_store = MemoryStore(core.windows)
    party_stage = WindowStage(core.windows)

    def party_index() -> None:
        changed: set[bytes] = set()
        for number in range(0, len(decoded), BATCH):
            found = [o for d in declared[number : number + BATCH] for o in parties(d)]
            party_stage.apply(Frame(found[0].event_time_ms, found), 0, party_store)
            changed.update(o.table_key.encode() for o in found)
            if (number // BATCH + 1) % CHECKPOINT_BATCHES == 0:
                [PARTY.encode(party_store.parties[key]) for key in changed]
                changed.clear()

    seconds["party index"] = timed(party_index)

    if args.json:
        print(json.dumps({name: spent / count * 1e6 for name, spent in seconds.items()}))
        return
    print(f"declarations: {count} ({len(decoded)} valid), batches of {BATCH}; "
          f"keys {len(store.entries)}; state writes {len(states)} "
          f"({len(states) / count:.2f} per declaration)")  # fmt: skip
    print(f"{'stage':<26}{'µs/declaration':>16}{'budget':>10}  met")
    total = 0.0
    for stage_name, spent in seconds.items():
        micros = spent / count * 1e6
        total += micros
        budget = BUDGETS_US[stage_name]
        print(
            f"{stage_name:<26}{micros:>16.2f}{budget:>10.1f}  {'yes' if micros <= budget else 'NO'}"
        )
    print(f"{'all stages':<26}{total:>16.2f}{sum(BUDGETS_US.values()):>10.1f}  "
          f"{'yes' if total <= sum(BUDGETS_US.values()) else 'NO'}")  # fmt: skip
    print(f"(= {1e6 / total:,.0f} declarations/s for the core alone, one process)")
    hits, misses = catalogue.lexicon.cache_info()
    print(f"goods-text cache: {hits / max(hits + misses, 1):.1%} hits")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())


def compare(args: argparse.Namespace) -> None:
    """The stages of this checkout and of `args.compare`, run in turn, best of each."""
    where = Path(tempfile.mkdtemp(prefix="tradewatch-compare-")) / "tree"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(where), args.compare], check=True,
                   capture_output=True)  # fmt: skip
    sides = {args.compare: str(where), "this checkout": str(ROOT)}
    best: dict[str, dict[str, float]] = {side: {} for side in sides}
    try:
        for round_number in range(args.rounds):
            for side, code in sides.items():
                command = [sys.executable, __file__, "--json", "--count", str(args.count)]
                command += ["--seed", str(args.seed)]
                env = os.environ | {"TRADEWATCH_BENCH_CODE": code}
                out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                for stage_name, micros in figures.items():
                    best[side][stage_name] = min(best[side].get(stage_name, micros), micros)
                print(f"round {round_number + 1}, {side}: window update "
                      f"{figures['window update']:.2f} µs", flush=True)  # fmt: skip
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(where)], check=False)
    old, new = best[args.compare], best["this checkout"]
    print(f"{'stage':<26}{args.compare[:12]:>14}{'this':>10}{'ratio':>8}{'budget':>8}")
    for stage_name, budget in BUDGETS_US.items():
        before, after = old.get(stage_name, float("nan")), new[stage_name]
        print(f"{stage_name:<26}{before:>14.2f}{after:>10.2f}{after / before:>8.2f}{budget:>8.1f}")


if __name__ == "__main__":
    main()
