"""The worker's whole core, with no Kafka in it: the dataflow from raw records to alerts and cases.

    core = Core.build(CoreOptions())
    flow = Dataflow(core, partitions=6, partition_of=partition_for)
    screening = flow.screen(records)    # outcomes, the declarations' alerts and cases, frames
    for partition, frame in screening.frames.items():
        result = core.window_stage().apply(frame, partition, store)   # window alerts, cases

The order of steps is written here once. The worker's agents (`streams/intake.py`,
`streams/window_agent.py`) only move what it gives to and from Kafka, with the observations
topic between the two halves; the backtest (`OfflinePipeline`) runs both halves in one process,
state in memory. A message is screened, its observations are grouped into frames by the partition
of their key, and each frame goes through the window stage against that partition's state.
Windows and baselines depend on event time only, and alerts and cases are identified by rule,
subject and window, so for the same input in the same order both give the same ids.

    pipeline = OfflinePipeline(core)
    pipeline.feed(raw, source_offset=41)          # alerts, or the Rejection
"""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from alerts.building import RuleEngine, make_alert
from alerts.cases import CaseScoring, declaration_case, listing_cases, next_series_case
from alerts.feedback import Suppressions, series_scope
from alerts.parties import PartyMatcher
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData
from alerts.retro import DAY_MS, PARTY_INDEX, PartyRecord, list_changes, look_back
from alerts.rules import Catalogue, CatalogueOptions, build_catalogue
from alerts.rules.restricted_party import RestrictedParty
from alerts.screening import Screened, Screener
from alerts.windows.config import WindowConfig
from alerts.windows.engine import KeyEntry, WindowEngine
from alerts.windows.fx import FxRates
from alerts.windows.observations import Dimension, Frame, Observation
from alerts.windows.state import KeyState
from schemas.alert import Alert, AlertCategory
from schemas.case import Case
from schemas.wire import DEFAULT_MAX_MESSAGE_BYTES, Rejection


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CoreOptions:
    """Everything the core is built from, as plain values (the worker maps its settings)."""

    reference_dir: Path = DEFAULT_REFERENCE_DIR
    catalogue: CatalogueOptions = field(default_factory=CatalogueOptions)
    windows: WindowConfig = field(default_factory=WindowConfig)
    fx_rates_file: Path | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_future_ms: int = 86_400_000
    retro_days: int = 90
    """How far back the party index looks when a party is newly listed (0: no index)."""


@dataclass(frozen=True)
class Core:
    """The loaded reference data and everything built over it, once per process."""

    reference: ReferenceData
    catalogue: Catalogue
    windows: WindowEngine
    screener: Screener
    fx: FxRates
    scoring: CaseScoring
    suppressions: Suppressions
    """Analysts' suppressions: the one mutable part, filled from the feedback topic or a file."""
    options: CoreOptions = field(default_factory=CoreOptions)

    @property
    def retro_days(self) -> int:
        return self.options.retro_days

    def window_stage(self, **options: Any) -> "WindowStage":
        """The window stage over this core: its engine, scoring, suppressions and how long the
        party index keeps declarations (`retro_days`), so that the worker and the backtest
        build it the same way."""
        return WindowStage(
            self.windows,
            scoring=self.scoring,
            suppressions=self.suppressions,
            retro_days=self.retro_days,
            **options,
        )

    @property
    def party_threshold(self) -> float:
        return self.options.catalogue.party_match_threshold

    @property
    def party_matcher(self) -> PartyMatcher | None:
        rules = self.catalogue.rules
        return next((r.matcher for r in rules if isinstance(r, RestrictedParty)), None)

    def warm(self, earlier: "Core", seconds: float) -> int:
        """Screen-ready before it is swapped in: the parties the core in use met last are
        matched against the new lists ahead of their next declarations."""
        new, old = self.party_matcher, earlier.party_matcher
        return new.warm(old, seconds) if new is not None and old is not None else 0

    @classmethod
    def build(
        cls,
        options: CoreOptions,
        clock: Callable[[], datetime] = utc_now,
        reference: ReferenceData | None = None,
        suppressions: Suppressions | None = None,
    ) -> "Core":
        """Load and validate the reference data (a broken file raises ReferenceDataError), or
        build over the data given (a newer version of some files: the live swap), sharing the
        analysts' suppressions given."""
        reference = reference or ReferenceData.load(options.reference_dir)
        catalogue = build_catalogue(reference, options.catalogue)
        fx = (
            FxRates.from_file(options.fx_rates_file)
            if options.fx_rates_file
            else FxRates.from_reference(reference)
        )
        windows = WindowEngine.build(reference, options.windows, fx)
        suppressions = suppressions if suppressions is not None else Suppressions()
        screener = Screener(
            RuleEngine(catalogue, clock=clock, suppressions=suppressions),
            fx,
            options.max_message_bytes,
            max_future_ms=options.max_future_ms,
            index_parties=options.retro_days > 0,
            dimensions=windows.dimensions,
        )
        return cls(
            reference,
            catalogue,
            windows,
            screener,
            fx,
            CaseScoring.load(reference),
            suppressions,
            options,
        )

    @property
    def rule_count(self) -> int:
        return len(self.catalogue.rules) + len(self.windows.rules)


def frames(
    observations: list[Observation], partitions: int, partition_of: Callable[[str, int], int]
) -> dict[int, Frame]:
    """A batch's observations grouped by the partition of their table key, in input order.

    Each frame starts at its first observation's event time: a partition whose window stage has
    seen nothing yet takes that as where its stream starts (a later declaration with an absurd
    date cannot move it)."""
    if not observations:
        return {}
    if partitions == 1:
        return {0: Frame(observations[0].event_time_ms, observations)}
    grouped: dict[int, list[Observation]] = {}
    for observation in observations:
        grouped.setdefault(partition_of(observation.table_key, partitions), []).append(observation)
    return {partition: Frame(group[0].event_time_ms, group) for partition, group in grouped.items()}


class Record(Protocol):
    """A record to screen: an aiokafka ConsumerRecord, or a `Message` read from a file."""

    @property
    def value(self) -> bytes | None: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Message:
    """A record that did not come from Kafka: a line of a file, at its line number."""

    value: bytes | None
    offset: int
    partition: int = 0
    timestamp: int | None = None


@dataclass
class Screening:
    """What a batch of records gave before the window stage: each record's outcome (in the
    records' order), the declarations' alerts and cases (in that order too), and the
    observations as frames by the partition of their key."""

    outcomes: list[Screened | Rejection]
    alerts: list[Alert]
    cases: list[Case]
    frames: dict[int, Frame]

    def rejections(self) -> list[tuple[int, Rejection]]:
        """Each rejected record's place in the batch, and why."""
        return [(n, o) for n, o in enumerate(self.outcomes) if isinstance(o, Rejection)]


def _one_partition(key: str, partitions: int) -> int:
    return 0


class Dataflow:
    """The first half of the dataflow: a batch of records screened against one core.

    >>> flow = Dataflow(core, partitions=6, partition_of=partition_for)
    >>> screening = flow.screen(records)
    >>> flow.core = newer      # reference data swapped in: the next batch is screened with it

    `cases=False` leaves out the declarations' cases (a replay that writes none)."""

    def __init__(
        self,
        core: Core,
        partitions: int = 1,
        partition_of: Callable[[str, int], int] = _one_partition,
        cases: bool = True,
    ) -> None:
        self.core = core
        self.partitions = partitions
        self.partition_of = partition_of
        self.cases = cases

    def screen(self, records: Sequence[Record]) -> Screening:
        """Screen a batch (the whole batch against one core); group its observations."""
        core = self.core
        screen = core.screener.screen
        outcomes = [screen(r.value, r.partition, r.offset, r.timestamp) for r in records]
        alerts: list[Alert] = []
        cases: list[Case] = []
        observations: list[Observation] = []
        for outcome in outcomes:
            if isinstance(outcome, Rejection):
                continue
            if outcome.alerts:
                alerts.extend(outcome.alerts)
                if self.cases:
                    case = declaration_case(outcome.alerts, core.scoring, outcome.declaration)
                    if case is not None:
                        cases.append(case)
            observations.extend(outcome.observations)
        return Screening(
            outcomes, alerts, cases, frames(observations, self.partitions, self.partition_of)
        )


class StateStore(Protocol):
    """Where the window stage keeps its keys' states, by partition of the observations topic."""

    def entry(self, partition: int, key: bytes, dimension: Dimension) -> KeyEntry:
        """The key's entry, loaded or new; changed in place by the engine."""
        ...

    def changed(self, partition: int, key: bytes) -> None:
        """The entry was changed: it must be written before its frame is done with."""
        ...

    def stream_start(self, partition: int, candidate_ms: int) -> int:
        """Where this partition's stream started: the first frame's start, kept for good."""
        ...

    def party(self, partition: int, key: bytes) -> PartyRecord | None:
        """A party of the index (alerts/retro.py), or None if it was not seen lately."""
        ...

    def put_party(self, partition: int, key: bytes, record: PartyRecord) -> None:
        """The party changed: it must be written before its frame is done with."""
        ...

    def party_keys(self, partition: int) -> list[bytes]:
        """Every party key of the partition's index, in order."""
        ...


@dataclass
class FrameResult:
    """What a frame gave: its alerts, and its observations counted by dimension and outcome
    (counted, late, replayed) and by failure.

    `alert_keys` gives, for each alert, the place of its key in the frame's key order
    (`Frame.by_key`), and `case_alerts`, for each case, the alert that made it: what a backtest
    needs to put back together, in one process's order, what several processes gave."""

    alerts: list[Alert] = field(default_factory=list)
    outcomes: Counter[tuple[Dimension, str]] = field(default_factory=Counter)
    errors: int = 0
    cases: list[Case] = field(default_factory=list)
    alert_keys: list[int] = field(default_factory=list)
    case_alerts: list[int] = field(default_factory=list)


class WindowStage:
    """Applies a frame's observations to their keys' states and builds the alerts.

    An observation the engine fails on (a bug) is logged, counted and skipped; the frame goes on.
    """

    def __init__(
        self,
        engine: WindowEngine,
        clock: Callable[[], datetime] = utc_now,
        on_error: Callable[[Exception], None] | None = None,
        scoring: CaseScoring | None = None,
        series_gap_days: int = 7,
        suppressions: Suppressions | None = None,
        retro_days: int = 90,
    ) -> None:
        self.retro_ms = retro_days * DAY_MS
        self.engine = engine
        self.clock = clock
        self.on_error = on_error
        self.scoring = scoring
        self.suppressions = suppressions if suppressions is not None else Suppressions()
        self.series_gap = timedelta(days=series_gap_days)

    def apply(self, frame: Frame, partition: int, store: StateStore) -> FrameResult:
        result = FrameResult()
        start = store.stream_start(partition, frame.stream_start_ms)
        process = self.engine.process
        outcomes = result.outcomes
        for place, (table_key, observations) in enumerate(frame.by_key().items()):
            key = table_key.encode("utf-8")
            dimension = observations[0].kind
            if dimension is PARTY_INDEX:
                record = store.party(partition, key) or PartyRecord.of(observations[0])
                fresh = record.add(observations, self.retro_ms)
                if fresh:
                    store.put_party(partition, key, record)
                outcomes[(dimension, "counted" if fresh else "replayed")] += len(observations)
                continue
            entry = store.entry(partition, key, dimension)
            try:
                outcome = process(observations, entry, start)
            except Exception as exc:  # a bug must not stop the window stage: counted, logged
                result.errors += len(observations)
                store.changed(partition, key)
                if self.on_error is not None:
                    self.on_error(exc)
                continue
            if outcome.counted:
                outcomes[(dimension, "counted")] += outcome.counted
            if outcome.late:
                outcomes[(dimension, "late")] += outcome.late
            if outcome.replayed:
                outcomes[(dimension, "replayed")] += outcome.replayed
            if outcome.counted or outcome.late:
                store.changed(partition, key)
            if outcome.findings:
                now = self.clock()
                for rule, observation, finding in outcome.findings:
                    event_time = datetime.fromtimestamp(observation.event_time_ms / 1000, tz=UTC)
                    alert = make_alert(rule, finding, event_time, now, series_scope(observation))
                    by = self.suppressions.match(alert)
                    if by is not None:
                        alert = alert.model_copy(update={"suppressed_by": by})
                    result.alerts.append(alert)
                    result.alert_keys.append(place)
                    if by is None and self._case(alert, entry.state, result):
                        store.changed(partition, key)
        return result

    def _case(self, alert: Alert, state: KeyState, result: FrameResult) -> bool:
        """A volume or split finding joins the key's open case (kept in its state, so a crash
        restores it); a unit-value finding is about one declaration: a case of its own.
        True if the key's state changed."""
        if self.scoring is None:
            return False
        keeps = alert.category is not AlertCategory.VALUE_ANOMALY
        previous = Case.model_validate_json(state.case) if keeps and state.case else None
        case = next_series_case(previous, alert, self.scoring, self.series_gap)
        if case is None:
            return False
        result.cases.append(case)
        result.case_alerts.append(len(result.alerts) - 1)
        if keeps:
            state.case = case.model_dump_json().encode()
        return keeps


class MemoryStore:
    """Window state in a dict, for the offline pipeline: nothing is encoded."""

    def __init__(self, engine: WindowEngine) -> None:
        self.engine = engine
        self.entries: dict[bytes, KeyEntry] = {}
        self.starts: dict[int, int] = {}
        self.parties: dict[bytes, PartyRecord] = {}

    def party(self, partition: int, key: bytes) -> PartyRecord | None:
        return self.parties.get(key)

    def put_party(self, partition: int, key: bytes, record: PartyRecord) -> None:
        self.parties[key] = record

    def party_keys(self, partition: int) -> list[bytes]:
        return sorted(self.parties)

    def entry(self, partition: int, key: bytes, dimension: Dimension) -> KeyEntry:
        found = self.entries.get(key)
        if found is None:
            found = self.entries[key] = self.engine.new_entry(dimension)
        return found

    def changed(self, partition: int, key: bytes) -> None:
        pass

    def stream_start(self, partition: int, candidate_ms: int) -> int:
        return self.starts.setdefault(partition, candidate_ms)


class OfflinePipeline:
    """Feed it messages in order; it returns each one's alerts, or its Rejection.

    Both halves of the dataflow in one process: the same `Core` as the worker's, one
    observations partition, state in memory. It keeps the latest version of every case made
    (`cases`); `cases=False` makes none of the declarations' cases (a replay that writes none).
    """

    def __init__(self, core: Core, source_partition: int = 0, cases: bool = True) -> None:
        self.flow = Dataflow(core, cases=cases)
        self.source_partition = source_partition
        self.stage = core.window_stage()
        self.store = MemoryStore(core.windows)
        self._cases: dict[str, Case] = {}
        self.rejected: Counter[str] = Counter()
        self.outcomes: Counter[tuple[Dimension, str]] = Counter()

    @property
    def core(self) -> Core:
        return self.flow.core

    def feed(
        self, raw: bytes | None, source_offset: int, received_ms: int | None = None
    ) -> list[Alert] | Rejection:
        outcomes, alerts = self.feed_batch([(raw, source_offset)], received_ms)
        return outcomes[0] if isinstance(outcomes[0], Rejection) else alerts

    def feed_batch(
        self, messages: Sequence[tuple[bytes | None, int]], received_ms: int | None = None
    ) -> tuple[list[Screened | Rejection], list[Alert]]:
        """A batch of (message, source offset), as the worker takes them from one fetch: each
        message's screening outcome, and every alert of the batch (declarations' and windows').

        The window stage takes the batch's observations as one frame, exactly as live."""
        screening = self.screen_batch(messages, received_ms)
        self.count_rejected(screening)
        self.keep(screening.cases)
        alerts = screening.alerts
        for frame in screening.frames.values():
            alerts = alerts + self.apply_frame(frame)
        return screening.outcomes, alerts

    def screen_batch(
        self, messages: Sequence[tuple[bytes | None, int]], received_ms: int | None = None
    ) -> Screening:
        """A batch screened: the first half of the dataflow (no window stage)."""
        partition = self.source_partition
        return self.flow.screen(
            [Message(raw, offset, partition, received_ms) for raw, offset in messages]
        )

    def count_rejected(self, screening: Screening) -> None:
        for _, rejection in screening.rejections():
            self.rejected[rejection.reason.value] += 1

    def apply_frame(self, frame: Frame) -> list[Alert]:
        """The window stage over one frame: its alerts (its cases kept)."""
        result = self.stage.apply(frame, 0, self.store)
        self.outcomes.update(result.outcomes)
        self.keep(result.cases)
        return result.alerts

    def keep(self, cases: Iterable[Case]) -> None:
        if not self.flow.cases:
            return
        for case in cases:
            self._cases[case.case_id] = case

    def list_change(self, reference: ReferenceData, detected_at: datetime) -> list[Alert]:
        """Use newer reference data from now on (as a live swap does); if watchlists gained or
        changed entries, look back over the party index at the declarations before
        `detected_at` (the version's publication): the retro findings, suppressions marked, in
        party-key order (their cases kept)."""
        core = self.core
        changes = list_changes(core.reference, reference, core.party_threshold, detected_at)
        self.use(Core.build(core.options, reference=reference, suppressions=core.suppressions))
        keys = self.store.party_keys(0)
        alerts = self.core.suppressions.mark(look_back(changes, self.store, 0, keys, detected_at))
        self.keep(listing_cases(alerts, self.core.scoring))
        return alerts

    def use(self, core: Core) -> None:
        self.flow.core = core
        self.stage.engine = core.windows
        self.stage.scoring = core.scoring
        self.store.engine = core.windows

    @property
    def cases(self) -> list[Case]:
        """The latest version of each case made (the declarations', the window stage's and the
        look backs'), in the order they were first made."""
        return list(self._cases.values())

    def alerts(self, messages: Iterable[bytes | None]) -> dict[str, Alert]:
        """Every alert of a sequence of messages (offsets 0, 1, ...), by id (first kept)."""
        found: dict[str, Alert] = {}
        for offset, raw in enumerate(messages):
            outcome = self.feed(raw, offset)
            if not isinstance(outcome, Rejection):
                for alert in outcome:
                    found.setdefault(alert.alert_id, alert)
        return found
