"""The window rules, in one list: where a new window rule is added.

A window rule is one module under `alerts/rules/` with one class that follows
`alerts.windows.rule.WindowRule` (its dimensions, how long its keys keep their days, its memo and
`observe`) and a `build(context)` class method; it is added to WINDOW_RULES below. The engine
builds every rule listed here and routes each observation to the rule of its dimension; the
helpers every rule shares (buckets, daily series, evidence) are in `alerts.windows.state` and
`alerts.windows.evidence`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.reference import ReferenceData
from alerts.rules.split_shipments import SplitShipments
from alerts.rules.value_anomaly import UnitValueAnomaly
from alerts.rules.volume_anomaly import VolumeAnomaly
from alerts.windows.config import WindowConfig
from alerts.windows.fx import FxRates
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
    def build(self, context: RuleContext) -> WindowRule: ...


WINDOW_RULES: Sequence[WindowRuleType] = (VolumeAnomaly, SplitShipments, UnitValueAnomaly)
"""Every window rule, each watching dimensions of its own."""


def build_rules(context: RuleContext) -> list[WindowRule]:
    return [rule.build(context) for rule in WINDOW_RULES]
