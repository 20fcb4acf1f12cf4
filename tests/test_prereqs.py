"""`make install` says in one line what PyICU's build needs before pip starts
(scripts/check-prereqs), and says nothing when all of it is there."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts/check-prereqs"


def bare_path(tmp_path: Path, *programs: str) -> str:
    """A PATH holding only the programs named (and what the script itself runs)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3").symlink_to(Path(sys.executable).resolve())  # not a pyenv shim
    for program in ("bash", "env", *programs):
        found = shutil.which(program)
        assert found, program
        (folder / program).symlink_to(found)
    return str(folder)


def check(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_machine_without_the_icu_build_tools_is_told_in_one_line(tmp_path: Path) -> None:
    result = check(bare_path(tmp_path), "python3", str(tmp_path / "no-venv"))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("make: PyICU is compiled at install and needs ")
    for package in ("pkg-config", "libicu-dev", "g++"):
        assert package in line


def test_too_old_or_missing_python_is_said_first(tmp_path: Path) -> None:
    result = check(bare_path(tmp_path), "python2.7", str(tmp_path / "no-venv"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "make: python2.7 not found: tradewatch needs Python 3.11 or newer "
        "(apt-get install python3 python3-venv)"
    ]


def test_this_machine_has_what_the_build_needs() -> None:
    # The suite's own install just ran here, so the check must agree that nothing is missing.
    result = check(os.environ["PATH"], "python3", str(ROOT / ".venv"))
    assert (result.returncode, result.stderr) == (0, "")
