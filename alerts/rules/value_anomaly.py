"""value_anomaly: a unit value far outside the band that is normal for its HS subheading.

The band (5th, 50th and 95th percentile of unit value in US dollars, per subheading and unit) is
learned from the stream: a histogram of log unit values per day, merged over the days before the
day before the declaration, so that, like the volume baselines, it does not depend on arrival
order. Until a subheading has enough observations, a seed band from the reference data serves.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from alerts.hs import hs_display
from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.evidence import late_evidence
from alerts.windows.observations import Declared, Dimension, Observation
from alerts.windows.state import Admission, Arrivals, KeyState
from alerts.windows.stats import histogram_quantiles, log_bin
from alerts.windows.timing import DAY_MS
from schemas.alert import AlertCategory, Severity, Subject

if TYPE_CHECKING:  # the registry imports the rules
    from alerts.windows.registry import RuleContext


@lru_cache(maxsize=65_536)
def _subheading_label(subheading: str, unit: str) -> str:
    return f"HS {hs_display(subheading)} per {unit}"


def _subheading_unit(declared: Declared) -> tuple[str, str]:
    subheading, unit = declared.declaration.hs_code[:6], declared.declaration.quantity_unit
    return f"{subheading}|{unit}", _subheading_label(subheading, unit)


SUBHEADING_UNIT = Dimension(4, "subheading_unit", _subheading_unit)


@dataclass(frozen=True, slots=True)
class Band:
    p05: float
    p50: float
    p95: float
    observations: int
    origin: str  # "learned" or "seed"


@dataclass(slots=True)
class BandMemo:
    """Derived from a key's state: the histogram merged over the band's days for `day`, and
    the band of each day asked for. A day's band uses closed days only, so it never changes."""

    day: int | None = None
    merged: dict[int, int] = field(default_factory=dict)
    bands: dict[int, Band | None] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitValueAnomaly:
    config: WindowConfig
    seeds: dict[tuple[str, str], Band]
    reference_data_version: str
    rule_id: str = "value_anomaly.unit_value"
    version: str = "1"
    category: AlertCategory = AlertCategory.VALUE_ANOMALY
    dimensions: ClassVar[tuple[Dimension, ...]] = (SUBHEADING_UNIT,)

    @classmethod
    def build(cls, context: "RuleContext") -> "UnitValueAnomaly":
        seeds = {
            (r.hs_subheading, r.unit): Band(r.p05_usd, r.p50_usd, r.p95_usd, 0, "seed")
            for r in context.reference.unit_value_bands()
        }
        return cls(context.config, seeds, context.version_of("unit_value_bands"))

    @property
    def retention_days(self) -> int:
        return self.config.value_retention_days

    def new_memo(self) -> BandMemo:
        return BandMemo()

    def _merged(self, state: KeyState, memo: BandMemo, day: int) -> dict[int, int]:
        """The histogram of days [day - 1 - band_days, day - 1), moved along from the last day
        asked for by adding the days that entered and taking out those that left."""
        span = self.config.value_band_days
        merged = memo.merged
        previous = memo.day
        # Days older than the retention are gone from the state: they cannot be taken out.
        oldest_kept = (state.watermark_day or day) - self.retention_days
        if (
            previous is None
            or day < previous
            or day - previous >= span
            or previous - 1 - span < oldest_kept
        ):
            merged.clear()
            entering = range(day - 1 - span, day - 1)
            leaving: range = range(0)
        else:
            entering = range(previous - 1, day - 1)
            leaving = range(previous - 1 - span, day - 1 - span)
        histograms = state.histograms
        for other in entering:
            for index, count in histograms.get(other, {}).items():
                merged[index] = merged.get(index, 0) + count
        for other in leaving:
            for index, count in histograms.get(other, {}).items():
                left = merged[index] - count
                if left:
                    merged[index] = left
                else:
                    del merged[index]
        memo.day = day
        return merged

    def band(self, observation: Observation, state: KeyState, memo: BandMemo) -> Band | None:
        day = observation.event_time_ms // DAY_MS
        if day in memo.bands:
            found = memo.bands[day]
        else:
            merged = self._merged(state, memo, day)
            observations = sum(merged.values())
            if observations >= self.config.value_min_observations:
                p05, p50, p95 = histogram_quantiles(merged, (0.05, 0.5, 0.95))
                found = Band(p05, p50, p95, observations, "learned")
            else:
                found = None
            memo.bands[day] = found
            if len(memo.bands) > 8:
                del memo.bands[min(memo.bands)]
        if found is not None:
            return found
        subheading, unit = observation.key.split("|")
        return self.seeds.get((subheading, unit))

    def observe(
        self,
        batch: Sequence[tuple[Observation, Admission]],
        state: KeyState,
        memo: BandMemo,
        stream_start_day: int | None,
        arrivals: Arrivals,
    ) -> list[tuple[Observation, Finding]]:
        found = []
        for index, (observation, admission) in enumerate(batch):
            finding = self._observe_one(observation, state, memo, admission, arrivals, index)
            if finding is not None:
                found.append((observation, finding))
        return found

    def _observe_one(
        self,
        observation: Observation,
        state: KeyState,
        memo: BandMemo,
        admission: Admission,
        arrivals: Arrivals,
        index: int,
    ) -> Finding | None:
        if admission.duplicate:
            return None
        unit_value = observation.unit_value_usd
        if unit_value is None:
            return None
        band = self.band(observation, state, memo)
        if admission.counted:
            day = observation.event_time_ms // DAY_MS
            histogram = state.histograms.setdefault(day, {})
            index = log_bin(unit_value)
            histogram[index] = histogram.get(index, 0) + 1
        if band is None:
            return None
        factor = self.config.value_band_factor
        if band.p05 / factor <= unit_value <= band.p95 * factor:
            return None
        below = unit_value < band.p05 / factor
        ratio = band.p50 / unit_value if below else unit_value / band.p50
        severity = Severity.HIGH if observation.watched or ratio >= 10 else Severity.MEDIUM
        unit = observation.unit
        summary = (
            f"Unit value ${unit_value:,.2f}/{unit} for {observation.label} is {ratio:,.0f}× "
            f"{'below' if below else 'above'} the usual ${band.p50:,.2f} (band "
            f"${band.p05:,.2f}–${band.p95:,.2f}, {band.origin}"
            f"{f' from {band.observations} declarations' if band.origin == 'learned' else ''}): "
            f"declaration {observation.declaration_id}, {observation.quantity:g} {unit}"
        )
        evidence: dict[str, Any] = {
            "unit_value_usd": round(unit_value, 4),
            "quantity": observation.quantity,
            "unit": unit,
            "value_usd": observation.value_usd,
            "hs_code": observation.hs_code,
            "band": {
                "p05_usd": round(band.p05, 4),
                "p50_usd": round(band.p50, 4),
                "p95_usd": round(band.p95, 4),
                "origin": band.origin,
                "observations": band.observations,
                "factor": factor,
            },
            "direction": "below" if below else "above",
            "ratio_to_median": round(ratio, 1),
            "watched_goods": observation.watched,
            "late": admission.late,
            "late_declarations_not_counted": late_evidence(arrivals.late(index)),
        }
        return Finding(
            severity=severity,
            summary=summary,
            subject=Subject(
                kind="declaration",
                key=observation.declaration_id,
                label=f"declaration {observation.declaration_id}",
            ),
            declaration_ids=(observation.declaration_id,),
            evidence=evidence,
        )
