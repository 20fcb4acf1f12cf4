"""Per-declaration cost of the window stage, and the size of window state per million keys.

    .venv/bin/python benchmarks/bench_windows.py [--count 100000] [--keys 1000000]

Cost is measured the way the window agent works: decode the observation, decode the key's state,
update and evaluate, encode the state again; summed over the observations of each declaration
(3 to 4), hopping fan-out included. Prints numbers; asserts none.
"""

import argparse
import gc
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from alerts.reference import ReferenceData
from alerts.windows.config import WindowConfig
from alerts.windows.engine import WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Observation, observations_for
from schemas.declaration import Declaration
from streams.window_store import WindowStore


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# (heading, usual unit value in USD, unit, controlled): unit values cluster per heading.
HEADINGS = [
    ("8471.30", 600, "PCE", False),
    ("8542.31", 3, "PCE", True),
    ("0901.11", 4, "KG", False),
    ("6203.42", 20, "PCE", False),
    ("8703.23", 22000, "PCE", False),
    ("9403.60", 150, "PCE", False),
    ("8517.13", 300, "PCE", False),
    ("4011.10", 60, "PCE", False),
    ("3004.90", 15, "KG", False),
    ("8482.10", 5, "PCE", True),
    ("7308.90", 2, "KG", False),
    ("9503.00", 8, "PCE", False),
]


def declarations(count: int, seed: int) -> list[tuple[Declaration, bool]]:
    """Declarations over 90 days of event time, with whether each is controlled goods."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    countries = ["DE", "FR", "CN", "TR", "KZ", "AE", "US", "RU", "IN", "PL", "IT", "JP"]
    out = []
    seconds = 90 * 86400 / count
    for n in range(count):
        origin, dispatch, destination = (rng.choice(countries) for _ in range(3))
        heading, unit_value, unit, controlled = rng.choice(HEADINGS)
        quantity = max(1, round(rng.lognormvariate(4, 1.2)))
        declaration = Declaration.model_validate(
            {
                "declaration_id": f"B-{n:08d}",
                "declared_at": (start + timedelta(seconds=n * seconds)).isoformat(),
                "direction": "import",
                "reporting_country": destination,
                "exporter": {"name": f"Exporter {rng.randint(1, 3000)} Ltd", "country": dispatch},
                "importer": {
                    "name": f"Importer {rng.randint(1, 20000)} LLC",
                    "country": destination,
                },
                "origin_country": origin,
                "dispatch_country": dispatch,
                "destination_country": destination,
                "hs_code": heading,
                "goods_description": "goods",
                "quantity": quantity,
                "quantity_unit": unit,
                "invoice_value": round(quantity * unit_value * rng.lognormvariate(0, 0.35), 2),
                "currency": "USD",
            }
        )
        out.append((declaration, controlled))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    reference = ReferenceData.load()
    fx = FxRates.from_reference(reference)
    engine = WindowEngine.build(reference, WindowConfig(), fx)
    feed = declarations(args.count, args.seed)

    started = time.perf_counter()
    encoded = [
        [
            o.encode()
            for o in observations_for(d, watched=c, fx=fx, source_partition=0, source_offset=i)
        ]
        for i, (d, c) in enumerate(feed)
    ]
    fan_out_us = (time.perf_counter() - started) / len(feed) * 1e6
    observations = sum(len(e) for e in encoded)

    runs: dict[bool, list[float]] = {False: [], True: []}
    for cached in (False, True, False, True, False, True):
        table: dict[bytes, bytes] = {}
        store = WindowStore(table, cached_keys=20_000 if cached else 0)
        alerts = 0
        started = time.perf_counter()
        for per_declaration in encoded:
            for raw in per_declaration:
                observation = Observation.decode(raw)
                key = observation.table_key.encode()
                outcome = engine.process(observation, store.get(key))
                store.put(key, outcome.state)
                alerts += len(outcome.findings)
        runs[cached].append((time.perf_counter() - started) / len(feed) * 1e6)
    keys = len(table)
    mean_state = statistics.mean(len(v) for v in table.values())

    # State held per million keys: a dict of encoded states, as faust's memory store keeps it.
    sample = list(table.items())
    del table, encoded
    gc.collect()
    before = rss_bytes()
    big: dict[bytes, bytes] = {}
    for n in range(args.keys):
        key, value = sample[n % len(sample)]
        big[key + b"#" + str(n).encode()] = bytes(value)
    held = rss_bytes() - before
    per_million = held / args.keys * 1_000_000

    print(
        f"declarations: {len(feed)}, observations: {observations} "
        f"({observations / len(feed):.2f} per declaration), alerts: {alerts}, keys: {keys}"
    )
    print(f"{'step':<60} {'value':>12}")
    print(f"{'observations per declaration (build + encode), µs':<60} {fan_out_us:>12.2f}")
    for cached, label in ((False, "decode every state"), (True, "decoded-state cache")):
        median_us = statistics.median(runs[cached])
        print(f"{f'window stage per declaration, {label}, µs':<60} {median_us:>12.2f}")
    print(f"{'mean encoded state per key, bytes':<60} {mean_state:>12.0f}")
    print(
        f"{'memory held per million keys (dict of encoded states), MB':<60} "
        f"{per_million / 1e6:>12.0f}"
    )


if __name__ == "__main__":
    main()
