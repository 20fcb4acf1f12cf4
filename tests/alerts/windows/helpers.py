"""Building observations and running the window engine over them in tests."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.building import alert_id
from alerts.reference import ReferenceData
from alerts.state.formats import WINDOW_STATE
from alerts.windows.config import WindowConfig
from alerts.windows.engine import KeyEntry, WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Declared, Dimension, Frame, Observation, observations_for
from alerts.windows.registry import WINDOW_DIMENSIONS
from alerts.windows.state import KeyState
from schemas.wire import DeclarationRecord
from tests.conftest import declaration_record

REFERENCE = ReferenceData.load()
FX = FxRates.from_reference(REFERENCE)
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def declaration(day: float, number: int, **overrides: Any) -> DeclarationRecord:
    when = START + timedelta(days=day)
    return declaration_record(
        declaration_id=f"D-{number:05d}", declared_at=when.isoformat(), **overrides
    )


def observe(
    declarations: Iterable[DeclarationRecord], *, controlled: bool = False, partition: int = 0
) -> list[Observation]:
    return [
        obs
        for offset, d in enumerate(declarations)
        for obs in observations_for(
            Declared(
                d, watched=controlled, fx=FX, source_partition=partition, source_offset=offset
            ),
            WINDOW_DIMENSIONS,
        )
    ]


def run(
    observations: Iterable[Observation],
    config: WindowConfig | None = None,
    dimension: Dimension | None = None,
    *,
    together: int = 1,
    stream_start_ms: int | None = None,
    engine: WindowEngine | None = None,
    keep_memos: bool = False,
) -> tuple[dict[str, Any], dict[str, KeyState]]:
    """Alerts by id (as (rule_id, finding)) and the final state by table key.

    Observations go through the engine `together` at a time (runs of one key, as a frame gives
    them), and every state through its stored encoding between runs, as after a cache miss in
    the worker; with `keep_memos`, each key's state and memo stay in memory between runs, as
    in the worker's cache."""
    engine = engine or WindowEngine.build(REFERENCE, config or WindowConfig())
    stored: dict[str, bytes] = {}
    entries: dict[str, KeyEntry] = {}
    alerts: dict[str, Any] = {}
    chosen = [o for o in observations if dimension is None or o.kind is dimension]
    for first in range(0, len(chosen), together):
        # Round-trip through the wire encoding, as the agent does.
        frame = Frame.decode(
            Frame(chosen[first].event_time_ms, chosen[first : first + together]).encode()
        )
        for table_key, run_of_key in frame.by_key().items():
            raw = stored.get(table_key)
            entry = entries.get(table_key) or engine.new_entry(
                run_of_key[0].kind, WINDOW_STATE.decode(raw) if raw else None
            )
            if keep_memos:
                entries[table_key] = entry
            outcome = engine.process(run_of_key, entry, stream_start_ms)
            stored[table_key] = WINDOW_STATE.encode(entry.state)
            for rule, _, finding in outcome.findings:
                key = alert_id(rule.rule_id, rule.version, finding.subject, finding.window)
                alerts.setdefault(key, (rule.rule_id, finding))
    return alerts, {key: WINDOW_STATE.decode(raw) for key, raw in stored.items()}
