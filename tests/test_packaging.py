"""What we ship is what we test: the wheel, installed with no source tree in sight, runs.

The suite otherwise runs from an editable install, which finds every file in the source tree:
a file the wheel leaves out (the reference data once was) breaks only real installs. Here the
wheel is built from the sdist, installed into a new virtual environment (the dependencies come
from the suite's own environment, read as a plain folder: its editable link to this tree is not
seen), and run from an empty folder: `tradewatch backtest` on the shipped example, and
`tradewatch worker` against the test broker until it has screened a declaration.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    free_port,
    metric,
    produce,
    scrape,
    worker_env,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DATA = [
    "alerts/reference/military_firearms.jsonl",
    "alerts/reference/watchlist_default.jsonl",
    "schemas/declaration.schema.json",
    "tools/demo/declarations.jsonl",
    "tools/examples/csv-mapping.json",
    "tools/examples/vendor-export.csv",
    "streams/py.typed",
    "tools/desk/templates/case.html",
    "tools/desk/static/desk.css",
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel (built from the sdist) installed; returns its `tradewatch`."""
    work = tmp_path_factory.mktemp("packaging")
    # The files a clean clone has (as they are now): build metadata left in this tree by the
    # editable install would otherwise hide a file the packaging rules leave out.
    tree = work / "tree"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = tree / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    dist = work / "dist"
    build = [sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(tree)]
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    [sdist] = dist.glob("tradewatch-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for shipped in SHIPPED_DATA:
        assert any(n.endswith(shipped) for n in names), f"sdist lacks {shipped}"
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(sdist)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = wheels.glob("tradewatch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    for shipped in SHIPPED_DATA:
        assert shipped in names, f"the wheel lacks {shipped}"
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The dependencies: the suite's own site-packages, as a plain path (its .pth files, among
    # them the editable link to this tree, are only read for the venv's own site folder).
    own = Path(sysconfig.get_paths()["purelib"])
    new = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (new / "zz_dependencies.pth").write_text(f"{own}\n", encoding="utf-8")
    return venv / "bin" / "tradewatch"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "PYTHON"))}
    env.update(extra)
    return env


def test_the_installed_package_is_not_this_tree(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(installed.parent / "python"), "-c", "import alerts, streams; print(alerts.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        check=True,
    )
    assert str(ROOT) not in result.stdout and "site-packages" in result.stdout


def test_the_installed_backtest_runs_the_shipped_example(installed: Path, tmp_path: Path) -> None:
    # The example the help points at is the installed one, not this tree's.
    help_text = subprocess.run(
        [str(installed), "backtest", "--help"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True,
    ).stdout  # fmt: skip
    [mapping] = [w.strip("()") for w in help_text.split() if w.endswith("csv-mapping.json)")]
    examples = Path(mapping).parent
    assert str(ROOT) not in str(examples) and (examples / "vendor-export.csv").is_file()
    result = subprocess.run(
        [str(installed), "backtest", str(examples / "vendor-export.csv"), "--mapping",
         str(examples / "csv-mapping.json"), "--quiet"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "category_mismatch" in result.stdout  # the example's rifles alert


@pytest.mark.broker
def test_the_installed_worker_screens_a_declaration(
    installed: Path, broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = clean_env(**worker_env(broker_url, unique_name, tmp_path / "state"))
    env["TRADEWATCH_METRICS_PORT"] = str(free_port())
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(installed), "worker"], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        worker = WorkerProcess(env, log)
        worker.process = process
        worker._wait_for_metrics(timeout_s=60)
        produce(
            broker_url,
            env["TRADEWATCH_TOPIC_DECLARATIONS"],
            [(None, orjson.dumps(declaration_dict()))],
        )
        deadline = time.monotonic() + 60
        while metric(scrape(worker.metrics_url), "tradewatch_declarations_total", outcome="ok") < 1:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=30)
