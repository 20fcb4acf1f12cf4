"""What every window rule's alerts say the same way: amounts, windows, the declarations a
window holds and those refused as late."""

from typing import Any

from alerts.windows.timing import datetime_of_day, day_of, iso_of_ms
from schemas.alert import Window


def money(amount: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"${amount / size:.1f}{suffix}"
    return f"${amount:.0f}"


def window_of(start_day: int, size_days: int) -> Window:
    return Window(start=datetime_of_day(start_day), end=datetime_of_day(start_day + size_days))


def ids_in_window(recent: list[tuple[str, int]], start_day: int, size_days: int) -> list[str]:
    """The ids among the newest counted ones (see Arrivals) that fall in the window."""
    return [i for i, t in recent if start_day <= day_of(t) < start_day + size_days]


def late_evidence(late: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"declaration_id": i, "declared_at": iso_of_ms(t)} for i, t in late]
