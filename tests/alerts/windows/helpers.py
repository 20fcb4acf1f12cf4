"""Building observations and running the window engine over them in tests."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.reference import ReferenceData
from alerts.windows.config import WindowConfig
from alerts.windows.engine import WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension, Observation, observations_for
from alerts.windows.state import KeyState
from schemas.declaration import Declaration
from tests.conftest import declaration_dict

REFERENCE = ReferenceData.load()
FX = FxRates.from_reference(REFERENCE)
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def declaration(day: float, number: int, **overrides: Any) -> Declaration:
    when = START + timedelta(days=day)
    return Declaration.model_validate(
        declaration_dict(
            declaration_id=f"D-{number:05d}", declared_at=when.isoformat(), **overrides
        )
    )


def observe(
    declarations: Iterable[Declaration], *, controlled: bool = False, partition: int = 0
) -> list[Observation]:
    return [
        obs
        for offset, d in enumerate(declarations)
        for obs in observations_for(
            d, watched=controlled, fx=FX, source_partition=partition, source_offset=offset
        )
    ]


def run(
    observations: Iterable[Observation],
    config: WindowConfig | None = None,
    dimension: Dimension | None = None,
) -> tuple[dict[str, Any], dict[str, KeyState]]:
    """Alerts by id (as (rule_id, finding)) and the final state by table key."""
    engine = WindowEngine.build(REFERENCE, config or WindowConfig())
    states: dict[str, KeyState] = {}
    alerts: dict[str, Any] = {}
    from alerts.building import alert_id

    for obs in observations:
        if dimension is not None and obs.dimension is not dimension:
            continue
        # Round-trip through the wire and table encodings, as the agent does.
        obs = Observation.decode(obs.encode())
        stored = states.get(obs.table_key)
        state = KeyState.decode(stored.encode()) if stored else None
        outcome = engine.process(obs, state)
        states[obs.table_key] = outcome.state
        for rule, finding in outcome.findings:
            key = alert_id(rule.rule_id, rule.version, finding.subject, finding.window)
            alerts.setdefault(key, (rule.rule_id, finding))
    return alerts, states
