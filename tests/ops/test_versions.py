"""compose runs the Prometheus and Alertmanager the tests run: their versions must be equal."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def installed_version(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is missing: run the suite with `make test`")
    output = subprocess.run(command, capture_output=True, text=True, timeout=30)
    match = re.search(r"version (\d+\.\d+\.\d+)", output.stdout + output.stderr)
    assert match, output
    return match.group(1)


@pytest.mark.parametrize(
    ("service", "command"),
    [
        ("prometheus", ["promtool", "--version"]),
        ("alertmanager", ["prometheus-alertmanager", "--version"]),
    ],
)
def test_compose_pins_the_version_the_tests_run(service: str, command: list[str]) -> None:
    tag = SERVICES[service]["image"].rsplit(":v", 1)[1]
    assert tag == installed_version(command)
