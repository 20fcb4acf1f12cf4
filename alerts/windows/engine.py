"""The window engine: one observation and its key's state in, the findings it makes out.

Pure: the faust agent calls it with state from a changelog-backed table, the offline backtest
with state from a dict, and both give the same alerts for the same observations.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.reference import ReferenceData
from alerts.rules.base import Finding
from alerts.windows.config import WindowConfig
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension, Observation
from alerts.windows.registry import RuleContext, build_rules
from alerts.windows.rule import WindowRule
from alerts.windows.state import COUNTED, LATE, Admission, Arrivals, KeyState, admit
from alerts.windows.timing import DAY_MS


@dataclass(slots=True)
class KeyEntry:
    """A key's state with the memo its rule derives from it (never stored: derived again)."""

    state: KeyState
    memo: Any


@dataclass(slots=True)
class WindowOutcome:
    """What a run of one key's observations gave: each one's admission, in order, and the
    findings, each with the rule that found it and the observation that made it cross; and
    how many were counted, late and replayed."""

    admissions: list[Admission] = field(default_factory=list)
    findings: list[tuple[WindowRule, Observation, Finding]] = field(default_factory=list)
    counted: int = 0
    late: int = 0
    replayed: int = 0


class WindowEngine:
    """Admits each observation into its key's state and runs the rule of its dimension.

    >>> engine = WindowEngine.build(ReferenceData.load(), WindowConfig())
    >>> entry = engine.new_entry(observation.kind)
    >>> outcome = engine.process(observation, entry, stream_start_ms)
    """

    def __init__(self, config: WindowConfig, rules: list[WindowRule]) -> None:
        self.config = config
        self.rules = rules
        self.dimensions = tuple(d for rule in rules for d in rule.dimensions)
        """What screening observes of each declaration for these rules, in this order."""
        # By dimension number, as observations carry it.
        self._by_dimension: dict[int, WindowRule] = {}
        self._retention: dict[int, int] = {}  # read once per observation: kept at hand
        for rule in rules:
            for dimension in rule.dimensions:
                if dimension.number in self._by_dimension:
                    raise ValueError(f"two window rules for {dimension.label}")
                self._by_dimension[dimension.number] = rule
                self._retention[dimension.number] = rule.retention_days

    @classmethod
    def build(
        cls, reference: ReferenceData, config: WindowConfig, fx: FxRates | None = None
    ) -> "WindowEngine":
        """The window rules over this reference data; `fx` is the rate table used for values
        (the reference data's own fx_rates file when not given), cited in every alert."""
        context = RuleContext(config, reference, fx or FxRates.from_reference(reference))
        return cls(config, build_rules(context))

    def rule_for(self, dimension: Dimension) -> WindowRule:
        return self._by_dimension[dimension.number]

    def new_entry(self, dimension: Dimension, state: KeyState | None = None) -> KeyEntry:
        return KeyEntry(state or KeyState(), self._by_dimension[dimension.number].new_memo())

    def process(
        self,
        observations: Sequence[Observation],
        entry: KeyEntry,
        stream_start_ms: int | None = None,
    ) -> WindowOutcome:
        """Admit a run of one key's observations, in order, and run its dimension's rule.

        `stream_start_ms` is where the stream of this window stage's partition started: until
        the stream has watched for the minimum history, no key can be told new.
        """
        dimension = observations[0].dimension
        rule = self._by_dimension[dimension]
        retention_days = self._retention[dimension]
        config = self.config
        grace_ms = config.grace_ms
        ids_kept = config.late_ids_kept
        state = entry.state
        outcome = WindowOutcome()
        admissions = outcome.admissions
        batch = []
        for observation in observations:
            admission = admit(
                state,
                observation.declaration_id,
                observation.event_time_ms,
                observation.source_partition,
                observation.source_offset,
                grace_ms,
                retention_days,
                ids_kept,
                False,
            )
            admissions.append(admission)
            if admission is COUNTED:
                outcome.counted += 1
                batch.append((observation, admission))
            elif admission is LATE:
                outcome.late += 1
                batch.append((observation, admission))
            else:
                outcome.replayed += 1
        if batch:
            arrivals = Arrivals(state, batch, ids_kept)
            start_day = None if stream_start_ms is None else stream_start_ms // DAY_MS
            found = rule.observe(batch, state, entry.memo, start_day, arrivals)
            arrivals.commit(state)
            if found:
                outcome.findings = [(rule, observation, f) for observation, f in found]
        return outcome
