"""Window sizes, baselines and thresholds of the window rules, with their defaults."""

from dataclasses import dataclass

HOUR_MS = 3_600_000


class WindowConfigError(ValueError):
    """A rule across the window fields is broken: which field, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class WindowConfig:
    """Everything the window rules can be tuned by. Times in days or milliseconds, values in USD."""

    tumbling_days: int = 1
    hopping_days: int = 7
    hopping_step_days: int = 1
    grace_ms: int = 6 * HOUR_MS
    """A declaration up to this much older than the newest one seen for its key still counts."""
    baseline_windows: int = 28
    """How many past windows of the same size make a key's baseline."""
    min_history_windows: int = 14
    """Below this many past windows a key has no baseline (only the new-key rule applies)."""
    volume_alpha: float = 1e-6
    """The chance an ordinary window of a key alerts in the volume rule: one test per key,
    window and day adds up over thousands of keys (about 0.1 false alerts a day at 100,000)."""
    min_count: int = 10
    min_declarations_for_amounts: int = 5
    """A new key's watched value counts only over at least this many watched declarations in
    the window: one big shipment is the value rules' business, not a volume anomaly."""
    new_key_controlled_value_usd: float = 100_000
    new_key_controlled_count: int = 20
    split_window_days: int = 3
    split_min_count: int = 5
    split_alpha: float = 1e-6
    """The chance an ordinary pair's window alerts in the split rule (as volume_alpha)."""
    split_value_threshold_usd: float = 10_000
    value_band_days: int = 90
    value_min_observations: int = 30
    value_band_factor: float = 3.0
    late_ids_kept: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.grace_ms <= 24 * HOUR_MS:
            # Baselines use days before the day before a window; that holds with grace <= 1 day.
            raise WindowConfigError("grace_ms", "must be between 0 and 24 hours")
        if not 1 <= self.hopping_step_days <= self.hopping_days:
            raise WindowConfigError(
                "hopping_step_days", f"must be between 1 and hopping_days ({self.hopping_days})"
            )
        if self.min_history_windows > self.baseline_windows:
            raise WindowConfigError(
                "min_history_windows", f"must be at most baseline_windows ({self.baseline_windows})"
            )

    @property
    def volume_retention_days(self) -> int:
        """Days of buckets a volume key keeps: its longest window twice, plus the baseline."""
        longest = max(self.tumbling_days, self.hopping_days, self.split_window_days)
        return 2 * longest + self.baseline_windows + 2

    @property
    def value_retention_days(self) -> int:
        return self.value_band_days + 2
