"""split_shipments: many small declarations of one controlled heading between the same two
parties in a short window, each under a value that one shipment would have crossed."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.evidence import ids_in_window, late_evidence, money, window_of
from alerts.windows.observations import Declared, Dimension, Observation, party_key, shown
from alerts.windows.state import (
    LARGE_N,
    QUANTITY,
    VALUE,
    Admission,
    Arrivals,
    KeyState,
    N,
    add_to_bucket,
    contribution,
    daily_counts,
    window_sums,
)
from alerts.windows.stats import CountMoments, count_tail, rolling_sums
from alerts.windows.timing import DAY_MS, window_start_days
from schemas.alert import AlertCategory, Severity, Subject

if TYPE_CHECKING:  # the registry imports the rules
    from alerts.windows.registry import RuleContext


def _exporter_importer_heading(declared: Declared) -> tuple[str, str] | None:
    """Watched goods only: the pair of exporter and importer, per heading."""
    if not declared.watched:
        return None
    exporter = declared.declaration.exporter
    heading = declared.declaration.hs_code[:4]
    return (
        f"{party_key(exporter.name, exporter.country)}|{declared.importer_key}|{heading}",
        f"exporter {shown(exporter.name, 60)} → importer {declared.importer_label} × heading "
        f"{heading}",
    )


EXPORTER_IMPORTER_HEADING = Dimension(3, "exporter_importer_heading", _exporter_importer_heading)


@dataclass(frozen=True)
class SplitShipments:
    """Windows of `split_window_days`, hopping by a day, over exporter × importer × heading of
    controlled goods: at least `split_min_count` declarations, none at or above the threshold,
    together at or above it; for a pair with history, a count whose chance (negative binomial
    over its past windows) is under `split_alpha`.
    A pair with some history but less than `min_history_windows` is not judged (neither new
    nor known)."""

    config: WindowConfig
    reference_data_version: str
    rule_id: str = "split_shipments.window"
    version: str = "2"
    category: AlertCategory = AlertCategory.SPLIT_SHIPMENTS
    dimensions: ClassVar[tuple[Dimension, ...]] = (EXPORTER_IMPORTER_HEADING,)

    @classmethod
    def build(cls, context: "RuleContext") -> "SplitShipments":
        return cls(context.config, context.version_of("control_lists"))

    @property
    def retention_days(self) -> int:
        return self.config.volume_retention_days

    def new_memo(self) -> dict[int, tuple[float, float, float]]:
        """Per window start, the pair's usual count per window (mean, variance) and the least
        count that alerts, derived from closed days."""
        return {}

    def is_split(self, sums: list[float], least: float) -> bool:
        """`least`: the count that makes this many small lots unusual for the pair."""
        return (
            sums[N] >= least
            and sums[LARGE_N] == 0
            and sums[VALUE] >= self.config.split_value_threshold_usd
        )

    def _usual(self, state: KeyState, start: int) -> tuple[float, float, float] | None:
        """The pair's declarations per window before this one (mean, variance) and the least
        count whose chance is under `split_alpha`; None below `min_history_windows`.

        A pair that always ships in small lots is not splitting anything."""
        config = self.config
        size = config.split_window_days
        newest = start - 1 - size
        oldest = max(newest - config.baseline_windows + 1, state.first_day or newest + 1)
        if newest - oldest + 1 < config.min_history_windows:
            return None
        counts = CountMoments.of(rolling_sums(daily_counts(state, oldest, start - 2), size))
        least = counts.threshold(config.split_alpha)
        return counts.mean, counts.variance, float(max(config.split_min_count, least))

    def observe(
        self,
        batch: Sequence[tuple[Observation, Admission]],
        state: KeyState,
        memo: dict[int, tuple[float, float, float]],
        stream_start_day: int | None,
        arrivals: Arrivals,
    ) -> list[tuple[Observation, Finding]]:
        found = []
        for index, (observation, admission) in enumerate(batch):
            if not admission.counted:
                continue
            watching = (
                None
                if stream_start_day is None
                else observation.event_time_ms // DAY_MS - stream_start_day
            )
            found += [
                (observation, f)
                for f in self._observe_one(observation, state, memo, watching, arrivals, index)
            ]
        return found

    def _observe_one(
        self,
        observation: Observation,
        state: KeyState,
        memo: dict[int, tuple[float, float, float]],
        watching_days: int | None,
        arrivals: Arrivals,
        index: int,
    ) -> list[Finding]:
        config = self.config
        added = contribution(observation, config.split_value_threshold_usd)
        add_to_bucket(state, observation.event_time_ms // DAY_MS, added)
        size = config.split_window_days
        findings = []
        for start in window_start_days(observation.event_time_ms // DAY_MS, size, 1):
            after = window_sums(state, start, size)
            if after[N] < config.split_min_count:
                continue
            usual = memo.get(start)
            if usual is None:
                usual = self._usual(state, start)
                if usual is not None:
                    # From closed days of a pair with history: fixed, so kept. (A young pair's
                    # history can still gain a day from a late declaration: not kept.)
                    memo[start] = usual
                    if len(memo) > 32:
                        for old in sorted(memo)[:-16]:
                            del memo[old]
            if usual is None and not (state.first_day is None or state.first_day >= start - 1):
                continue  # some past, too little to judge by: neither new nor known
            if usual is None and (
                watching_days is not None and watching_days < config.min_history_windows + size
            ):
                continue  # a new pair is judged only once the stream is old enough to tell
            least = float(config.split_min_count) if usual is None else usual[2]
            if not self.is_split(after, least):
                continue
            before = [a - c for a, c in zip(after, added, strict=True)]
            if self.is_split(before, least):
                continue
            history: dict[str, Any] = (
                {"pair": "new: no earlier declarations"}
                if usual is None
                else {
                    "expected": round(usual[0], 2),
                    "variance": round(usual[1], 2),
                    "probability": float(f"{count_tail(after[N], usual[0], usual[1]):.3g}"),
                    "alpha": config.split_alpha,
                }
            )
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
                        kind=observation.kind.label,
                        key=observation.key,
                        label=observation.label,
                    ),
                    declaration_ids=tuple(ids_in_window(arrivals.recent(index), start, size)),
                    window=window,
                    evidence={
                        "window_days": size,
                        "declarations": after[N],
                        "total_value_usd": round(after[VALUE], 2),
                        "total_quantity": round(after[QUANTITY], 3),
                        "threshold_usd": self.config.split_value_threshold_usd,
                        "heading": observation.hs_code[:4],
                        "least_alerting": least,
                        **history,
                        "crossed_by": observation.declaration_id,
                        "late_declarations_not_counted": late_evidence(arrivals.late(index)),
                    },
                )
            )
        return findings
