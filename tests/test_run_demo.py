"""`make run` (scripts/run-demo) refuses a port another process holds (the worker's metrics, the
case desk's), before it starts anything: otherwise that process answers the readiness probe
while the demo's worker dies, or the desk never comes up."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("variable", "what"),
    [
        ("TRADEWATCH_METRICS_PORT", "the worker's metrics"),
        ("TRADEWATCH_DESK_PORT", "the case desk"),
    ],
)
def test_a_taken_port_stops_make_run_in_one_line_before_anything_starts(
    tmp_path: Path, variable: str, what: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
        env |= {
            "TRADEWATCH_METRICS_PORT": str(free_port()),
            "TRADEWATCH_DESK_PORT": str(free_port()),
            variable: str(port),
            "TRADEWATCH_KAFKA_HOME": str(tmp_path / "kafka"),  # a broker started would be here
            "TRADEWATCH_KAFKA_PORT": "1",
        }
        result = subprocess.run(
            [str(ROOT / "scripts" / "run-demo")],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"run-demo: port {port} ({what}) is taken by another process; stop it or set {variable}"
    ]
    assert not (tmp_path / "kafka").exists()
