"""A watchlist at real size: 500,000 names and aliases. Prints numbers; asserts none.

    .venv/bin/python benchmarks/bench_watchlist_scale.py [--names 500000] [--seed 7]

No export of that size is at hand here (the network reaches package registries only), so the
list is generated: each entry's words are drawn from the real names in benchmarks/eval/ (OFAC
SDN entities and their aliases, SEC EDGAR company names), with legal forms in several
languages and 0-3 aliases (the words reordered, a legal form dropped or changed, a word
added). Measured: reading and validating the file; building the party matcher at a first start
(every name analysed) and at a restart (a fresh process that finds the analysis kept in its
data folder); the worker's RSS before and after; a new version's build while the worker runs
(the core again, 1 % of the entries changed: only their names are analysed); and the cost per
declaration of the party rule and of the whole catalogue on bench_rules' realistic mix.
"""

import argparse
import csv
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.building import RuleEngine
from alerts.pipeline import Core, CoreOptions
from alerts.reference import ReferenceData, load_file
from alerts.rules import Catalogue, CatalogueOptions, build_catalogue
from alerts.rules.base import DeclarationFacts
from benchmarks.bench_rules import per_item_us, synthetic
from schemas.wire import DeclarationRecord, decode_declaration
from streams import heap

EVAL = Path(__file__).resolve().parent / "eval"
FORMS = ["LLC", "Ltd", "Co., Ltd.", "JSC", "OOO", "AO", "GmbH", "S.A.", "Limited", "Inc.", "PJSC",
         "Trading Co.", "Group", "Holding", "有限公司", "ООО"]  # fmt: skip
TARGETS = {"load": 10.0, "catalogue": 10.0}
"""Seconds to read and build at a restart ("seconds, not minutes"); µs a declaration for the
catalogue (its budget in README's stage table). The list may add at most the worker's own RSS
("must not multiply the worker's memory")."""


def rss_mb() -> tuple[float, float]:
    """The process's resident set now, and at its peak, in MB."""
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def words() -> list[str]:
    pool: set[str] = set()
    with (EVAL / "ofac_sdn_entities.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for text in [row["name"], *row["aliases"].split(";")]:
                pool.update(w.strip(".,()\"'") for w in text.split())
    with (EVAL / "sec_edgar_companies.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            pool.update(w.strip(".,()\"'") for w in row["name"].split())
    return sorted(w for w in pool if len(w) >= 3 and w.isalpha())


def generate(path: Path, names: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    pool = words()
    header = {
        "kind": "watchlist",
        "name": "watchlist_scale",
        "version": "1",
        "source": "generated from the word pools of benchmarks/eval (bench_watchlist_scale.py)",
    }
    entries = written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        while written < names:
            core = [rng.choice(pool).title() for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))]
            name = " ".join([*core, rng.choice(FORMS)])
            aliases = []
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                variant = core[:]
                rng.shuffle(variant)
                if rng.random() < 0.5:
                    variant.append(rng.choice(pool).title())
                aliases.append(
                    " ".join([*variant, rng.choice(FORMS)])
                    if rng.random() < 0.5
                    else " ".join(variant)
                )
            aliases = sorted(set(aliases) - {name})
            record = {"id": f"scale-{entries}", "name": name, "aliases": aliases,
                      "country": rng.choice(["RU", "CN", "IR", "BY", "KP", "SY", "TR", "AE"]),
                      "program": "generated"}  # fmt: skip
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            entries += 1
            written += 1 + len(aliases)
    return entries, written


def revise(path: Path, out: Path, share: float, seed: int) -> int:
    """A new version of the list: a share of its entries gain an alias; returns how many."""
    rng = random.Random(seed + 1)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["version"] = "2"
    changed = 0
    with out.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(header) + "\n")
        for line in lines[1:]:
            record = json.loads(line)
            if rng.random() < share:
                record["aliases"] = sorted({*record["aliases"], record["name"] + " Trading"})
                changed += 1
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return changed


def restart(path: Path, kept: Path) -> float:
    """Seconds to load the list in a fresh process that finds its analysis kept."""
    code = (
        "import sys, time; started = time.perf_counter(); "
        "from alerts.reference import ReferenceData, load_file; "
        "from alerts.rules import CatalogueOptions, build_catalogue; "
        "from pathlib import Path; "
        "reference = ReferenceData.load().replaced(load_file(Path(sys.argv[1]))); "
        "imported = time.perf_counter(); "
        "build_catalogue(reference, CatalogueOptions(name_analysis_dir=Path(sys.argv[2]))); "
        "print(time.perf_counter() - imported + (imported - started))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), str(kept)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"restart failed: {result.stderr.strip().splitlines()[-1]}")
    return float(result.stdout.strip())


def measure(
    label: str, catalogue: Catalogue, reference: ReferenceData, declarations: list[Any]
) -> tuple[str, float, float, float]:
    """µs a declaration: the party rule (cache warm), the same cold, the whole catalogue."""
    facts = [DeclarationFacts.of(d, catalogue.lexicon) for d in declarations]
    party = next(r for r in catalogue.rules if r.rule_id.startswith("restricted_party"))
    engine = RuleEngine(catalogue, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    warm_us, _ = per_item_us(lambda: [party.evaluate(f) for f in facts], len(facts))
    cold = type(party).build(reference, frozenset({"RU", "BY"}))  # type: ignore[attr-defined]
    cold_us, _ = per_item_us(lambda: [cold.evaluate(f) for f in facts], len(facts), repeats=1)
    whole_us, _ = per_item_us(lambda: [engine.screen(d) for d in declarations], len(declarations))
    return label, warm_us, cold_us, whole_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=20_000, help="declarations to screen")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="tradewatch-scale-"))
    path = folder / "watchlist_scale.jsonl"
    entries, names = generate(path, args.names, args.seed)
    size_mb = path.stat().st_size / 1e6

    raw = synthetic(args.count, args.seed)
    declarations = [
        d for r in raw if isinstance(d := decode_declaration(r, 1 << 20), DeclarationRecord)
    ]
    shipped = ReferenceData.load()
    small = build_catalogue(shipped)
    kept = folder / "listed-names"
    options = CatalogueOptions(name_analysis_dir=kept)
    gc.collect()
    before, _ = rss_mb()

    # A first start: no kept analysis, every name analysed.
    started = time.perf_counter()
    loaded = load_file(path)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = shipped.replaced(loaded)
    catalogue = build_catalogue(reference, options)
    build_s = time.perf_counter() - started
    gc.collect()
    after, peak = rss_mb()

    # A new version while the worker runs: 1 % of the entries changed.
    changed = folder / "watchlist_scale_2.jsonl"
    changed_entries = revise(path, changed, share=0.01, seed=args.seed)
    started = time.perf_counter()
    Core.build(CoreOptions(catalogue=options), reference=shipped.replaced(load_file(changed)))
    swap_build_s = time.perf_counter() - started

    # A restart on the same list: the kept analysis is read, nothing is analysed again.
    restart_s = restart(path, kept)

    heap.settle()  # the collector as the worker tunes it, once its core is built
    rows = [
        measure("shipped list (15 entries)", small, shipped, declarations),
        measure(f"{names:,} names", catalogue, reference, declarations),
    ]

    print(
        f"watchlist: {entries:,} entries, {names:,} names and aliases, {size_mb:.0f} MB of "
        f"JSON lines (generated, seed {args.seed})"
    )
    print()
    print(f"{'measure':<58}{'value':>12}{'target':>12}")
    print(f"{'read + validate the file':<58}{read_s:>11.1f}s")
    print(f"{'build the party matcher (whole catalogue), first start':<58}{build_s:>11.1f}s")
    print(f"{'load total, first start (every name analysed)':<58}{read_s + build_s:>11.1f}s")
    print(
        f"{'load total, restart (analysis kept in data_dir)':<58}{restart_s:>11.1f}s"
        f"{TARGETS['load']:>11.0f}s"
    )
    label = f"a new version ({changed_entries:,} entries changed): core built"
    print(f"{label:<58}{swap_build_s:>11.1f}s")
    print(f"{'RSS before the list':<58}{before:>10.0f}MB")
    print(f"{'RSS with it (peak while loading)':<58}{after:>10.0f}MB ({peak:.0f})")
    print(f"{'RSS added by the list':<58}{after - before:>10.0f}MB{before:>10.0f}MB")
    print()
    print(
        f"{'µs per declaration':<34}{'party rule':>12}{'(cold cache)':>14}"
        f"{'catalogue':>12}{'target':>10}"
    )
    for label, party_us, cold_us, whole_us in rows:
        print(
            f"{label:<34}{party_us:>12.1f}{cold_us:>14.1f}{whole_us:>12.1f}{TARGETS['catalogue']:>10.0f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
