"""The window stage: one frame of observations in (a batch's, for one partition, any number of
keys), those keys' window alerts out.

The faust agent runs it over the changelog-backed table (WindowStore), the offline pipeline over
a dict (MemoryStore); both run this same code, so they give the same alerts.
"""

import logging
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from aiokafka.partitioner import DefaultPartitioner

from alerts.building import make_alert
from alerts.windows.engine import WindowEngine, WindowOutcome
from alerts.windows.observations import Frame, Observation
from alerts.windows.state import KeyState
from schemas.alert import Alert
from streams.metrics import Metrics
from streams.screening import utc_now

log = logging.getLogger("tradewatch.windows")


_partitioner = DefaultPartitioner()


@lru_cache(maxsize=65_536)
def partition_of(table_key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives this key: where a message
    keyed by it would go. (aiokafka's murmur2 is pure Python, ~17 µs a key: hence the cache.)"""
    if partitions == 1:
        return 0
    return int(_partitioner(table_key.encode("utf-8"), list(range(partitions)), None))


def frames(observations: list[Observation], partitions: int) -> dict[int, Frame]:
    """A batch's observations grouped by the partition of their table key, in input order."""
    if not observations:
        return {}
    start = min(o.event_time_ms for o in observations)
    grouped: dict[int, list[Observation]] = {}
    for observation in observations:
        grouped.setdefault(partition_of(observation.table_key, partitions), []).append(observation)
    return {partition: Frame(start, group) for partition, group in grouped.items()}


class StateStore(Protocol):
    def get(self, key: bytes) -> KeyState | None: ...

    def put(self, key: bytes, state: KeyState) -> None: ...

    def stream_start(self, event_time_ms: int) -> int: ...

    def forget(self, key: bytes) -> None: ...


class MemoryStore:
    """Window state in a dict, for the offline pipeline: no encoding and no cache."""

    def __init__(self) -> None:
        self.states: dict[bytes, KeyState] = {}
        self.start_ms: int | None = None

    def get(self, key: bytes) -> KeyState | None:
        return self.states.get(key)

    def put(self, key: bytes, state: KeyState) -> None:
        self.states[key] = state

    def stream_start(self, event_time_ms: int) -> int:
        if self.start_ms is None or event_time_ms < self.start_ms:
            self.start_ms = event_time_ms
        return self.start_ms

    def forget(self, key: bytes) -> None:
        # The state was changed in place by an observation that then failed. There is no
        # written copy to go back to (the table-backed store goes back to its last bytes), so
        # the key starts over: its history is lost, which the error metric and log report.
        self.states.pop(key, None)


class WindowStage:
    """Admits a frame's observations into their keys' states, writes each key's state back
    once, and builds the alerts of the findings.

    An observation the engine fails on is logged, counted and skipped; the frame is re-run
    without it from the state as last written, so a bug in one observation costs only that one.
    """

    def __init__(self, engine: WindowEngine, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics

    def apply(self, frame: Frame, store: StateStore) -> list[Alert]:
        started = time.perf_counter()
        start = store.stream_start(frame.stream_start_ms)
        alerts: list[Alert] = []
        for table_key, observations in frame.by_key().items():
            alerts.extend(self._apply_key(table_key.encode("utf-8"), observations, store, start))
        self.metrics.window_seconds.observe(time.perf_counter() - started)
        return alerts

    def _apply_key(
        self, key: bytes, observations: list[Observation], store: StateStore, start: int
    ) -> list[Alert]:
        skipped: set[int] = set()
        while True:
            state, results, failed = self._run(observations, key, store, start, skipped)
            if failed is None:
                break
            log.error("window stage failed on an observation", exc_info=failed[1])
            self.metrics.window_errors.inc()
            store.forget(key)
            skipped.add(failed[0])
        if state is not None and any(not outcome.admission.duplicate for _, outcome in results):
            store.put(key, state)  # always written back: states are changed in place
        return self._account(results)

    def _run(
        self,
        observations: list[Observation],
        key: bytes,
        store: StateStore,
        start: int,
        skipped: set[int],
    ) -> tuple[
        KeyState | None,
        list[tuple[Observation, WindowOutcome]],
        tuple[int, Exception] | None,
    ]:
        state = store.get(key)
        results: list[tuple[Observation, WindowOutcome]] = []
        for index, observation in enumerate(observations):
            if index in skipped:
                continue
            try:
                outcome = self.engine.process(observation, state, start)
            except Exception as exc:  # one bad observation must not stop the window stage
                return state, results, (index, exc)
            state = outcome.state
            results.append((observation, outcome))
        return state, results, None

    def _account(self, results: list[tuple[Observation, WindowOutcome]]) -> list[Alert]:
        metrics = self.metrics
        alerts: list[Alert] = []
        for observation, outcome in results:
            admission = outcome.admission
            dimension = observation.dimension
            if admission.duplicate:
                metrics.observed(dimension, "replayed")
            elif admission.late:
                metrics.observed(dimension, "late")
                metrics.late(dimension)
            else:
                metrics.observed(dimension, "counted")
            if outcome.findings:
                event_time = datetime.fromtimestamp(observation.event_time_ms / 1000, tz=UTC)
                now = utc_now()
                for rule, finding in outcome.findings:
                    alert = make_alert(rule, finding, event_time, now)
                    metrics.alert(alert.rule_id, alert.category, alert.severity)
                    alerts.append(alert)
        return alerts
