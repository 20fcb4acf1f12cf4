"""Reference data that changes while the worker runs: the reference topic, followed.

Every worker reads the whole reference topic (streams/global_reader.py). A file version that is
whole (streams/reference_topic.py) is validated exactly as at start-up, then judged against the
version in use (alerts/reference_policy.py): applied, held until another person approves it,
or refused. The core is then built again over the current data with the applied files in place,
in the reader's thread, so screening goes on meanwhile; and the new core is handed to the
worker, which swaps it in between two batches. A declaration is screened against one
consistent set, and its alerts cite the versions used.

Nothing on the topic can stop the worker: a broken record or file, a version refused or held,
even a failure building the core over it, is contained to that version. The worker keeps what
it has, logs one line (`reference change ...`, with who published it) and counts it
(`tradewatch_reference_updates_total{outcome}`, `tradewatch_control_records_refused_total`).
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.errors import ReferenceDataError
from alerts.pipeline import Core, CoreOptions
from alerts.reference import (
    LoadedRecord,
    ReferenceData,
    ReferenceFile,
    WatchlistEntry,
    parse_file,
)
from alerts.reference_policy import Action, BroadNames, Ledger, Offer, Verdict, version_order
from alerts.retro import ListChange, list_changes
from streams.global_reader import GlobalReader
from streams.reference_topic import Approval, Assembler, Broken, Complete, Outcome
from streams.sensors import Sensor
from streams.settings import Settings

log = logging.getLogger("tradewatch.reference")
_WARM_SECONDS = 30.0
"""How long a new core may spend matching the recent parties before it is swapped in."""


class ReferenceReader(GlobalReader):
    """>>> reader = ReferenceReader(settings, options, core, sensor, use_core, fail_stop)
    >>> await reader.ready()        # the newest versions on the topic are in use"""

    def __init__(
        self,
        settings: Settings,
        options: CoreOptions,
        core: Core,
        sensor: Sensor,
        use_core: Callable[[Core, list[ListChange]], None],
        on_failure: Callable[[str], None],
    ) -> None:
        super().__init__(settings, settings.topic_reference, self._take, on_failure)
        self.options = options
        self.current = core
        self.sensor = sensor
        self.use_core = use_core
        self.assembler = Assembler(max_bytes=settings.reference_max_bytes)
        shipped = [
            e for f in core.reference.watchlist_files() for e in f.records
            if isinstance(e, WatchlistEntry)
        ]  # fmt: skip
        self.ledger = Ledger(
            in_use=core.reference, broad=BroadNames.shipped(shipped, core.party_threshold)
        )
        self.publishers: dict[str, str | None] = {}
        """Who published each version label read (for the log and `tradewatch status`)."""
        self._published_at: dict[str, datetime] = {}
        self.applied_file = settings.data_dir / "reference-applied.json"
        self._checked_applied = False
        self.applied_before = _read_versions(self.applied_file)
        """The versions this worker applied when it last ran (none on a first start)."""
        self._baseline: dict[str, ReferenceFile[LoadedRecord]] = {
            name: file
            for name, file in core.reference.files.items()
            if self.applied_before.get(name) == file.header.version
        }
        """The watchlists this worker last screened with, as met again on the topic."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_build_seconds = 0.0

    async def ready(self) -> None:
        self.loop = asyncio.get_running_loop()
        await super().ready()

    def held(self) -> dict[str, str]:
        """Versions waiting for approval: label and why."""
        return {h.offer.label: "; ".join(h.reasons) for h in self.ledger.held.values()}

    def _take(self, records: list[Any]) -> None:
        applied: dict[str, ReferenceFile[LoadedRecord]] = {}
        published: list[datetime] = []
        for record in records:
            try:
                outcomes = self.assembler.add(record.key, record.value)
            except Exception as exc:  # a bug here must not become a crash loop
                what = (record.key or b"").decode("utf-8", "replace")[:200]
                outcomes = [Broken(what, f"{type(exc).__name__}: {exc}", "error")]
            for outcome in outcomes:
                try:
                    verdict = self._judge(outcome)
                except Exception as exc:  # contained to the one version
                    log.exception("reference data: judging %s failed", outcome)
                    self._refuse(getattr(outcome, "what", "a version"), str(exc), "error")
                    continue
                if verdict is None:
                    continue
                if verdict.action is Action.APPLY and verdict.file is not None:
                    applied[verdict.file.header.name] = verdict.file
                    if self.applied_before.get(verdict.file.header.name) == (
                        verdict.file.header.version
                    ):
                        self._baseline[verdict.file.header.name] = verdict.file
                    published.append(self._published_at.pop(verdict.offer.label, _EPOCH))
        self.on_tick()
        if applied:
            self._build(list(applied.values()), max(published))

    def on_tick(self) -> None:
        for late in self.assembler.overdue(self.settings.reference_chunk_timeout_seconds):
            self._refuse(late.what, late.reason, late.code, outcome="incomplete")
        self.sensor.on_reference_waiting(len(self.assembler.waiting))
        if self.caught_up.is_set() and not self._checked_applied:
            self._checked_applied = True
            self._check_applied()

    def _check_applied(self) -> None:
        """Say loudly if a version this worker applied before is gone from the topic (a
        compaction after a stray record, the topic made anew): it screens with an older list.
        And look back for the watchlist versions published while it was not running."""
        applied = self.applied_before
        self._look_back_for_missed()
        missing = []
        for name, version in sorted(applied.items()):
            in_use = self.current.reference.files.get(name)
            if in_use is not None and version_order(in_use.header.version) < version_order(
                str(version)
            ):
                missing.append(f"{name}@{version} (in use: {in_use.label})")
        self.sensor.on_reference_missing(len(missing))
        if missing:
            log.critical(
                "reference versions this worker applied before are not on %s: %s; it screens "
                "with older versions until they are published again",
                self.topic,
                ", ".join(missing),
            )
        self._record_applied()

    def _look_back_for_missed(self) -> None:
        """Watchlist versions that came while no worker of this data folder ran were screened
        live by no one: their new entries are looked back for now, against the version this
        worker last screened with (met again on the topic, or shipped)."""
        current = self.current.reference
        before = {name: self._baseline.get(name, file) for name, file in current.files.items()}
        changed = [
            name
            for name, file in current.files.items()
            if file.header.kind == "watchlist"
            and name in self._baseline
            and self._baseline[name].label != file.label
        ]
        if not changed:
            return
        changes = list_changes(
            ReferenceData(before), current, self.current.party_threshold, datetime.now(UTC)
        )
        if not changes:
            return
        log.info(
            "reference data: %s came while this worker was not running; looking back for "
            "their new entries",
            ", ".join(current.files[name].label for name in changed),
        )
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.use_core, self.current, changes)

    def _record_applied(self) -> None:
        try:
            self.applied_file.parent.mkdir(parents=True, exist_ok=True)
            versions = {n: f.header.version for n, f in self.current.reference.files.items()}
            temporary = self.applied_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(versions, sort_keys=True))
            temporary.replace(self.applied_file)
        except OSError as exc:
            log.warning("could not record the versions applied in %s: %s", self.applied_file, exc)

    def _judge(self, outcome: Outcome) -> Verdict | None:
        if isinstance(outcome, Broken):
            self._refuse(outcome.what, outcome.reason, outcome.code)
            return None
        if isinstance(outcome, Approval):
            verdict = self.ledger.approve(
                outcome.name, outcome.version, outcome.sha256, outcome.approved_by
            )
            if verdict is not None:
                self._report(verdict, verdict.offer.published_by)
            return verdict
        return self._offer(outcome)

    def _offer(self, complete: Complete) -> Verdict | None:
        manifest = complete.manifest
        try:
            loaded = parse_file(Path(f"{self.topic}/{manifest.label}"), complete.content)
        except ReferenceDataError as exc:
            self._refuse(manifest.label, str(exc))
            return None
        if (loaded.header.name, loaded.header.version) != (manifest.name, manifest.version):
            self._refuse(manifest.label, f"the file's header says {loaded.label}")
            return None
        if loaded.header.kind != manifest.kind:
            self._refuse(manifest.label, f"the file is a {loaded.header.kind}, the manifest says "
                         f"{manifest.kind}")  # fmt: skip
            return None
        known = self.ledger.in_use.files.get(manifest.name)
        if known is not None and known.header.kind != loaded.header.kind:
            self._refuse(manifest.label, f"{manifest.name} is a {known.header.kind} file")
            return None
        self.publishers[manifest.label] = manifest.published_by
        self._published_at[manifest.label] = manifest.published_at
        offer = Offer(
            manifest.name, manifest.version, manifest.sha256, manifest.published_by,
            manifest.rollback,
        )  # fmt: skip
        verdict = self.ledger.offer(offer, loaded)
        self._report(verdict, manifest.published_by)
        return verdict

    def _report(self, verdict: Verdict, by: str | None) -> None:
        """One structured line per change: what, who, and what became of it."""
        offer = verdict.offer
        who = by or "unknown (the record names no publisher)"
        if verdict.action is Action.APPLY:
            log.info(
                "reference change applied: file=%s sha256=%s by=%s%s%s",
                offer.label, offer.sha256[:16], who,
                " rollback" if offer.rollback else "",
                f" ({verdict.reason})" if verdict.reason else "",
            )  # fmt: skip
        elif verdict.action is Action.HOLD:
            self.sensor.on_reference_update("held")
            log.warning(
                "reference change held: file=%s sha256=%s by=%s: %s; it takes effect once "
                "another person runs `tradewatch reference approve %s %s`",
                offer.label, offer.sha256[:16], who, verdict.reason, offer.name, offer.version,
            )  # fmt: skip
        elif verdict.action is Action.REFUSE:
            self._refuse(offer.label, verdict.reason, "policy")
        self.sensor.on_reference_held(len(self.ledger.held))

    def _build(self, files: list[ReferenceFile[LoadedRecord]], published_at: datetime) -> None:
        labels = ", ".join(f.label for f in files)
        started = time.perf_counter()
        try:
            reference = self.current.reference.replaced(*files)
            core = Core.build(
                self.options, reference=reference, suppressions=self.current.suppressions
            )
        except Exception as exc:  # MemoryError too: a version never stops the worker
            # Contained: the versions are refused and the ledger goes back to what is in use.
            self.ledger.in_use = self.current.reference
            self._refuse(labels, f"{type(exc).__name__}: {exc}", "build")
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
        if self._checked_applied:
            self._record_applied()
        self.sensor.on_reference_update("applied", len(files))
        log.info(
            "reference data: %s built in %.2f s (%d recent parties matched ahead); swapping it in",
            labels,
            self.last_build_seconds,
            warmed,
        )
        if self.loop is None:
            self.use_core(core, changes)
        elif not self.stop.is_set() and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.use_core, core, changes)
            except RuntimeError:  # the worker closed its loop meanwhile: it is stopping
                log.info("reference data: the worker is stopping; %s not swapped in", labels)

    def _refuse(
        self, what: str, reason: str, code: str = "invalid", outcome: str = "rejected"
    ) -> None:
        log.error("reference change refused: file=%s: %s; keeping the version in use", what,
                  reason)  # fmt: skip
        self.sensor.on_reference_update(outcome)
        self.sensor.on_control_refused("reference", code)


_EPOCH = datetime.fromtimestamp(0, UTC)


def _read_versions(path: Path) -> dict[str, str]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
