"""The offline tools build the worker's core without loading the stream framework: a backtest
or a reference check should not pay for faust, aiokafka and mode at start, nor depend on them."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["tools.backtest", "streams.offline", "streams.cli"])
def test_the_offline_modules_do_not_load_faust(module: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in ('faust', 'mode') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} loads {result.stdout.strip()}"


def test_the_worker_package_needs_nothing_from_the_tools() -> None:
    """`streams/` is what runs in production; only the command line reaches into `tools/`, and
    only when a tool's command is run."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "streams"
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            # The command line may import a tool inside the command's branch, nowhere else.
            allowed = path.name == "cli.py" and node.col_offset > 0
            found += [
                f"{path.relative_to(root.parent)}:{node.lineno} {name}"
                for name in names
                if (name == "tools" or name.startswith("tools.")) and not allowed
            ]
    assert not found, found
    assert (root.parent / "tools" / "desk").is_dir()
