"""The state of one aggregation key, and admitting an observation into it.

State lives in daily buckets in event time; every window is a sum of buckets. Admission decides,
from the observation alone and this key's state, whether it is:
- a duplicate: its source offset was already applied (a replay after a crash or a rebalance), so
  it is not counted again, though its alerts are re-emitted, since they may have been lost;
- late: older than this key's watermark by more than the grace period, so it is not counted, but
  recorded, counted in a metric and named in the evidence of this key's next alerts;
- counted.
Days older than the retention are dropped as the watermark moves: expiry in event time, so a
replay of old data expires exactly as the live run did.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson

from alerts.windows.timing import day_of

# Fields of a volume bucket.
N, QUANTITY, VALUE, CONTROLLED_N, CONTROLLED_VALUE, LARGE_N = range(6)
BUCKET_FIELDS = 6


@dataclass(slots=True)
class KeyState:
    watermark_ms: int | None = None
    first_day: int | None = None
    buckets: dict[int, list[float]] = field(default_factory=dict)
    histograms: dict[int, dict[int, int]] = field(default_factory=dict)
    sources: dict[int, int] = field(default_factory=dict)
    late: list[tuple[str, int]] = field(default_factory=list)
    recent: list[tuple[str, int]] = field(default_factory=list)
    baselines: dict[str, list[float]] = field(default_factory=dict)

    def encode(self) -> bytes:
        # Int-keyed dicts go to orjson as they are: reshaping them in Python cost more than
        # the whole rest of an update for the busiest keys.
        return orjson.dumps(
            {
                "w": self.watermark_ms,
                "f": self.first_day,
                "b": self.buckets,
                "h": self.histograms,
                "s": self.sources,
                "l": self.late,
                "r": self.recent,
                "c": self.baselines,
            },
            option=orjson.OPT_NON_STR_KEYS,
        )

    @classmethod
    def decode(cls, raw: bytes) -> "KeyState":
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            watermark_ms=data["w"],
            first_day=data["f"],
            buckets={int(day): values for day, values in data["b"].items()},
            histograms={
                int(day): {int(b): c for b, c in bins.items()} for day, bins in data["h"].items()
            },
            sources={int(p): o for p, o in data["s"].items()},
            late=[(i, t) for i, t in data["l"]],
            recent=[(i, t) for i, t in data["r"]],
            baselines=data["c"],
        )

    @property
    def watermark_day(self) -> int | None:
        return None if self.watermark_ms is None else day_of(self.watermark_ms)


@dataclass(frozen=True, slots=True)
class Admission:
    counted: bool
    duplicate: bool = False
    late: bool = False


COUNTED = Admission(counted=True)
DUPLICATE = Admission(counted=False, duplicate=True)
LATE = Admission(counted=False, late=True)


def admit(
    state: KeyState,
    declaration_id: str,
    event_time_ms: int,
    source_partition: int,
    source_offset: int,
    *,
    grace_ms: int,
    retention_days: int,
    ids_kept: int,
) -> Admission:
    """Decide what an observation is, and move the watermark and expiry if it counts."""
    if source_offset <= state.sources.get(source_partition, -1):
        return DUPLICATE
    state.sources[source_partition] = source_offset
    if state.watermark_ms is not None and event_time_ms < state.watermark_ms - grace_ms:
        state.late = [*state.late, (declaration_id, event_time_ms)][-ids_kept:]
        return LATE
    previous_day = state.watermark_day
    if state.watermark_ms is None or event_time_ms > state.watermark_ms:
        state.watermark_ms = event_time_ms
    day = day_of(event_time_ms)
    state.first_day = day if state.first_day is None else min(state.first_day, day)
    state.recent = [*state.recent, (declaration_id, event_time_ms)][-ids_kept * 2 :]
    if state.watermark_day != previous_day:  # expiry can only move when the watermark's day does
        _expire(state, retention_days)
    return COUNTED


def _expire(state: KeyState, retention_days: int) -> None:
    assert state.watermark_ms is not None
    oldest = day_of(state.watermark_ms) - retention_days
    if state.first_day is not None and state.first_day < oldest:
        # History older than the retention no longer counts, so neither does having seen it.
        state.first_day = oldest
    for day in [d for d in state.buckets if d < oldest]:
        del state.buckets[day]
    for day in [d for d in state.histograms if d < oldest]:
        del state.histograms[day]


def add_to_bucket(state: KeyState, day: int, contribution: list[float]) -> None:
    bucket = state.buckets.get(day)
    if bucket is None:
        state.buckets[day] = list(contribution)
    else:
        for index, amount in enumerate(contribution):
            bucket[index] += amount


def window_sums(state: KeyState, start_day: int, size_days: int) -> list[float]:
    sums = [0.0] * BUCKET_FIELDS
    for day in range(start_day, start_day + size_days):
        bucket = state.buckets.get(day)
        if bucket is not None:
            for index in range(BUCKET_FIELDS):
                sums[index] += bucket[index]
    return sums
