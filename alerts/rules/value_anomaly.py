"""value_anomaly: a unit value far outside the band that is normal for its HS subheading.

The band (5th, 50th and 95th percentile of unit value in US dollars, per subheading and unit) is
learned from the stream: a histogram of log unit values per day, merged over the days before the
day before the declaration, so that, like the volume baselines, it does not depend on arrival
order. Until a subheading has enough observations, a seed band from the reference data serves.
"""

from dataclasses import dataclass
from typing import Any

from alerts.rules.base import Finding
from alerts.rules.volume_anomaly import late_evidence
from alerts.windows.config import WindowConfig
from alerts.windows.observations import Observation
from alerts.windows.state import Admission, KeyState
from alerts.windows.stats import histogram_quantiles, log_bin, merge_histograms
from alerts.windows.timing import day_of
from schemas.alert import AlertCategory, Severity, Subject


@dataclass(frozen=True, slots=True)
class Band:
    p05: float
    p50: float
    p95: float
    observations: int
    origin: str  # "learned" or "seed"


@dataclass(frozen=True)
class UnitValueAnomaly:
    config: WindowConfig
    seeds: dict[tuple[str, str], Band]
    reference_data_version: str
    rule_id: str = "value_anomaly.unit_value"
    version: str = "1"
    category: AlertCategory = AlertCategory.VALUE_ANOMALY

    def band(self, observation: Observation, state: KeyState, day: int) -> Band | None:
        cache_key = f"band:{day}"
        cached = state.baselines.get(cache_key)
        if cached is None:
            days = range(day - 1 - self.config.value_band_days, day - 1)
            merged = merge_histograms(state.histograms[d] for d in days if d in state.histograms)
            observations = sum(merged.values())
            if observations >= self.config.value_min_observations:
                cached = [*histogram_quantiles(merged, (0.05, 0.5, 0.95)), observations]
            else:
                cached = [observations]
            state.baselines[cache_key] = cached
        if len(cached) == 4:
            return Band(cached[0], cached[1], cached[2], int(cached[3]), "learned")
        subheading, unit = observation.key.split("|")
        return self.seeds.get((subheading, unit))

    def evaluate(
        self,
        observation: Observation,
        state: KeyState,
        admission: Admission,
        contribution: list[float],
        watching_days: int | None = None,
    ) -> list[Finding]:
        unit_value = observation.unit_value_usd
        if unit_value is None:
            return []
        day = day_of(observation.event_time_ms)
        band = self.band(observation, state, day)
        if admission.counted:
            histogram = state.histograms.setdefault(day, {})
            index = log_bin(unit_value)
            histogram[index] = histogram.get(index, 0) + 1
        if band is None:
            return []
        factor = self.config.value_band_factor
        if band.p05 / factor <= unit_value <= band.p95 * factor:
            return []
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
            "late_declarations_not_counted": late_evidence(state),
        }
        return [
            Finding(
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
        ]
