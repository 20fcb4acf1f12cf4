"""volume_anomaly: a key's window far above its own history, judged as counts.

Keys are importer × HS heading and route × HS chapter; windows are tumbling (1 day) and hopping
(7 days in steps of 1 day). A window's declarations are judged against the same-sized windows of
the key's own past as a count: the tail probability of a negative binomial with the history's
mean and variance (Poisson where the history is not overdispersed), which suits sparse keys that
a median and MAD of mostly-zero windows do not. One test per window and key adds up over
thousands of keys, so a window alerts only when that probability is below `volume_alpha`, sized
for that many tests a day (a Bonferroni-style budget), and it has at least `min_count`
declarations. Quantity and value are reported beside the count, not tested on their own: a
heavy-tailed week of ordinary shipments is not an anomaly.

A key with no history at all (nothing before the day before the window) that goes straight to a
large volume of controlled goods on a risky route counts too. A key with some history but less
than `min_history_windows` is not judged: it is neither new nor known.

Baselines use only days before the day before the window: with a grace period of at most a day
those days are closed whenever an event of the window arrives, so the baseline, and with it the
alert set, does not depend on arrival order.
"""

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING, Any, ClassVar

from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.evidence import ids_in_window, late_evidence, money, window_of
from alerts.windows.observations import Declared, Dimension, Observation
from alerts.windows.state import (
    CONTROLLED_N,
    CONTROLLED_VALUE,
    QUANTITY,
    VALUE,
    Admission,
    Arrivals,
    KeyState,
    N,
    add_amounts,
    add_to_bucket,
    contribution,
    daily_counts,
    window_sums,
)
from alerts.windows.stats import CountMoments, count_tail, median, rolling_sums
from alerts.windows.timing import DAY_MS, window_start_days
from schemas.alert import AlertCategory, Severity, Subject

if TYPE_CHECKING:  # the registry imports the rules
    from alerts.windows.registry import RuleContext


_KEEP = 1.0 - 1e-9
"""Thresholds and floors are compared after this relative slack before the exact test decides,
so that rounding in the precomputed form never hides a window the exact test would find."""

_YOUNG = -1.0
"""The threshold of a window judged as a new key's: only watched goods can make it cross."""

_QUIET = float("inf")
"""The threshold of a window whose key has some history but too little: nothing crosses."""

_INF = float("inf")


def _importer_heading(declared: Declared) -> tuple[str, str]:
    heading = declared.declaration.hs_code[:4]
    return (
        f"{declared.importer_key}|{heading}",
        f"importer {declared.importer_label} × heading {heading}",
    )


def _route_chapter(declared: Declared) -> tuple[str, str]:
    declaration = declared.declaration
    origin, dispatch = declaration.origin_country, declaration.dispatch_country
    destination = declaration.destination_country
    chapter = declaration.hs_code[:2]
    return (
        f"{origin}>{dispatch}>{destination}|{chapter}",
        f"route {origin}→{dispatch}→{destination} × chapter {chapter}",
    )


IMPORTER_HEADING = Dimension(1, "importer_heading", _importer_heading)
ROUTE_CHAPTER = Dimension(2, "route_chapter", _route_chapter)


def closed_sums(daily: list[list[float]], size: int) -> list[tuple[float, float, float]]:
    """The exact sums (math.fsum: independent of how they are reached) of every run of `size`
    consecutive days of a daily series, per metric."""
    counts, quantities, values = daily
    return [
        (
            math.fsum(counts[i : i + size]),
            math.fsum(quantities[i : i + size]),
            math.fsum(values[i : i + size]),
        )
        for i in range(len(counts) - size + 1)
    ]


def daily_series(state: KeyState, first: int, last: int) -> list[list[float]]:
    """The key's declarations, quantity and value on each day from `first` to `last`."""
    buckets = state.buckets
    daily: list[list[float]] = [[], [], []]
    counts, quantities, values = daily
    for day in range(first, last + 1):
        bucket = buckets.get(day)
        if bucket is None:
            counts.append(0.0)
            quantities.append(0.0)
            values.append(0.0)
        else:
            counts.append(bucket[N])
            quantities.append(bucket[QUANTITY])
            values.append(bucket[VALUE])
    return daily


@dataclass(slots=True)
class CountHistory:
    """A key's past windows of one size as counts: the declarations of the windows starting on
    days oldest..newest (closed days only, so fixed once seen), with their moments, so that
    the next day's baseline steps on from the last (a push and a drop) instead of being
    derived again."""

    oldest: int
    newest: int
    counts: deque[int]
    total: int
    squares: int

    @classmethod
    def of(cls, state: KeyState, size: int, oldest: int, newest: int) -> "CountHistory":
        counts = deque(rolling_sums(daily_counts(state, oldest, newest + size - 1), size))
        return cls(oldest, newest, counts, sum(counts), sum(c * c for c in counts))

    def steps_to(self, oldest: int, newest: int) -> bool:
        """Whether stepping on reaches these windows (cheaper than deriving them again)."""
        return self.newest <= newest <= self.newest + 7 and self.oldest <= oldest <= self.newest

    def step(self, state: KeyState, size: int, oldest: int, newest: int) -> None:
        counts = self.counts
        if newest > self.newest:
            daily = daily_counts(state, self.newest + 1, newest + size - 1)
            for count in rolling_sums(daily, size):
                counts.append(count)
                self.total += count
                self.squares += count * count
            self.newest = newest
        while self.oldest < oldest:
            count = counts.popleft()
            self.total -= count
            self.squares -= count * count
            self.oldest += 1

    @property
    def moments(self) -> CountMoments:
        return CountMoments(len(self.counts), self.total, self.squares)


HEADROOM_DAYS = 3
"""How many days after a run's day its Headroom also covers (a key seen again within them is
only added to its buckets)."""


@dataclass(slots=True)
class Headroom:
    """How many more declarations, and watched declarations, the days from `first` to `last`
    can take together before any window holding one of them might cross, as of the windows'
    last check. A run that fits is only added to the buckets: no window needs to be looked at.

    The windows holding the first day are judged by their thresholds; those that start later
    are not open yet (their thresholds may rest on days still open), so by what every threshold
    is at least: the floor of a known key's, and a new key's watched goods."""

    first: int
    last: int
    declarations: float
    watched: float

    def takes(self, by_day: dict[int, list[float]]) -> bool:
        """Whether this run (its totals per day) fits; if so, it is taken."""
        declarations = watched = 0.0
        for day, amounts in by_day.items():
            if not self.first <= day <= self.last:
                return False
            declarations += amounts[N]
            watched += amounts[CONTROLLED_N]
        if declarations >= self.declarations or watched >= self.watched:
            return False
        self.declarations -= declarations
        self.watched -= watched
        return True


@dataclass(frozen=True, slots=True)
class WindowBaseline:
    """What a window's declarations are judged against: its past windows' counts and the least
    count that alerts."""

    counts: CountMoments
    least_alerting: float


@dataclass(slots=True)
class VolumeMemo:
    """Derived from a key's state and kept beside it, never stored:
    - each window's baseline and the threshold it implies (closed days only, so fixed once
      derived), _YOUNG for a window judged as a new key's and _QUIET for one not judged;
    - per window size, the CountHistory the newest baseline came from;
    - the Headroom of the day of the last run."""

    baselines: dict[tuple[int, int], WindowBaseline] = field(default_factory=dict)
    thresholds: dict[tuple[int, int], float] = field(default_factory=dict)
    histories: dict[int, CountHistory] = field(default_factory=dict)
    headroom: Headroom | None = None


def _watched(buckets: dict[int, list[float]], first: int, end: int) -> float:
    """The watched declarations of the days from `first` up to `end`."""
    return sum(b[CONTROLLED_N] for d in range(first, end) if (b := buckets.get(d)))


@dataclass(frozen=True, slots=True)
class DayWindows:
    """The windows a day's run is checked against, as where their days lie in the span of days
    from `first` (`days` long): those `holding` the day, as (size, start, since, until); and
    from `after` on, the days of the windows that start in the HEADROOM_DAYS after it."""

    first: int
    days: int
    holding: list[tuple[int, int, int, int]]
    after: int

    @classmethod
    def of(cls, day: int, shapes: list[tuple[int, int]]) -> "DayWindows":
        holding = [
            (size, start) for size, step in shapes for start in window_start_days(day, size, step)
        ]
        later = [
            (size, start)
            for ahead in range(day + 1, day + HEADROOM_DAYS + 1)
            for size, step in shapes
            for start in window_start_days(ahead, size, step)
            if start > day
        ]
        first = min(start for _, start in holding)
        days = max(start + size for size, start in holding + later) - first
        return cls(
            first,
            days,
            [(size, start, start - first, start - first + size) for size, start in holding],
            day + 1 - first,
        )


@dataclass(frozen=True)
class VolumeAnomaly:
    config: WindowConfig
    reference_data_version: str
    rule_id: str = "volume_anomaly.window"
    version: str = "2"
    category: AlertCategory = AlertCategory.VOLUME_ANOMALY
    dimensions: ClassVar[tuple[Dimension, ...]] = (IMPORTER_HEADING, ROUTE_CHAPTER)

    @classmethod
    def build(cls, context: "RuleContext") -> "VolumeAnomaly":
        return cls(context.config, context.version_of("control_lists"))

    @property
    def retention_days(self) -> int:
        return self.config.volume_retention_days

    def new_memo(self) -> VolumeMemo:
        return VolumeMemo()

    def window_shapes(self) -> list[tuple[int, int]]:
        shapes = [(self.config.tumbling_days, self.config.tumbling_days)]
        hopping = (self.config.hopping_days, self.config.hopping_step_days)
        return shapes if hopping in shapes else [*shapes, hopping]

    def _history_windows(self, state: KeyState, size: int, start: int) -> int:
        """How many same-sized windows of this key's past its baseline rests on (O(1))."""
        newest = start - 1 - size
        oldest = max(newest - self.config.baseline_windows + 1, state.first_day or newest + 1)
        return max(0, newest - oldest + 1)

    @staticmethod
    def _is_new(state: KeyState, start: int) -> bool:
        """Nothing counted before the day before the window: the key has no past at all.

        Stable for the window's life: a declaration of an earlier day is late by then."""
        return state.first_day is None or state.first_day >= start - 1

    def _baseline(self, memo: VolumeMemo, state: KeyState, size: int, start: int) -> WindowBaseline:
        """The window's baseline, from days that are closed whenever an event of the window
        arrives (see the module docstring), so derived once and kept in the memo."""
        cached = memo.baselines.get((size, start))
        if cached is None:
            newest, oldest = self._history_span(state, size, start)
            history = memo.histories.get(size)
            if history is not None and history.steps_to(oldest, newest):
                history.step(state, size, oldest, newest)
            else:
                history = CountHistory.of(state, size, oldest, newest)
                if size not in memo.histories or newest >= memo.histories[size].newest:
                    memo.histories[size] = history  # only ever steps forward
            counts = history.moments
            least = counts.threshold(self.config.volume_alpha)
            cached = WindowBaseline(counts, float(max(self.config.min_count, least)))
            memo.baselines[(size, start)] = cached
        return cached

    def _history_span(self, state: KeyState, size: int, start: int) -> tuple[int, int]:
        """The newest and oldest start days of the past windows a window's baseline rests on."""
        newest = start - 1 - size
        return newest, max(newest - self.config.baseline_windows + 1, state.first_day or 0)

    def _usual_amounts(self, state: KeyState, size: int, start: int) -> tuple[float, float]:
        """The median quantity and value of the windows the baseline rests on: only what an
        alert reports, so derived only for one."""
        newest, oldest = self._history_span(state, size, start)
        points = closed_sums(daily_series(state, oldest, newest + size - 1), size)
        return median([p[1] for p in points]), median([p[2] for p in points])

    def assess(
        self,
        state: KeyState,
        memo: VolumeMemo,
        size: int,
        start: int,
        sums: list[float],
        watching_days: int | None = None,
    ) -> list[dict[str, Any]]:
        """Why this window is anomalous (one entry per reason), or [] if it is not."""
        config = self.config
        history = self._history_windows(state, size, start)
        if history < config.min_history_windows:
            if not self._is_new(state, start):
                return []  # some past, too little to judge by
            if watching_days is not None and watching_days < config.min_history_windows + size:
                return []  # the stream itself is too young to call any key new
            if (
                sums[CONTROLLED_VALUE] >= config.new_key_controlled_value_usd
                and sums[CONTROLLED_N] >= config.min_declarations_for_amounts
            ) or sums[CONTROLLED_N] >= config.new_key_controlled_count:
                return [
                    {
                        "reason": "new_key_watched_goods",
                        "history_windows": history,
                        "watched_declarations": sums[CONTROLLED_N],
                        "watched_value_usd": round(sums[CONTROLLED_VALUE], 2),
                    }
                ]
            return []
        count = sums[N]
        if count < config.min_count:
            return []
        baseline = self._baseline(memo, state, size, start)
        least = baseline.least_alerting
        if count < least:
            return []
        counts = baseline.counts
        quantity_usual, value_usd_usual = self._usual_amounts(state, size, start)
        return [
            {
                "reason": "above_expected",
                "metric": "declarations",
                "value": count,
                "expected": round(counts.mean, 2),
                "variance": round(counts.variance, 2),
                "probability": float(f"{count_tail(count, counts.mean, counts.variance):.3g}"),
                "alpha": config.volume_alpha,
                "least_alerting": least,
                "baseline_windows": counts.points,
                "quantity": round(sums[QUANTITY], 3),
                "quantity_usual": round(quantity_usual, 3),
                "value_usd": round(sums[VALUE], 2),
                "value_usd_usual": round(value_usd_usual, 2),
            }
        ]

    def observe(
        self,
        batch: Sequence[tuple[Observation, Admission]],
        state: KeyState,
        memo: VolumeMemo,
        stream_start_day: int | None,
        arrivals: Arrivals,
    ) -> list[tuple[Observation, Finding]]:
        """A run of one key's observations: their totals are added at once, and only if one of
        the windows they touch then reaches its thresholds are they judged one at a time (the
        totals only grow, so no window can have crossed on the way if none is over at the end).
        """
        counted = [
            (index, observation, observation.event_time_ms // DAY_MS)
            for index, (observation, admission) in enumerate(batch)
            if admission.counted
        ]
        if not counted:
            return []
        threshold_usd = self.config.split_value_threshold_usd
        added = [contribution(observation, threshold_usd) for _, observation, _ in counted]
        by_day: dict[int, list[float]] = {}
        for (_, _, day), amounts in zip(counted, added, strict=True):
            day_total = by_day.get(day)
            if day_total is None:
                by_day[day] = list(amounts)
            else:
                add_amounts(day_total, amounts)
        buckets = state.buckets
        if memo.headroom is not None and memo.headroom.takes(by_day):
            for (_, _, day), amounts in zip(counted, added, strict=True):
                add_to_bucket(state, day, amounts)
            return []
        saved = {day: list(buckets[day]) if day in buckets else None for day in by_day}
        for (_, _, day), amounts in zip(counted, added, strict=True):
            add_to_bucket(state, day, amounts)
        if not self._may_find(state, memo, by_day):
            return []
        for day, bucket in saved.items():  # back to where the run started, then step by step
            if bucket is None:
                del buckets[day]
            else:
                buckets[day] = bucket
        findings = []
        for (index, observation, day), amounts in zip(counted, added, strict=True):
            add_to_bucket(state, day, amounts)
            watching = None if stream_start_day is None else day - stream_start_day
            for finding in self._crossed(
                observation, state, memo, day, amounts, watching, arrivals, index
            ):
                findings.append((observation, finding))
        return findings

    @cached_property
    def _least(self) -> float:
        return min(self.config.min_count, self.config.min_declarations_for_amounts)

    @cached_property
    def _newcomer(self) -> int:
        config = self.config
        return min(config.min_declarations_for_amounts, config.new_key_controlled_count)

    @cached_property
    def _shapes(self) -> list[tuple[int, int]]:
        return self.window_shapes()

    def _windows_of(self, day: int) -> "DayWindows":
        """The windows holding this day and those starting in the HEADROOM_DAYS after it."""
        found = self._windows_by_day.get(day)
        if found is None:
            if len(self._windows_by_day) > 4096:
                self._windows_by_day.clear()
            found = self._windows_by_day[day] = DayWindows.of(day, self._shapes)
        return found

    @cached_property
    def _windows_by_day(self) -> dict[int, "DayWindows"]:
        return {}

    def _may_find(self, state: KeyState, memo: VolumeMemo, by_day: dict[int, list[float]]) -> bool:
        """Whether any window holding one of these days has reached its threshold (a necessary
        condition for `assess` to find it, cheap to test: the buckets already hold the run).

        A window's declarations are summed from the span of days its day's windows cover,
        read once. When no window is over, the memo's Headroom says how much more the day and
        the next HEADROOM_DAYS can take before one might be."""
        memo.headroom = None
        buckets = state.buckets
        thresholds = memo.thresholds
        least = self._least * _KEEP
        newcomer = self._newcomer * _KEEP
        floor = self.config.min_count * _KEEP
        room = _INF  # declarations
        room_watched = _INF
        # A window starting after the day after this one is not a new key's (see _is_new)
        known_before = _INF if state.first_day is None else state.first_day + 1
        for day in by_day:
            reach = self._windows_of(day)
            first = reach.first
            span = range(first, first + reach.days)
            counts = list(
                accumulate([b[N] if (b := buckets.get(d)) else 0.0 for d in span], initial=0.0)
            )
            for size, start, since, until in reach.holding:
                count = counts[until] - counts[since]
                if count < least:  # every way to cross needs `least` declarations
                    # and a key with a past, a known key's floor (see _threshold)
                    bound = (floor if known_before < start else least) - count
                    if bound < room:
                        room = bound
                    continue
                threshold = thresholds.get((size, start))
                if threshold is None:
                    threshold = self._threshold(state, memo, size, start, count)
                if threshold == _YOUNG:
                    watch = _watched(buckets, first + since, first + until)
                    if watch >= newcomer:
                        return True
                    room_watched = min(room_watched, newcomer - watch)
                    continue
                if threshold is None:  # under the floor, which every threshold is at least
                    threshold = floor
                elif count >= threshold:
                    return True
                if threshold - count < room:
                    room = threshold - count
            if len(by_day) == 1:
                # Windows that start later hold only days after this one, none of them closed.
                # Each is a known key's, held to the floor, or a new key's, crossed only by
                # its watched goods.
                later = counts[-1] - counts[reach.after]
                room = min(room, floor - later)
                if known_before >= day + 1:
                    watch = _watched(buckets, first + reach.after, first + reach.days)
                    room_watched = min(room_watched, newcomer - watch)
        if len(memo.thresholds) > 64:
            self._forget_closed(memo, state.watermark_day or min(by_day))
        if len(by_day) == 1:
            (day,) = by_day
            memo.headroom = Headroom(day, day + HEADROOM_DAYS, room, room_watched)
        return False

    def _threshold(
        self, state: KeyState, memo: VolumeMemo, size: int, start: int, count: float
    ) -> float | None:
        """What the window's declarations must reach for `assess` to find it (understated by a
        relative slack), _YOUNG for a window judged as a new key's, or None while they are
        under the floor (then no baseline is derived yet)."""
        known = memo.thresholds.get((size, start))
        if known is not None:
            return known
        config = self.config
        if self._history_windows(state, size, start) < config.min_history_windows:
            # Neither the history nor being new changes within a window's life (see _is_new)
            found = _YOUNG if self._is_new(state, start) else _QUIET
            memo.thresholds[(size, start)] = found
            return found
        if count < config.min_count * _KEEP:
            return None
        found = self._baseline(memo, state, size, start).least_alerting * _KEEP
        memo.thresholds[(size, start)] = found
        return found

    def _crossed(
        self,
        observation: Observation,
        state: KeyState,
        memo: VolumeMemo,
        day: int,
        added: list[float],
        watching_days: int | None,
        arrivals: Arrivals,
        index: int,
    ) -> list[Finding]:
        """The windows this one observation made cross (the state already holds it)."""
        least = self._least
        findings = []
        for size, step in self._shapes:
            for start in window_start_days(day, size, step):
                after = window_sums(state, start, size)
                if after[N] < least:
                    continue
                reasons = self.assess(state, memo, size, start, after, watching_days)
                if not reasons:
                    continue
                before = [a - c for a, c in zip(after, added, strict=True)]
                if self.assess(state, memo, size, start, before, watching_days):
                    continue  # already anomalous: alerted on the event that crossed
                findings.append(
                    self._finding(
                        observation,
                        size,
                        start,
                        after,
                        reasons,
                        arrivals.recent(index),
                        arrivals.late(index),
                    )
                )
        return findings

    def _forget_closed(self, memo: VolumeMemo, watermark_day: int) -> None:
        """Windows that ended before the day before the watermark get no more events."""
        horizon = watermark_day - 1
        for cache in (memo.thresholds, memo.baselines):
            for size_start in [k for k in cache if k[1] + k[0] < horizon]:
                del cache[size_start]

    def _finding(
        self,
        observation: Observation,
        size: int,
        start: int,
        sums: list[float],
        reasons: list[dict[str, Any]],
        recent: list[tuple[str, int]],
        late: list[tuple[str, int]],
    ) -> Finding:
        window = window_of(start, size)
        span = f"{size} day{'s' if size > 1 else ''} from {window.start.date().isoformat()}"
        totals = f"{sums[N]:g} declarations, {money(sums[VALUE])}"
        if reasons[0]["reason"] == "new_key_watched_goods":
            severity = Severity.HIGH
            detail = "no history, straight to a large volume of controlled goods on a risky route"
        else:
            lead = reasons[0]
            probability = lead["probability"]
            severity = (
                Severity.HIGH if probability <= self.config.volume_alpha * 1e-3 else Severity.MEDIUM
            )
            detail = (
                f"{lead['expected']:g} expected from {lead['baseline_windows']} past windows, "
                f"chance {probability:.1g}"
            )
        return Finding(
            severity=severity,
            summary=f"Volume anomaly, {observation.label}: {totals} in {span} ({detail})",
            subject=Subject(
                kind=observation.kind.label, key=observation.key, label=observation.label
            ),
            declaration_ids=tuple(ids_in_window(recent, start, size))
            or (observation.declaration_id,),
            window=window,
            evidence={
                "dimension": observation.kind.label,
                "window_days": size,
                "window": {
                    "declarations": sums[N],
                    "quantity": round(sums[QUANTITY], 3),
                    "value_usd": round(sums[VALUE], 2),
                    "watched_declarations": sums[CONTROLLED_N],
                    "watched_value_usd": round(sums[CONTROLLED_VALUE], 2),
                },
                "reasons": reasons,
                "crossed_by": observation.declaration_id,
                "late_declarations_not_counted": late_evidence(late),
            },
        )
