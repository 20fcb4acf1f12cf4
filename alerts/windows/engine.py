"""The window engine: one observation and its key's state in, the findings it makes out.

Pure: the faust agent calls it with state from a changelog-backed table, the offline backtest
with state from a dict, and both give the same alerts for the same observations.
"""

from dataclasses import dataclass, field
from typing import Any

from alerts.reference import ReferenceData
from alerts.rules.base import Finding
from alerts.rules.split_shipments import SplitShipments
from alerts.rules.value_anomaly import Band, UnitValueAnomaly
from alerts.rules.volume_anomaly import VolumeAnomaly
from alerts.windows.config import WindowConfig
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension, Observation
from alerts.windows.rule import Context, WindowRule
from alerts.windows.state import Admission, KeyState, admit
from alerts.windows.timing import DAY_MS


@dataclass(slots=True)
class KeyEntry:
    """A key's state with the memo its rule derives from it (never stored: derived again)."""

    state: KeyState
    memo: Any


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    admission: Admission
    findings: list[tuple[WindowRule, Finding]] = field(default_factory=list)


class WindowEngine:
    """Admits each observation into its key's state and runs the rule of its dimension.

    >>> engine = WindowEngine.build(ReferenceData.load(), WindowConfig())
    >>> entry = engine.new_entry(observation.dimension)
    >>> outcome = engine.process(observation, entry, stream_start_ms)
    """

    def __init__(self, config: WindowConfig, rules: list[WindowRule]) -> None:
        self.config = config
        self.rules = rules
        self._by_dimension: dict[Dimension, WindowRule] = {}
        for rule in rules:
            for dimension in rule.dimensions:
                if dimension in self._by_dimension:
                    raise ValueError(f"two window rules for {dimension.label}")
                self._by_dimension[dimension] = rule

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
            [
                VolumeAnomaly(config, volume_version),
                SplitShipments(config, volume_version),
                UnitValueAnomaly(config, seeds, value_version),
            ],
        )

    def rule_for(self, dimension: Dimension) -> WindowRule:
        return self._by_dimension[dimension]

    def new_entry(self, dimension: Dimension, state: KeyState | None = None) -> KeyEntry:
        return KeyEntry(state or KeyState(), self._by_dimension[dimension].new_memo())

    def process(
        self, observation: Observation, entry: KeyEntry, stream_start_ms: int | None = None
    ) -> WindowOutcome:
        """Admit the observation and run its dimension's rule.

        `stream_start_ms` is where the stream of this window stage's partition started: until
        the stream has watched for the minimum history, no key can be told new.
        """
        rule = self._by_dimension[observation.dimension]
        config = self.config
        admission = admit(
            entry.state,
            observation.declaration_id,
            observation.event_time_ms,
            observation.source_partition,
            observation.source_offset,
            grace_ms=config.grace_ms,
            retention_days=rule.retention_days,
            ids_kept=config.late_ids_kept,
        )
        if admission.duplicate:
            return WindowOutcome(admission)
        watching_days = (
            observation.event_time_ms // DAY_MS - stream_start_ms // DAY_MS
            if stream_start_ms is not None
            else None
        )
        findings = rule.observe(
            observation, entry.state, entry.memo, Context(admission, watching_days)
        )
        return WindowOutcome(admission, [(rule, f) for f in findings])
