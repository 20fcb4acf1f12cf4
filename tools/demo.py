"""The live demo feed: a month of ordinary trade as history, then a live stream that shows every
kind of finding.

- History: `history_days` of the generator's ordinary trade, declared in the past and sent at
  once, so that the window rules have baselines to compare with (a volume burst is only a burst
  against a key's own past) and the stream is old enough to call a key new.
- Live, one tick every 1/rate seconds, stamped with the current time: every third tick one of
  the generator's scenarios, in turn (military rifles declared as hunting rifles, drone parts via
  Kazakhstan, body armour through Turkey, chips via a hub, a listed party, a civilian-use claim,
  split shipments, undervalued rifles, a volume burst); every third a hand-written showcase from
  `demo/declarations.jsonl` (the 2023 case shapes in Russian, Chinese and English, and ordinary
  goods); otherwise ordinary trade; and every tenth a declaration that is invalid on purpose and
  goes to the dead-letter topic.

Declaration ids carry a stamp of the run, so neither they nor the alert ids built from them
repeat across runs.
"""

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tools.generate import SCENARIOS, Generator

DEMO_FILE = Path(__file__).resolve().parent / "demo" / "declarations.jsonl"
HISTORY_DAYS = 40
HISTORY_PER_DAY = 150


def demo_templates(path: Path = DEMO_FILE) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def run_stamp(now: datetime) -> str:
    """A short stamp of this run, in declaration ids: base 36 of the second it started."""
    number = int(now.timestamp())
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + digits
    return digits


class DemoFeed:
    """History first (`history()`), then `live()` ticks: lists of declarations (dicts) or raw
    bytes that are not JSON at all."""

    def __init__(
        self,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        history_days: int = HISTORY_DAYS,
        seed: int = 7,
        templates: list[dict[str, Any]] | None = None,
    ) -> None:
        self.clock = clock
        started = clock()
        self.run = run_stamp(started)
        self.history_days = history_days
        today = started.replace(hour=0, minute=0, second=0, microsecond=0)
        self.generator = Generator(
            seed,
            count=max(1, history_days) * HISTORY_PER_DAY,
            start=today - timedelta(days=history_days),
            days=max(1, history_days),
            id_prefix=f"DEMO-{self.run}-",
        )
        all_templates = templates if templates is not None else demo_templates()
        invalid = [t["declaration_id"].startswith("DEMO-BAD") for t in all_templates]
        self.showcases = [t for t, bad in zip(all_templates, invalid, strict=True) if not bad]
        self.invalid = [t for t, bad in zip(all_templates, invalid, strict=True) if bad]
        self.number = 0

    def history(self) -> Iterator[dict[str, Any]]:
        """Ordinary trade over the days before today, in declared-time order."""
        if self.history_days <= 0:
            return
        for declarations, _ in self.generator.run(with_scenarios=False):
            yield from declarations

    def _stamped(self, declaration: dict[str, Any], name: str) -> dict[str, Any]:
        self.number += 1
        stamped = dict(declaration)
        stamped["declaration_id"] = f"{name}-{self.run}-{self.number:06d}"
        stamped["declared_at"] = self.clock().isoformat()
        return stamped

    def live(self) -> Iterator[list[dict[str, Any] | bytes]]:
        scenarios = itertools.cycle(SCENARIOS)
        showcases = itertools.cycle(self.showcases)
        invalid = itertools.cycle([*self.invalid, None])
        generator = self.generator
        for tick in itertools.count():
            if tick % 10 == 9:
                bad = next(invalid)
                if bad is None:  # not even JSON
                    yield [b'{"declaration_id": "DEMO-' + self.run.encode() + b'-CUT", "hs_co']
                else:
                    yield [self._stamped(bad, bad["declaration_id"])]
            elif tick % 3 == 0:
                kind = next(scenarios)
                declarations, _ = kind(generator, self.history_days, tick)
                name = f"DEMO-{kind.__name__.removeprefix('scenario_').upper().replace('_', '-')}"
                yield [self._stamped(d, name) for d in declarations]
            elif tick % 3 == 1 and self.showcases:
                showcase = next(showcases)
                yield [self._stamped(showcase, showcase["declaration_id"])]
            else:
                now = self.clock()
                yield [self._stamped(generator.background(generator.pick_importer(), now), "DEMO")]


def run_demo_feed(
    send: Callable[[bytes, bytes], None],
    rate: float,
    count: int | None,
    history_days: int = HISTORY_DAYS,
    on_history: Callable[[int], None] | None = None,
    beat: Callable[[], None] = lambda: None,
) -> int:
    """Send the history at once, then live ticks at `rate` per second, `count` of them if
    given; return how many declarations were sent. `beat` is called as the loop turns."""
    feed = DemoFeed(history_days=history_days)
    sent = 0
    for declaration in feed.history():
        send(declaration["declaration_id"].encode(), orjson.dumps(declaration))
        sent += 1
        beat()
    if on_history is not None:
        on_history(sent)
    for tick in itertools.islice(feed.live(), count):
        for item in tick:
            if isinstance(item, bytes):
                send(f"DEMO-{feed.run}-CUT".encode(), item)
            else:
                send(item["declaration_id"].encode(), orjson.dumps(item))
            sent += 1
        beat()
        time.sleep(1.0 / rate)
    return sent
