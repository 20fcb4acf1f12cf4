"""Window arithmetic in event time. Units are part of the names: *_ms epoch milliseconds, *_day
whole UTC days since the epoch.

A window of `size_days` that hops by `step_days` is [start_day, start_day + size_days). A
tumbling window is the case step_days == size_days.
"""

from datetime import UTC, datetime
from functools import lru_cache

DAY_MS = 86_400_000


def day_of(timestamp_ms: int) -> int:
    """The UTC day an instant falls in."""
    return timestamp_ms // DAY_MS


def day_start_ms(day: int) -> int:
    return day * DAY_MS


def datetime_of_day(day: int) -> datetime:
    return datetime.fromtimestamp(day * DAY_MS / 1000, tz=UTC)


@lru_cache(maxsize=4096)
def window_start_days(day: int, size_days: int, step_days: int) -> tuple[int, ...]:
    """Start days of every window of this size and step that contains `day`, oldest first.

    >>> window_start_days(10, 7, 1)
    (4, 5, 6, 7, 8, 9, 10)
    >>> window_start_days(10, 1, 1)
    (10,)
    >>> window_start_days(10, 4, 2)  # windows start on even days: [8, 12) and [10, 14)
    (8, 10)
    """
    if size_days < 1 or step_days < 1 or step_days > size_days:
        raise ValueError("need 1 <= step_days <= size_days")
    last = day - day % step_days
    first = last - ((size_days - 1) // step_days) * step_days
    return tuple(start for start in range(first, last + 1, step_days) if start + size_days > day)


def iso_of_ms(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat()
