"""A live demo feed: a small loop of realistic declarations, stamped with the current time.

Most are ordinary trade; some carry the 2023 case shapes and alert; two are invalid on purpose
and go to the dead-letter topic.
"""

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

DEMO_FILE = Path(__file__).resolve().parent / "demo" / "declarations.jsonl"


def demo_templates(path: Path = DEMO_FILE) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def demo_feed(
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    templates: list[dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Endless demo declarations: each template in turn, with a fresh id and declared_at."""
    for round_number in itertools.count(1):
        for template in templates if templates is not None else demo_templates():
            stamped = dict(template)
            stamped["declaration_id"] = f"{template['declaration_id']}-{round_number:05d}"
            stamped["declared_at"] = clock().isoformat()
            yield stamped


def run_demo_feed(send: Callable[[bytes, bytes], None], rate: float, count: int | None) -> int:
    """Send demo declarations at rate per second; stop after count, if given."""
    sent = 0
    for declaration in itertools.islice(demo_feed(), count):
        send(declaration["declaration_id"].encode(), orjson.dumps(declaration))
        sent += 1
        time.sleep(1.0 / rate)
    return sent
