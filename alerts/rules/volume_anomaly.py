"""volume_anomaly: a key's window far above its own trailing baseline.

Keys are importer × HS heading and route × HS chapter; windows are tumbling (1 day) and hopping
(7 days in steps of 1 day). A window is compared with the same-sized windows of the key's own
past: median and MAD of declarations, quantity and value, with a minimum history and a minimum
absolute size so that small noisy keys stay quiet. A key with no history that jumps straight to
a large volume of controlled goods counts too.

Baselines use only days before the day before the window: with a grace period of at most a day
those days are closed whenever an event of the window arrives, so the baseline, and with it the
alert set, does not depend on arrival order.
"""

from dataclasses import dataclass, field
from typing import Any

from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.observations import Dimension, Observation
from alerts.windows.rule import Context
from alerts.windows.state import (
    CONTROLLED_N,
    CONTROLLED_VALUE,
    QUANTITY,
    VALUE,
    KeyState,
    N,
    add_to_bucket,
)
from alerts.windows.stats import Baseline, rolling_sums
from alerts.windows.timing import DAY_MS, datetime_of_day, day_of, iso_of_ms, window_start_days
from schemas.alert import AlertCategory, Severity, Subject, Window

# (name, bucket field, least size that can alert, least robust scale)
METRICS = (
    ("declarations", N, "min_count", 1.0),
    ("quantity", QUANTITY, "min_quantity", 1.0),
    ("value_usd", VALUE, "min_value_usd", 1000.0),
)


def money(amount: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"${amount / size:.1f}{suffix}"
    return f"${amount:.0f}"


def window_of(start_day: int, size_days: int) -> Window:
    return Window(start=datetime_of_day(start_day), end=datetime_of_day(start_day + size_days))


def ids_in_window(state: KeyState, start_day: int, size_days: int, kept: int = 20) -> list[str]:
    return [i for i, t in state.recent_ids(kept) if start_day <= day_of(t) < start_day + size_days]


def late_evidence(state: KeyState) -> list[dict[str, Any]]:
    return [{"declaration_id": i, "declared_at": iso_of_ms(t)} for i, t in state.late]


def contribution(observation: Observation, split_threshold_usd: float) -> list[float]:
    """What one observation adds to its day's bucket: declarations, quantity, value in USD,
    watched declarations, watched value, declarations at or above the split threshold."""
    value = observation.value_usd or 0.0
    watched = 1.0 if observation.watched else 0.0
    large = 1.0 if value >= split_threshold_usd else 0.0
    return [1.0, observation.quantity, value, watched, watched * value, large]


_SLACK = 1e-9
"""Thresholds are compared with this relative slack before the exact test decides, so that
rounding in the precomputed form never hides a window the exact test would find."""


@dataclass(slots=True)
class VolumeMemo:
    """Derived from a key's state and kept beside it: running sums of the windows it has
    touched, and each window's baselines with the thresholds they imply."""

    sums: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    baselines: dict[tuple[int, int], tuple[list[Baseline], tuple[float, float, float]]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class VolumeAnomaly:
    config: WindowConfig
    reference_data_version: str
    rule_id: str = "volume_anomaly.window"
    version: str = "1"
    category: AlertCategory = AlertCategory.VOLUME_ANOMALY
    dimensions: tuple[Dimension, ...] = (Dimension.IMPORTER_HEADING, Dimension.ROUTE_CHAPTER)

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

    def _baseline(
        self, memo: VolumeMemo, state: KeyState, size: int, start: int
    ) -> tuple[list[Baseline], tuple[float, float, float]]:
        """The window's baselines, from days that are closed whenever an event of the window
        arrives (see the module docstring), so derived once and kept in the memo."""
        cached = memo.baselines.get((size, start))
        if cached is None:
            newest = start - 1 - size
            oldest = max(newest - self.config.baseline_windows + 1, state.first_day or 0)
            days = range(oldest, start - 1)
            baselines = []
            thresholds = []
            for _, index, minimum, floor in METRICS:
                series = [state.buckets[d][index] if d in state.buckets else 0.0 for d in days]
                baseline = Baseline.of(rolling_sums(series, size))
                baselines.append(baseline)
                thresholds.append(self._threshold(baseline, getattr(self.config, minimum), floor))
            cached = (baselines, (thresholds[0], thresholds[1], thresholds[2]))
            memo.baselines[(size, start)] = cached
        return cached

    def _threshold(self, baseline: Baseline, minimum: float, floor: float) -> float:
        """The least window total that passes the size, robust-z and ratio tests of `assess`."""
        config = self.config
        scale = max(1.4826 * baseline.mad, 0.1 * baseline.expected, floor)
        usual_high = max(baseline.expected, baseline.p90)
        return max(
            minimum,
            baseline.expected + config.z_threshold * scale,
            config.min_ratio * usual_high if usual_high > 0 else 0.0,
        )

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
        enough_for_amounts = sums[N] >= config.min_declarations_for_amounts
        candidates = [
            (name, index, floor)
            for name, index, minimum, floor in METRICS
            if sums[index] >= getattr(config, minimum) and (index == N or enough_for_amounts)
        ]
        if not candidates:
            return []
        baselines, _ = self._baseline(memo, state, size, start)
        by_name = dict(zip((m[0] for m in METRICS), baselines, strict=True))
        reasons = []
        for name, index, floor in candidates:
            baseline = by_name[name]
            value = sums[index]
            z = baseline.robust_z(value, floor)
            # Against the usual high (90th percentile) too: trade is heavy-tailed, and a week
            # at three times the median is ordinary for many keys.
            usual_high = max(baseline.expected, baseline.p90)
            ratio = value / usual_high if usual_high > 0 else float("inf")
            if z >= config.z_threshold and ratio >= config.min_ratio:
                reasons.append(
                    {
                        "reason": "above_baseline",
                        "metric": name,
                        "value": round(value, 2),
                        "baseline_median": round(baseline.median, 2),
                        "baseline_mean": round(baseline.mean, 2),
                        "baseline_mad": round(baseline.mad, 2),
                        "baseline_p90": round(baseline.p90, 2),
                        "baseline_windows": baseline.points,
                        "robust_z": round(z, 1),
                        "ratio_to_usual": round(ratio, 1) if ratio != float("inf") else None,
                    }
                )
        return reasons

    def _may_cross(
        self, state: KeyState, memo: VolumeMemo, size: int, start: int, sums: list[float]
    ) -> bool:
        """A cheap necessary condition for `assess` to find the window: the precomputed
        thresholds, with slack. Only windows that pass are assessed exactly."""
        config = self.config
        if self._history_windows(state, size, start) < config.min_history_windows:
            return sums[CONTROLLED_N] >= min(
                config.min_declarations_for_amounts, config.new_key_controlled_count
            )
        _, (t_count, t_quantity, t_value) = self._baseline(memo, state, size, start)
        keep = 1.0 - _SLACK
        if sums[N] >= t_count * keep:
            return True
        return sums[N] >= config.min_declarations_for_amounts and (
            sums[QUANTITY] >= t_quantity * keep or sums[VALUE] >= t_value * keep
        )

    def _window(self, state: KeyState, memo: VolumeMemo, size: int, start: int) -> list[float]:
        window = memo.sums.get((size, start))
        if window is None:
            window = [0.0] * 5
            buckets = state.buckets
            for day in range(start, start + size):
                bucket = buckets.get(day)
                if bucket is not None:
                    for index in range(5):
                        window[index] += bucket[index]
            memo.sums[(size, start)] = window
        return window

    def _forget_closed(self, memo: VolumeMemo, watermark_day: int) -> None:
        """Windows that ended before the day before the watermark get no more events."""
        horizon = watermark_day - 1
        for size_start in [k for k in memo.sums if k[1] + k[0] < horizon]:
            del memo.sums[size_start]
        for size_start in [k for k in memo.baselines if k[1] + k[0] < horizon]:
            del memo.baselines[size_start]

    def observe(
        self, observation: Observation, state: KeyState, memo: VolumeMemo, context: Context
    ) -> list[Finding]:
        if not context.admission.counted:
            return []
        config = self.config
        day = observation.event_time_ms // DAY_MS
        added = contribution(observation, config.split_value_threshold_usd)
        add_to_bucket(state, day, added)
        shapes = self.window_shapes()
        # A cheap necessary condition: every alert needs a few declarations in a window that
        # holds `day`, so a key with fewer than that around it (most keys) needs no more work.
        least = min(config.min_count, config.min_declarations_for_amounts)
        reach = max(config.tumbling_days, config.hopping_days)
        buckets = state.buckets
        near = 0.0
        for other in range(day - reach + 1, day + reach):
            bucket = buckets.get(other)
            if bucket is not None:
                near += bucket[N]
        sums = memo.sums
        if near < least:
            if sums:  # keep the running sums of windows already tracked exact
                for size, step in shapes:
                    for start in window_start_days(day, size, step):
                        window = sums.get((size, start))
                        if window is not None:
                            for index in range(5):
                                window[index] += added[index]
            return []
        if len(sums) > 64:
            self._forget_closed(memo, state.watermark_day or day)
        findings = []
        for size, step in shapes:
            for start in window_start_days(day, size, step):
                window = sums.get((size, start))
                if window is None:
                    window = self._window(state, memo, size, start)  # includes this observation
                else:
                    for index in range(5):
                        window[index] += added[index]
                if window[N] < least or not self._may_cross(state, memo, size, start, window):
                    continue
                after = [*window, 0.0]
                reasons = self.assess(state, memo, size, start, after, context.watching_days)
                if not reasons:
                    continue
                before = [a - c for a, c in zip(after, added, strict=True)]
                if self.assess(state, memo, size, start, before, context.watching_days):
                    continue  # already anomalous: alerted on the event that crossed
                findings.append(self._finding(observation, state, size, start, after, reasons))
        return findings

    def _finding(
        self,
        observation: Observation,
        state: KeyState,
        size: int,
        start: int,
        sums: list[float],
        reasons: list[dict[str, Any]],
    ) -> Finding:
        window = window_of(start, size)
        span = f"{size} day{'s' if size > 1 else ''} from {window.start.date().isoformat()}"
        totals = f"{sums[N]:g} declarations, {money(sums[VALUE])}"
        if reasons[0]["reason"] == "new_key_watched_goods":
            severity = Severity.HIGH
            detail = "no history, straight to a large volume of controlled goods on a risky route"
        else:
            lead = max(reasons, key=lambda r: r["robust_z"])
            severity = (
                Severity.HIGH
                if lead["robust_z"] >= 2 * self.config.z_threshold
                else Severity.MEDIUM
            )
            level = max(lead["baseline_median"] or lead["baseline_mean"], lead["baseline_p90"])
            usual = money(level) if lead["metric"] == "value_usd" else f"{level:g}"
            ratio = lead["ratio_to_usual"]
            detail = (
                f"{lead['metric'].replace('_usd', '')} at most {usual} in 9 of 10 usual windows"
                f"{f', {ratio:g}× that' if ratio else ''}, robust z {lead['robust_z']:g}"
            )
        return Finding(
            severity=severity,
            summary=f"Volume anomaly, {observation.label}: {totals} in {span} ({detail})",
            subject=Subject(
                kind=observation.dimension.label, key=observation.key, label=observation.label
            ),
            declaration_ids=tuple(ids_in_window(state, start, size))
            or (observation.declaration_id,),
            window=window,
            evidence={
                "dimension": observation.dimension.label,
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
                "late_declarations_not_counted": late_evidence(state),
            },
        )
