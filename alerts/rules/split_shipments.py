"""split_shipments: many small declarations of one controlled heading between the same two
parties in a short window, each under a value that one shipment would have crossed."""

from dataclasses import dataclass

from alerts.rules.base import Finding
from alerts.rules.volume_anomaly import ids_in_window, late_evidence, money, window_of
from alerts.windows.config import WindowConfig
from alerts.windows.observations import Observation
from alerts.windows.state import LARGE_N, QUANTITY, VALUE, Admission, KeyState, N, window_sums
from alerts.windows.stats import median, rolling_sums
from alerts.windows.timing import day_of, window_start_days
from schemas.alert import AlertCategory, Severity, Subject


@dataclass(frozen=True)
class SplitShipments:
    """Windows of `split_window_days`, hopping by a day, over exporter × importer × heading of
    controlled goods: at least `split_min_count` declarations, none at or above the threshold,
    together at or above it."""

    config: WindowConfig
    reference_data_version: str
    rule_id: str = "split_shipments.window"
    version: str = "1"
    category: AlertCategory = AlertCategory.SPLIT_SHIPMENTS

    def is_split(self, sums: list[float], usual: float | None) -> bool:
        """`usual` is the pair's median declarations per window (None: no history yet)."""
        return (
            sums[N] >= self.config.split_min_count
            and sums[LARGE_N] == 0
            and sums[VALUE] >= self.config.split_value_threshold_usd
            and (usual is None or sums[N] >= self.config.min_ratio * max(usual, 1.0))
        )

    def _usual(self, state: KeyState, start: int, watching_days: int | None) -> float | None:
        """The pair's median declarations per window before this one, or None for a new pair.

        A pair that always ships in small lots is not splitting anything; a new pair is judged
        only once the stream has watched long enough to know it is new. Raises LookupError to
        mean: too early to tell."""
        size = self.config.split_window_days
        newest = start - 1 - size
        oldest = max(newest - self.config.baseline_windows + 1, state.first_day or newest + 1)
        if newest - oldest + 1 >= self.config.min_history_windows:
            days = range(oldest, start - 1)
            series = [state.buckets[d][N] if d in state.buckets else 0.0 for d in days]
            return median(rolling_sums(series, size)) if series else 0.0
        if watching_days is not None and watching_days < self.config.min_history_windows + size:
            raise LookupError("stream too young")
        return None

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
        size = self.config.split_window_days
        findings = []
        for start in window_start_days(day_of(observation.event_time_ms), size, 1):
            after = window_sums(state, start, size)
            if after[N] < self.config.split_min_count:
                continue
            try:
                usual = self._usual(state, start, watching_days)
            except LookupError:
                continue
            if not self.is_split(after, usual):
                continue
            if admission.counted:
                before = [a - c for a, c in zip(after, contribution, strict=True)]
                if self.is_split(before, usual):
                    continue
            window = window_of(start, size)
            threshold = money(self.config.split_value_threshold_usd)
            findings.append(
                Finding(
                    severity=Severity.HIGH,
                    summary=(
                        f"Possible split shipments, {observation.label}: {after[N]:g} declarations"
                        f" of controlled goods in {size} days from {window.start.date()}, each "
                        f"under {threshold}, together {money(after[VALUE])}"
                    ),
                    subject=Subject(
                        kind=observation.dimension.value,
                        key=observation.key,
                        label=observation.label,
                    ),
                    declaration_ids=tuple(ids_in_window(state, start, size)),
                    window=window,
                    evidence={
                        "window_days": size,
                        "declarations": after[N],
                        "total_value_usd": round(after[VALUE], 2),
                        "total_quantity": round(after[QUANTITY], 3),
                        "threshold_usd": self.config.split_value_threshold_usd,
                        "heading": observation.hs_code[:4],
                        "crossed_by": observation.declaration_id,
                        "late_declarations_not_counted": late_evidence(state),
                    },
                )
            )
        return findings
