"""The window rules, in one list: where a new window rule is added.

A window rule is one module under `alerts/rules/` that declares:
- the kinds of key it watches, each a `Dimension` (alerts/windows/observations.py) with a number
  and a label of its own and an `extract` that gives a declaration's observation of it;
- one class that follows `alerts.windows.rule.WindowRule`: those dimensions, how long its keys
  keep their days, its memo and `observe`, and a `build(context)` class method.

It is added to WINDOW_RULES below, and that is all: screening extracts the observations of every
dimension listed here, and the engine builds every rule and routes each observation to the rule
of its dimension. The helpers the rules share (buckets, daily series, evidence) are in
`alerts.windows.state`, `alerts.windows.stats` and `alerts.windows.evidence`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.reference import ReferenceData
from alerts.retro import PARTY_INDEX
from alerts.rules.split_shipments import SplitShipments
from alerts.rules.value_anomaly import UnitValueAnomaly
from alerts.rules.volume_anomaly import VolumeAnomaly
from alerts.windows.config import WindowConfig
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension
from alerts.windows.rule import WindowRule


@dataclass(frozen=True)
class RuleContext:
    """What a window rule is built from: its settings, the reference data and the rate table
    its values are converted with."""

    config: WindowConfig
    reference: ReferenceData
    fx: FxRates

    def version_of(self, *datasets: str) -> str:
        """The reference data version a rule cites: the rate table's and these datasets'."""
        return ",".join(sorted([self.fx.label, *(self.reference.version_of(d) for d in datasets)]))


class WindowRuleType(Protocol):
    @property
    def dimensions(self) -> tuple[Dimension, ...]: ...

    def build(self, context: RuleContext) -> WindowRule: ...


WINDOW_RULES: Sequence[WindowRuleType] = (VolumeAnomaly, UnitValueAnomaly, SplitShipments)
"""Every window rule, each watching dimensions of its own."""

WINDOW_DIMENSIONS: tuple[Dimension, ...] = tuple(d for r in WINDOW_RULES for d in r.dimensions)
"""What screening observes of each declaration, in this order."""

DIMENSIONS: tuple[Dimension, ...] = (*WINDOW_DIMENSIONS, PARTY_INDEX)
"""Every kind of key the window table holds: the window rules' and the party index's."""


def build_rules(context: RuleContext) -> list[WindowRule]:
    return [rule.build(context) for rule in WINDOW_RULES]
