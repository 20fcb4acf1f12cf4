"""What a window rule is: the protocol the window engine drives, one rule per dimension.

A new window rule is one module with one class: the dimensions it watches, how long its keys keep
their days, its memo (what it derives from the state and keeps beside it, never stored) and
`observe`, which folds a counted observation into the state and returns the findings of the
windows that this observation made cross. The engine never lists the rules by hand.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from alerts.rules.base import Finding, RuleMeta
from alerts.windows.observations import Dimension, Observation
from alerts.windows.state import Admission, KeyState


@dataclass(frozen=True, slots=True)
class Context:
    """What an observation is judged against besides its key's state."""

    admission: Admission
    watching_days: int | None
    """Whole days between the start of this partition's stream and the observation: until the
    stream has watched long enough, no key can be told new (the cold start of a deployment or of
    a replay). None when unknown (a rule then treats the stream as old enough)."""


class WindowRule(RuleMeta, Protocol):
    """A rule over the windows of one kind of aggregation key.

    `observe` must be deterministic in (state, memo derived from state, observation, context),
    so that a replay after a crash gives the same findings, and monotone: a window is found
    once, by the observation that makes it cross.
    """

    @property
    def dimensions(self) -> tuple[Dimension, ...]: ...

    @property
    def retention_days(self) -> int: ...

    def new_memo(self) -> Any: ...

    def observe(
        self, observation: Observation, state: KeyState, memo: Any, context: Context
    ) -> list[Finding]: ...
