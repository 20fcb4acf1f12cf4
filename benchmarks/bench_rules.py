"""Per-declaration cost of the rule catalogue, on a realistic mix. Prints numbers; asserts none.

    .venv/bin/python benchmarks/bench_rules.py [--count 50000] [--seed 7]

The mix: ordinary trade in many chapters from a pool of recurring parties (so the party cache
sees the hit rate a live feed gives), with a few percent of each evasion shape, in English,
Russian and Chinese.
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from alerts.building import RuleEngine
from alerts.reference import ReferenceData
from alerts.rules import build_catalogue
from alerts.rules.base import DeclarationFacts
from schemas.wire import DeclarationRecord, decode_declaration

ORDINARY = [
    ("8471.30", "Notebook computers 14 inch, 16GB RAM"),
    ("0901.11", "Green coffee beans, arabica"),
    ("6203.42", "Men's trousers of cotton, denim"),
    ("8703.23", "Passenger cars, petrol, 1.6 l"),
    ("4011.10", "New pneumatic radial tyres 205/55 R16"),
    ("3004.90", "Medicaments in measured doses, tablets"),
    ("9403.60", "Wooden office furniture, desks"),
    ("8516.60", "Электрические плиты бытовые"),
    ("6110.20", "Свитеры трикотажные хлопковые"),
    ("8418.10", "冰箱 双门 家用"),
    ("9503.00", "Toy building blocks, plastic, for children"),
    ("8517.13", "Smartphones 128GB"),
    ("7308.90", "Steel structures for warehouses"),
]
EVASION = [
    ("9303.20", "Карабины охотничьи CQ-A калибр 5,56 мм"),
    ("6307.90", "Бронежилеты класс защиты Бр5"),
    ("8473.30", "飞控 F405 无人机用"),
    ("8542.31", "Microcontrollers STM32F405"),
    ("9005.10", "Бинокль охотничий, для нужд СВО"),
]
COUNTRIES = ["DE", "FR", "IT", "CN", "TR", "KZ", "AE", "US", "JP", "RU", "BR", "IN", "PL"]


def synthetic(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    exporters = [f"Exporter {i} Trading Co., Ltd." for i in range(400)]
    importers = [f"ООО Импортер {i}" for i in range(400)] + [
        f"Importer {i} GmbH" for i in range(400)
    ]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for n in range(count):
        hs, text = rng.choice(EVASION) if rng.random() < 0.05 else rng.choice(ORDINARY)
        origin, dispatch, destination = (rng.choice(COUNTRIES) for _ in range(3))
        document: dict[str, Any] = {
            "declaration_id": f"B-{n:08d}",
            "declared_at": (start + timedelta(seconds=n)).isoformat(),
            "direction": "import",
            "reporting_country": destination,
            "exporter": {"name": rng.choice(exporters), "country": dispatch},
            "importer": {"name": rng.choice(importers), "country": destination},
            "origin_country": origin,
            "dispatch_country": dispatch,
            "destination_country": destination,
            "hs_code": hs,
            "goods_description": text,
            "quantity": rng.randint(1, 5000),
            "quantity_unit": "PCE",
            "invoice_value": round(rng.uniform(100, 500000), 2),
            "currency": "USD",
        }
        out.append(orjson.dumps(document))
    return out


def per_item_us(work: Callable[[], object], items: int, repeats: int = 5) -> tuple[float, float]:
    """Median and best of `repeats` runs, in microseconds per item."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        runs.append((time.perf_counter() - started) / items * 1e6)
    return statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    reference = ReferenceData.load()
    catalogue = build_catalogue(reference)
    load_ms = (time.perf_counter() - started) * 1000
    engine = RuleEngine(catalogue, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    raw = synthetic(args.count, args.seed)
    declarations = [
        d for r in raw if isinstance(d := decode_declaration(r, 1 << 20), DeclarationRecord)
    ]
    facts = [DeclarationFacts.of(d, catalogue.lexicon) for d in declarations]
    alerts = sum(len(engine.screen(d)) for d in declarations)

    rows: list[tuple[str, float, float]] = []
    rows.append(
        (
            "decode + validate (orjson, field checks)",
            *per_item_us(lambda: [decode_declaration(r, 1 << 20) for r in raw], len(raw)),
        )
    )
    rows.append(
        (
            "facts: normalise + one automaton pass",
            *per_item_us(
                lambda: [DeclarationFacts.of(d, catalogue.lexicon) for d in declarations],
                len(declarations),
            ),
        )
    )
    for rule in catalogue.rules:
        rows.append(
            (
                f"  rule {rule.rule_id}",
                *per_item_us(lambda rule=rule: [rule.evaluate(f) for f in facts], len(facts)),
            )
        )
    rows.append(
        (
            "catalogue: facts + every rule + alert building",
            *per_item_us(lambda: [engine.screen(d) for d in declarations], len(declarations)),
        )
    )
    rows.append(
        (
            "whole screen: decode + catalogue",
            *per_item_us(
                lambda: [
                    engine.screen(o)
                    for r in raw
                    if isinstance(o := decode_declaration(r, 1 << 20), DeclarationRecord)
                ],
                len(raw),
            ),
        )
    )

    print(
        f"declarations: {args.count} (seed {args.seed}); alerts raised: {alerts} "
        f"({alerts / args.count:.1%}); reference load + catalogue build: {load_ms:.0f} ms; "
        f"lexicon terms: {catalogue.lexicon.size}"
    )
    print(f"{'step':<52} {'median µs':>10} {'best µs':>9}")
    for name, median, best in rows:
        print(f"{name:<52} {median:>10.2f} {best:>9.2f}")


if __name__ == "__main__":
    main()
