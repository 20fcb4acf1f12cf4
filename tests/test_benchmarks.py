"""The stage benchmark still runs against the code as it is (a smoke run on a small feed: its
figures are printed, never judged here; tests do not time things)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_stage_benchmark_measures_every_stage_of_the_core() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_stages import BUDGETS_US
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_stages.py"), "--json", "--count", "1500"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == set(BUDGETS_US)
    assert all(micros > 0 for micros in figures.values())
