"""The window stage on the Kafka side: batches of observation frames in, window alerts out,
state checkpointed (see streams/window_store.py for the order of a checkpoint)."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from alerts.errors import FrameDecodeError
from alerts.pipeline import WindowStage
from alerts.state.formats import FRAME_CURSOR
from alerts.state.keys import frame_cursor_key
from alerts.windows.observations import Frame
from schemas.alert import Alert
from schemas.case import Case
from streams.intake import encode_alert, encode_case
from streams.look_back import LookBack
from streams.outbox import Outbox
from streams.sensors import Sensor
from streams.window_store import TableStore

log = logging.getLogger("tradewatch.windows")


class FrameGap(Exception):
    """A frame came beyond the next one the partition's window stage expects: the frames
    between were never applied. Applying it would count later observations before earlier ones,
    so the worker stops instead and takes the partition up again from its committed offset."""


class WindowAgent:
    """Applies frames and checkpoints.

    >>> agent = WindowAgent(stage, store, sensor, outbox, "customs.alerts", changelog_topic)
    >>> async with agent.lock:
    ...     await agent.apply(event)        # the frames of one batch event; held, not acked
    ...     if agent.due(): await agent.checkpoint()   # raises DeliveryError on failure
    """

    def __init__(
        self,
        stage: WindowStage,
        store: TableStore,
        sensor: Sensor,
        outbox: Outbox,
        alerts_topic: str,
        changelog_topic: str,
        checkpoint_seconds: float = 1.0,
        on_persisted: Callable[[int, int], None] | None = None,
        cases_topic: str | None = None,
    ) -> None:
        self.cases_topic = cases_topic
        self._cases: list[Case] = []
        self.stage = stage
        self.store = store
        self.sensor = sensor
        self.outbox = outbox
        self.alerts_topic = alerts_topic
        self.changelog_topic = changelog_topic
        self.checkpoint_seconds = checkpoint_seconds
        self.on_persisted = on_persisted
        self.lock = asyncio.Lock()
        self._next_core: Any = None
        self._next_changes: list[Any] = []
        self.look_back: LookBack | None = None
        self.held_partitions: Callable[[], set[int]] = set
        self.restored = False
        """faust restored the table's assigned partitions (set by the app's recovery callback,
        cleared when partitions are revoked)."""
        self.held: list[Any] = []
        self._alerts: list[Alert] = []
        self._last_checkpoint = time.monotonic()
        self.earliest: Callable[[int], Awaitable[int]] | None = None
        """The first offset the broker still holds of a partition of the observations topic:
        frames before it that were never applied were deleted (retention), not skipped."""

    async def apply(self, event: Any) -> None:
        """Apply the frames of one batch event (one partition of the observations topic), in
        offset order: a frame beyond the next one the partition's state expects (kept with the
        state: the offset after the last frame applied) raises FrameGap before it is applied. A
        frame applied before a restart comes again, and its keys count it once (by source
        offset)."""
        partition = event.message.partition
        sensor = self.sensor
        started = time.perf_counter()
        frames = 0
        self.restored = True  # frames flow only once the table is restored
        cursor_key = frame_cursor_key(partition)
        stored = self.store.marker(partition, cursor_key)
        cursor = FRAME_CURSOR.decode(stored) if stored is not None else None
        for record in event.value:
            offset = record.offset
            if cursor is None or offset >= cursor:
                if cursor is not None and offset > cursor:
                    await self._gap(partition, cursor, offset)
                cursor = offset + 1
            try:
                frame = Frame.decode(record.value or b"")
            except FrameDecodeError as exc:  # written by a screening stage: a bug, or a version
                log.error("observation frame at offset %s skipped: %s", record.offset, exc)
                sensor.on_frame_unreadable()
                continue
            frames += 1
            if self.look_back is not None:
                self.look_back.resume(partition)
            result = self.stage.apply(frame, partition, self.store)
            for alert in result.alerts:
                await self.outbox.send(self.alerts_topic, *encode_alert(alert))
            self._alerts.extend(result.alerts)
            if self.cases_topic is not None:
                for case in result.cases:
                    await self.outbox.send(self.cases_topic, *encode_case(case))
                self._cases.extend(result.cases)
            sensor.on_frame_applied(result)
        if cursor is not None:
            self.store.put_marker(partition, cursor_key, FRAME_CURSOR.encode(cursor))
        sensor.on_frames_applied(frames, time.perf_counter() - started)
        self.held.append(event)

    async def _gap(self, partition: int, cursor: int, offset: int) -> None:
        """Frames cursor..offset-1 never came: deleted by retention (said, and passed over), or
        skipped by the consumer (FrameGap)."""
        earliest = await self.earliest(partition) if self.earliest is not None else None
        if earliest is not None and earliest >= offset:
            log.error(
                "observation frames %s..%s of partition %s were deleted before they were "
                "applied (the topic keeps frames from %s on): their observations are lost",
                cursor, offset - 1, partition, earliest,
            )  # fmt: skip
            return
        raise FrameGap(
            f"observations[{partition}]: frame {offset} came while frame {cursor} was the next "
            "to apply"
        )

    def due(self) -> bool:
        return bool(self.held or self.store.dirty or self.outbox.pending) and (
            time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
        )

    async def look_back_step(self) -> bool:
        """One step of a look back under way (streams/look_back.py); False if none is. A
        look back left unfinished on a partition held now is resumed first, once its state is
        restored, even if no frame of it has come yet."""
        if self.look_back is None:
            return False
        if self.restored:
            for partition in self.held_partitions():
                self.look_back.resume(partition)
        if not self.look_back.jobs:
            return False
        alerts, cases = self.look_back.step()
        for alert in alerts:
            await self.outbox.send(self.alerts_topic, *encode_alert(alert))
        self._alerts.extend(alerts)
        if self.cases_topic is not None:
            for case in cases:
                await self.outbox.send(self.cases_topic, *encode_case(case))
            self._cases.extend(cases)
        return True

    async def checkpoint(self) -> None:
        """Alerts delivered, then changed states to the changelog, then the frames acked."""
        started = time.perf_counter()
        await self.outbox.delivered()
        self.sensor.on_findings_delivered(self._alerts, self._cases)
        self._alerts, self._cases = [], []
        changes = self.store.changes()
        last: dict[int, asyncio.Future[Any]] = {}
        for partition, records in changes.items():
            futures = await self.outbox.send_records(self.changelog_topic, partition, records)
            if futures:
                last[partition] = futures[-1]
        await self.outbox.delivered()
        self.store.written(changes)
        if self.on_persisted is not None:
            for partition, future in last.items():
                self.on_persisted(partition, future.result().offset)
        held, self.held = self.held, []
        for event in held:
            event.ack()
        self._last_checkpoint = time.monotonic()
        self._swap()
        self.sensor.on_checkpoint(
            time.perf_counter() - started, sum(len(r) for r in changes.values())
        )

    def use(self, core: Any, changes: list[Any] | None = None) -> None:
        """Apply frames with a new core's window engine and scoring from now on: at once if
        nothing is held, else right after the next checkpoint (the held frames were applied with
        the engine in use, and their states must be written before the cache goes). Watchlist
        changes start a look back over the partitions held then."""
        self._next_core = core
        self._next_changes.extend(changes or ())
        if not self.held and not self.store.dirty and not self.lock.locked():
            self._swap()

    def _swap(self) -> None:
        core, self._next_core = self._next_core, None
        if core is None:
            return
        self.stage.engine = core.windows
        self.stage.scoring = core.scoring
        self.store.rebuild(core.windows)
        changes, self._next_changes = self._next_changes, []
        if changes and self.look_back is not None:
            self.look_back.start(changes, self.held_partitions())

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions were revoked: drop their held frames and cached states (they will be
        fetched and restored again by whichever worker gets them)."""
        gone = set(partitions)
        self.restored = False
        if self.look_back is not None:
            self.look_back.forget(gone)
        self.held = [e for e in self.held if e.message.partition not in gone]
        self.store.forget(gone)
