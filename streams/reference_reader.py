"""Reference data that changes while the worker runs: the reference topic, followed.

Every worker reads the whole reference topic (streams/global_reader.py). A file version that is
whole (streams/reference_topic.py) is validated exactly as at start-up; the core is then built
again over the current data with that file in place, in the reader's thread, so screening goes
on meanwhile; and the new core is handed to the worker, which swaps it in between two batches.
A declaration is screened against one consistent set, and its alerts cite the versions used.

A broken record or file never replaces a good version: the worker keeps what it has, logs one
line and counts it (`tradewatch_reference_updates_total{outcome="rejected"}`).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from alerts.errors import ReferenceDataError
from alerts.pipeline import Core, CoreOptions
from alerts.reference import ReferenceFile, parse_file
from alerts.retro import ListChange, list_changes
from streams.global_reader import GlobalReader
from streams.metrics import Metrics
from streams.reference_topic import Assembler, Broken
from streams.settings import Settings

log = logging.getLogger("tradewatch.reference")
_WARM_SECONDS = 30.0
"""How long a new core may spend matching the recent parties before it is swapped in."""


class ReferenceReader(GlobalReader):
    """>>> reader = ReferenceReader(settings, options, core, metrics, use_core, fail_stop)
    >>> await reader.ready()        # the newest versions on the topic are in use"""

    def __init__(
        self,
        settings: Settings,
        options: CoreOptions,
        core: Core,
        metrics: Metrics,
        use_core: Callable[[Core, list[ListChange]], None],
        on_failure: Callable[[str], None],
    ) -> None:
        super().__init__(settings, settings.topic_reference, self._take, on_failure)
        self.options = options
        self.current = core
        self.metrics = metrics
        self.use_core = use_core
        self.assembler = Assembler()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_build_seconds = 0.0

    async def ready(self) -> None:
        self.loop = asyncio.get_running_loop()
        await super().ready()

    def _take(self, records: list[Any]) -> None:
        files: dict[str, ReferenceFile[Any]] = {}
        published: list[datetime] = []
        for record in records:
            for outcome in self.assembler.add(record.key, record.value):
                if isinstance(outcome, Broken):
                    self._refuse(outcome.what, outcome.reason)
                    continue
                manifest = outcome.manifest
                try:
                    loaded = parse_file(Path(f"{self.topic}/{manifest.label}"), outcome.content)
                except ReferenceDataError as exc:
                    self._refuse(manifest.label, str(exc))
                    continue
                if (loaded.header.name, loaded.header.version) != (manifest.name, manifest.version):
                    self._refuse(manifest.label, f"the file's header says {loaded.label}")
                    continue
                files[loaded.header.name] = loaded
                published.append(manifest.published_at)
        known = self.current.reference.files
        new = [
            f
            for f in files.values()
            if f.header.name not in known or known[f.header.name].label != f.label
        ]
        if new:
            self._build(new, max(published))

    def _build(self, files: list[ReferenceFile[Any]], published_at: datetime) -> None:
        labels = ", ".join(f.label for f in files)
        started = time.perf_counter()
        try:
            reference = self.current.reference.replaced(*files)
            core = Core.build(
                self.options, reference=reference, suppressions=self.current.suppressions
            )
        except ReferenceDataError as exc:
            self._refuse(labels, str(exc))
            return
        # Lists that change while the worker runs are looked back for; those found at start
        # were looked back for by the worker that was running when they came.
        changes = (
            list_changes(self.current.reference, reference, core.party_threshold, published_at)
            if self.caught_up.is_set()
            else []
        )
        self.last_build_seconds = time.perf_counter() - started
        warmed = core.warm(self.current, _WARM_SECONDS) if self.caught_up.is_set() else 0
        self.current = core
        self.metrics.reference_updates.labels(outcome="applied").inc(len(files))
        log.info(
            "reference data: %s built in %.2f s (%d recent parties matched ahead); swapping it in",
            labels,
            self.last_build_seconds,
            warmed,
        )
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.use_core, core, changes)
        else:
            self.use_core(core, changes)

    def _refuse(self, what: str, reason: str) -> None:
        log.error("reference data: %s refused, keeping the version in use: %s", what, reason)
        self.metrics.reference_updates.labels(outcome="rejected").inc()
