"""The demo feed: what `make run` shows must include every rule family and a reject."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from schemas.alert import AlertCategory
from tools.demo import DemoFeed

CORE = Core.build(CoreOptions())


class Clock:
    """Half a second per declaration, from a fixed moment."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=500)
        return self.now


def test_a_minute_of_the_demo_shows_every_rule_family_and_rejects() -> None:
    feed = DemoFeed(clock=Clock(datetime(2026, 11, 28, 12, tzinfo=UTC)))
    pipeline = OfflinePipeline(CORE)
    history = [orjson.dumps(d) for d in feed.history()]
    for start in range(0, len(history), 500):
        chunk = history[start : start + 500]
        pipeline.feed_batch([(raw, start + n) for n, raw in enumerate(chunk)])
    offset = len(history)
    categories: Counter[str] = Counter()
    for _, items in zip(range(60), feed.live(), strict=False):  # 30 s at the default rate
        batch = []
        for item in items:
            batch.append((item if isinstance(item, bytes) else orjson.dumps(item), offset))
            offset += 1
        _, alerts = pipeline.feed_batch(batch)
        categories.update(a.category.value for a in alerts)

    assert set(categories) == {c.value for c in AlertCategory}, categories
    assert pipeline.rejected["invalid"] >= 2 and pipeline.rejected["not_json"] >= 1


def test_ids_differ_from_run_to_run() -> None:
    def first_ids(start: datetime) -> set[str]:
        feed = DemoFeed(clock=Clock(start), history_days=0)
        ticks = [tick for _, tick in zip(range(30), feed.live(), strict=False)]
        return {d["declaration_id"] for tick in ticks for d in tick if isinstance(d, dict)}

    one = first_ids(datetime(2026, 11, 28, 12, tzinfo=UTC))
    other = first_ids(datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC))
    assert len(one) >= 30 and not one & other
