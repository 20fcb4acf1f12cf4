"""split_shipments: many small declarations of one controlled heading between the same two
parties in a short window, each under a value that one shipment would have crossed."""

from dataclasses import dataclass

from alerts.rules.base import Finding
from alerts.rules.volume_anomaly import ids_in_window, late_evidence, money, window_of
from alerts.windows.config import WindowConfig
from alerts.windows.observations import Observation
from alerts.windows.state import LARGE_N, QUANTITY, VALUE, Admission, KeyState, N, window_sums
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

    def is_split(self, sums: list[float]) -> bool:
        return (
            sums[N] >= self.config.split_min_count
            and sums[LARGE_N] == 0
            and sums[VALUE] >= self.config.split_value_threshold_usd
        )

    def evaluate(
        self,
        observation: Observation,
        state: KeyState,
        admission: Admission,
        contribution: list[float],
    ) -> list[Finding]:
        if admission.late:
            return []
        size = self.config.split_window_days
        findings = []
        for start in window_start_days(day_of(observation.event_time_ms), size, 1):
            after = window_sums(state, start, size)
            if not self.is_split(after):
                continue
            if admission.counted:
                before = [a - c for a, c in zip(after, contribution, strict=True)]
                if self.is_split(before):
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
