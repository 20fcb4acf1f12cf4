"""What a window rule is: the protocol the window engine drives, one rule per dimension.

A new window rule is one module: the dimensions it watches, each declared there with the
`extract` that gives a declaration's key of it (alerts/windows/observations.py), and one class
with those dimensions, how long its keys keep their days, its memo (what it derives from the
state and keeps beside it, never stored) and `observe`, which folds a counted observation into the
state and returns the findings of the windows that this observation made cross. It is listed
once, in alerts/windows/registry.py; the engine never lists the rules by hand.
"""

from collections.abc import Sequence
from typing import Any, Protocol

from alerts.rules.base import Finding, RuleMeta
from alerts.windows.observations import Dimension, Observation
from alerts.windows.state import Admission, Arrivals, KeyState


class WindowRule(RuleMeta, Protocol):
    """A rule over the windows of one kind of aggregation key.

    `observe` takes a run of one key's observations, in order, each with its admission, and
    returns the findings with the observation that made each. It must be deterministic in
    (state, memo derived from state, observations), so that a replay after a crash gives the
    same findings, and judge as if the observations came one at a time: a window is found once,
    by the observation that makes it cross.
    """

    @property
    def dimensions(self) -> tuple[Dimension, ...]: ...

    @property
    def retention_days(self) -> int: ...

    def new_memo(self) -> Any: ...

    def observe(
        self,
        batch: Sequence[tuple[Observation, Admission]],
        state: KeyState,
        memo: Any,
        stream_start_day: int | None,
        arrivals: Arrivals,
    ) -> list[tuple[Observation, Finding]]:
        """`stream_start_day`: the day this partition's stream started. Until the stream has
        watched long enough no key can be told new (the cold start of a deployment or of a
        replay); None when unknown (the stream counts as old). `arrivals` gives the ids the
        evidence names as they stood at each observation of the batch (by its index)."""
        ...
