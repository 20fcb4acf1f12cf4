"""The window engine: one observation and its key's state in, the new state and findings out.

Pure: the faust agent calls it with state from a changelog-backed table, the offline backtest
with state from a dict, and both give the same alerts for the same observations.
"""

from dataclasses import dataclass

from alerts.reference import ReferenceData
from alerts.rules.base import Finding
from alerts.rules.split_shipments import SplitShipments
from alerts.rules.value_anomaly import Band, UnitValueAnomaly
from alerts.rules.volume_anomaly import VolumeAnomaly
from alerts.windows.config import WindowConfig
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension, Observation
from alerts.windows.state import Admission, KeyState, add_to_bucket, admit
from alerts.windows.timing import day_of

WindowRule = VolumeAnomaly | SplitShipments | UnitValueAnomaly


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    state: KeyState
    admission: Admission
    findings: list[tuple[WindowRule, Finding]]


class WindowEngine:
    """Admits each observation into its key's state and runs the window rule for its dimension.

    >>> engine = WindowEngine.build(ReferenceData.load(), WindowConfig())
    >>> outcome = engine.process(observation, state=None)
    """

    def __init__(
        self,
        config: WindowConfig,
        volume: VolumeAnomaly,
        split: SplitShipments,
        value: UnitValueAnomaly,
    ) -> None:
        self.config = config
        self.volume = volume
        self.split = split
        self.value = value
        self.rules: list[WindowRule] = [volume, split, value]

    @classmethod
    def build(
        cls, reference: ReferenceData, config: WindowConfig, fx: FxRates | None = None
    ) -> "WindowEngine":
        """The window rules over this reference data; `fx` is the rate table used for values
        (the reference data's own fx_rates file when not given), cited in every alert."""
        fx = fx or FxRates.from_reference(reference)
        seeds = {
            (r.hs_subheading, r.unit): Band(r.p05_usd, r.p50_usd, r.p95_usd, 0, "seed")
            for r in reference.unit_value_bands()
        }
        volume_version = ",".join(sorted([fx.label, reference.version_of("control_lists")]))
        value_version = ",".join(sorted([fx.label, reference.version_of("unit_value_bands")]))
        return cls(
            config,
            VolumeAnomaly(config, volume_version),
            SplitShipments(config, volume_version),
            UnitValueAnomaly(config, seeds, value_version),
        )

    def contribution(self, observation: Observation) -> list[float]:
        value = observation.value_usd or 0.0
        watched = 1.0 if observation.watched else 0.0
        large = 1.0 if value >= self.config.split_value_threshold_usd else 0.0
        return [1.0, observation.quantity, value, watched, watched * value, large]

    def process(
        self, observation: Observation, state: KeyState | None, stream_start_ms: int | None = None
    ) -> WindowOutcome:
        """Admit the observation and run its dimension's rule.

        `stream_start_ms` is the earliest event time this window stage has seen: until the
        stream has watched for the minimum history, no key can be told new, so the new-key and
        new-pair rules wait (the cold start of a deployment or of a replay).
        """
        state = state if state is not None else KeyState()
        is_value = observation.dimension is Dimension.SUBHEADING_UNIT
        config = self.config
        admission = admit(
            state,
            observation.declaration_id,
            observation.event_time_ms,
            observation.source_partition,
            observation.source_offset,
            grace_ms=config.grace_ms,
            retention_days=config.value_retention_days
            if is_value
            else config.volume_retention_days,
            ids_kept=config.late_ids_kept,
        )
        contribution = self.contribution(observation)
        if admission.counted and not is_value:
            add_to_bucket(state, day_of(observation.event_time_ms), contribution)
        rule: WindowRule
        if is_value:
            rule = self.value
        elif observation.dimension is Dimension.EXPORTER_IMPORTER_HEADING:
            rule = self.split
        else:
            rule = self.volume
        watching_days = (
            day_of(observation.event_time_ms) - day_of(stream_start_ms)
            if stream_start_ms is not None
            else None
        )
        findings = rule.evaluate(observation, state, admission, contribution, watching_days)
        self._forget_old_baselines(state)
        return WindowOutcome(state, admission, [(rule, f) for f in findings])

    def _forget_old_baselines(self, state: KeyState) -> None:
        newest = state.watermark_day
        if newest is None or len(state.baselines) < 16:
            return
        horizon = newest - 2 * max(self.config.hopping_days, self.config.split_window_days) - 2
        for key in list(state.baselines):
            if int(key.rsplit(":", 1)[1]) < horizon:
                del state.baselines[key]
