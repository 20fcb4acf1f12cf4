"""The Dockerfile's stages, built and tried without a Docker engine (scripts/check-image):
a Debian bookworm root stands in for the Python base image, and the image's user runs
`tradewatch --version`, imports PyICU and backtests the installed example."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(1200)
def may_mount(folder: Path) -> bool:
    point = folder / "probe"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(point)], capture_output=True).returncode:
        return False
    subprocess.run(["umount", str(point)], check=True)
    return True


def test_the_image_builds_from_the_dockerfile_and_runs(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip("needs root and debootstrap (scripts/run-tests installs it when root)")
    if not may_mount(tmp_path):
        pytest.skip("this machine does not allow mount (a container without the capability)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/check-image")],
        capture_output=True,
        text=True,
        timeout=1150,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for what in (
        "PyICU loads the ICU runtime",
        "a backtest of the installed example writes alerts",
        "no compiler in the runtime image",
    ):
        assert what in result.stdout
