"""The offline tools build the worker's core without loading the stream framework: a backtest
or a reference check should not pay for faust, aiokafka and mode at start, nor depend on them."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["streams.backtest", "streams.offline", "streams.cli"])
def test_the_offline_modules_do_not_load_faust(module: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in ('faust', 'mode') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} loads {result.stdout.strip()}"
