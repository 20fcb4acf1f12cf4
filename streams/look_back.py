"""The look back on a list change, in the worker: beside live screening, a little at a time.

When a new watchlist version adds or changes entries (streams/reference_reader.py finds them),
every worker looks back over the party index of each partition of the window table it holds
(alerts/retro.py): `MAX_KEYS_A_STEP` parties at a time, between frames and on the idle timer,
so that live screening never waits for it. Each step's findings and cases go out through the
window agent's outbox and are delivered at its next checkpoint, together with the step's
progress marker (a record of the partition in the window table: the list version, the entries
looked for, the last party done). A worker that dies in the middle, or a partition that moves,
resumes from the marker: findings may repeat (the same ids), none is lost.
"""

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from alerts.cases import listing_cases
from alerts.errors import StateDecodeError
from alerts.parties import PartyMatcher, entries_from_records
from alerts.pipeline import Core, utc_now
from alerts.retro import ListChange, look_back
from alerts.state.formats import LOOK_BACK, LookBackMarker
from alerts.state.keys import look_back_key, look_back_prefix
from schemas.alert import Alert
from schemas.case import Case
from streams.sensors import Sensor
from streams.window_store import TableStore

log = logging.getLogger("tradewatch.retro")

MAX_KEYS_A_STEP = 200


@dataclass
class Job:
    partition: int
    change: ListChange
    keys: list[bytes]

    def marker(self, done: bool) -> bytes:
        return LOOK_BACK.encode(
            LookBackMarker(
                label=self.change.label,
                entries=[e.entry_id for e in self.change.entries],
                effective_ms=self.change.effective_ms,
                next=self.keys[0].hex() if self.keys else None,
                done=done,
            )
        )


class LookBack:
    """>>> look_back.start(changes, held_partitions)
    >>> alerts, cases = look_back.step()      # under the window agent's lock"""

    def __init__(
        self,
        store: TableStore,
        core: Callable[[], Core],
        sensor: Sensor,
        clock: Callable[[], datetime] = utc_now,
        max_keys: int = MAX_KEYS_A_STEP,
    ) -> None:
        self.max_keys = max_keys
        self.store = store
        self.core = core
        self.sensor = sensor
        self.clock = clock
        self.jobs: deque[Job] = deque()
        self._resumed: set[int] = set()

    @property
    def pending(self) -> int:
        return sum(len(job.keys) for job in self.jobs)

    def start(self, changes: list[ListChange], partitions: set[int]) -> None:
        for partition in sorted(partitions):
            self._resumed.add(partition)
            for change in changes:
                job = Job(partition, change, self.store.party_keys(partition))
                self.store.put_marker(
                    partition, look_back_key(partition, change.label), job.marker(False)
                )
                self.jobs.append(job)
                log.info(
                    "looking back over %d parties of partition %d for %d entries of %s",
                    len(job.keys),
                    partition,
                    len(change.entries),
                    change.label,
                )
        self.sensor.on_look_back(self.pending)

    def resume(self, partition: int) -> None:
        """A partition this worker holds anew: finish what a look back left undone on it."""
        if partition in self._resumed:
            return
        self._resumed.add(partition)
        core = self.core()
        files = {f.label: f for f in core.reference.watchlist_files()}
        for key in self.store.keys_with_prefix(partition, look_back_prefix(partition)):
            raw = self.store.marker(partition, key)
            try:
                marker = LOOK_BACK.decode(raw) if raw else None
            except StateDecodeError as exc:  # a bug or a foreign writer: not a reason to stop
                log.error("a look back's marker is unreadable, left alone: %s", exc)
                continue
            if marker is None or marker.done:
                continue
            loaded = files.get(marker.label)
            if loaded is None:  # a newer version is in use: its own look back covers it
                log.warning(
                    "look back over %s not finished; that version is no longer in use",
                    marker.label,
                )
                continue
            wanted = set(marker.entries)
            entries = tuple(
                e
                for e in entries_from_records(loaded.header.name, loaded.records)
                if e.entry_id in wanted
            )
            matcher = PartyMatcher(entries, core.party_threshold)
            change = ListChange(loaded.label, entries, matcher, marker.effective_ms)
            start = bytes.fromhex(marker.next) if marker.next else b"\xff"
            keys = [k for k in self.store.party_keys(partition) if k >= start]
            self.jobs.append(Job(partition, change, keys))
            log.info(
                "resuming the look back over %s on partition %d: %d parties",
                loaded.label,
                partition,
                len(keys),
            )
        self.sensor.on_look_back(self.pending)

    def forget(self, partitions: set[int]) -> None:
        """Revoked: whoever holds them next resumes from their markers."""
        self.jobs = deque(job for job in self.jobs if job.partition not in partitions)
        self._resumed -= partitions
        self.sensor.on_look_back(self.pending)

    def step(self, max_keys: int | None = None) -> tuple[list[Alert], list[Case]]:
        """Look at the next parties; their findings and cases, and the marker, to be sent."""
        if not self.jobs:
            return [], []
        max_keys = max_keys or self.max_keys
        job = self.jobs[0]
        chunk, job.keys = job.keys[:max_keys], job.keys[max_keys:]
        core = self.core()
        alerts = core.suppressions.mark(
            look_back([job.change], self.store, job.partition, chunk, self.clock())
        )
        cases = listing_cases(alerts, core.scoring)
        done = not job.keys
        self.store.put_marker(
            job.partition, look_back_key(job.partition, job.change.label), job.marker(done)
        )
        if done:
            self.jobs.popleft()
            log.info("look back over %s done on partition %d", job.change.label, job.partition)
        self.sensor.on_look_back(self.pending, len(chunk))
        return alerts, cases
