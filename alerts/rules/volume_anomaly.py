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

from dataclasses import dataclass
from typing import Any

from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.observations import Observation
from alerts.windows.state import (
    BUCKET_FIELDS,
    CONTROLLED_N,
    CONTROLLED_VALUE,
    QUANTITY,
    VALUE,
    Admission,
    KeyState,
    N,
)
from alerts.windows.stats import Baseline, rolling_sums
from alerts.windows.timing import datetime_of_day, day_of, iso_of_ms, window_start_days
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


def ids_in_window(state: KeyState, start_day: int, size_days: int) -> list[str]:
    return [i for i, t in state.recent if start_day <= day_of(t) < start_day + size_days]


def late_evidence(state: KeyState) -> list[dict[str, Any]]:
    return [{"declaration_id": i, "declared_at": iso_of_ms(t)} for i, t in state.late]


@dataclass(frozen=True)
class VolumeAnomaly:
    config: WindowConfig
    reference_data_version: str
    rule_id: str = "volume_anomaly.window"
    version: str = "1"
    category: AlertCategory = AlertCategory.VOLUME_ANOMALY

    def _prefix_sums(self, state: KeyState, day: int) -> tuple[int, list[list[float]]]:
        """Running bucket totals over every day a window holding `day` can cover: one pass that
        serves all of that day's windows (a window is a difference of two rows)."""
        reach = max(self.config.tumbling_days, self.config.hopping_days)
        first = day - reach + 1
        running = [0.0] * BUCKET_FIELDS
        prefix = [running]
        for other in range(first, day + reach):
            bucket = state.buckets.get(other)
            if bucket is not None:
                running = [total + amount for total, amount in zip(running, bucket, strict=True)]
            prefix.append(running)
        return first, prefix

    def window_shapes(self) -> list[tuple[int, int]]:
        shapes = [(self.config.tumbling_days, self.config.tumbling_days)]
        hopping = (self.config.hopping_days, self.config.hopping_step_days)
        return shapes if hopping in shapes else [*shapes, hopping]

    def _history_windows(self, state: KeyState, size: int, start: int) -> int:
        """How many same-sized windows of this key's past its baseline rests on (O(1))."""
        newest = start - 1 - size
        oldest = max(newest - self.config.baseline_windows + 1, state.first_day or newest + 1)
        return max(0, newest - oldest + 1)

    def _baseline(self, state: KeyState, size: int, start: int) -> list[Baseline]:
        cache_key = f"{size}:{start}"
        cached = state.baselines.get(cache_key)
        if cached is None:
            newest = start - 1 - size
            oldest = max(newest - self.config.baseline_windows + 1, state.first_day or 0)
            days = range(oldest, start - 1)
            cached = []
            for _, field, _, _ in METRICS:
                series = [state.buckets[d][field] if d in state.buckets else 0.0 for d in days]
                baseline = Baseline.of(rolling_sums(series, size))
                cached += [
                    baseline.median,
                    baseline.mad,
                    baseline.points,
                    baseline.mean,
                    baseline.p90,
                ]
            state.baselines[cache_key] = cached
        return [
            Baseline(cached[i], cached[i + 1], int(cached[i + 2]), cached[i + 3], cached[i + 4])
            for i in range(0, len(cached), 5)
        ]

    def assess(
        self,
        state: KeyState,
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
            (name, field, floor)
            for name, field, minimum, floor in METRICS
            if sums[field] >= getattr(config, minimum) and (field == N or enough_for_amounts)
        ]
        if not candidates:
            return []
        baselines = dict(
            zip((m[0] for m in METRICS), self._baseline(state, size, start), strict=True)
        )
        reasons = []
        for name, field, floor in candidates:
            baseline = baselines[name]
            value = sums[field]
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

    def evaluate(
        self,
        observation: Observation,
        state: KeyState,
        admission: Admission,
        contribution: list[float],
        watching_days: int | None = None,
    ) -> list[Finding]:
        if admission.late:
            return []
        day = day_of(observation.event_time_ms)
        # A cheap necessary condition: every alert needs a few declarations in a window that
        # holds `day`, so a key with fewer than that around it (most keys) needs no more work.
        least = min(self.config.min_count, self.config.min_declarations_for_amounts)
        reach = max(self.config.tumbling_days, self.config.hopping_days)
        buckets = state.buckets
        near = 0.0
        for other in range(day - reach + 1, day + reach):
            bucket = buckets.get(other)
            if bucket is not None:
                near += bucket[N]
        if near < least:
            return []
        first, prefix = self._prefix_sums(state, day)
        findings = []
        for size, step in self.window_shapes():
            for start in window_start_days(day, size, step):
                low, high = prefix[start - first], prefix[start + size - first]
                after = [h - lo for h, lo in zip(high, low, strict=True)]
                reasons = self.assess(state, size, start, after, watching_days)
                if not reasons:
                    continue
                if admission.counted:
                    before = [a - c for a, c in zip(after, contribution, strict=True)]
                    if self.assess(state, size, start, before, watching_days):
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
                kind=observation.dimension.value, key=observation.key, label=observation.label
            ),
            declaration_ids=tuple(ids_in_window(state, start, size))
            or (observation.declaration_id,),
            window=window,
            evidence={
                "dimension": observation.dimension.value,
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
