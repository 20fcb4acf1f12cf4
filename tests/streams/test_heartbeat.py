"""The heartbeat file of the demo feed and the Alertmanager sink (streams/heartbeat.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from streams.heartbeat import Heartbeat, age_s
from tools.demo import run_demo_feed


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_beat_touches_the_file_at_most_every_few_seconds(tmp_path: Path) -> None:
    path, clock = tmp_path / "heartbeat", Clock()
    beat = Heartbeat(path, every_s=5, clock=clock)
    beat()
    assert age_s(path, clock) == 0
    clock.now += 3
    beat()  # too soon: not written again
    assert age_s(path, clock) == 3
    clock.now += 3
    beat()
    assert age_s(path, clock) == 0
    assert age_s(tmp_path / "never", clock) is None


def test_the_demo_feed_beats_as_it_sends() -> None:
    beats = []
    run_demo_feed(
        lambda k, v: None, rate=1000, count=3, history_days=1, beat=lambda: beats.append(1)
    )
    assert len(beats) > 3  # once a history declaration, once a live tick


def heartbeat(path: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    if path is not None:
        env["TRADEWATCH_HEARTBEAT_FILE"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "streams", "heartbeat", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_the_health_check_passes_on_a_fresh_beat_and_fails_on_an_old_or_missing_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "heartbeat"
    assert heartbeat(path).returncode == 1  # never beat
    assert "never beat" in heartbeat(path).stderr
    path.touch()
    assert heartbeat(path, "--within", "60").returncode == 0
    old = time.time() - 120
    os.utime(path, (old, old))
    stale = heartbeat(path, "--within", "60")
    assert stale.returncode == 1 and "last beat 12" in stale.stderr
    assert heartbeat(None).returncode == 2  # nothing to check: a usage error, in one line
