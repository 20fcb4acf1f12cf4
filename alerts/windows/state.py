"""The state of one aggregation key, and admitting an observation into it.

State lives in daily buckets in event time; every window is a sum of buckets. Admission decides,
from the observation alone and this key's state, whether it is:
- a duplicate: its source offset was already applied (a replay after a crash or a rebalance), so
  it is neither counted nor evaluated again. Its alerts, if it had any, were delivered before the
  state that holds it was written (the window stage's checkpoint sends alerts first), so nothing
  is owed for it;
- late: older than this key's watermark by more than the grace period, so it is not counted, but
  recorded, counted in a metric and named in the evidence of this key's next alerts;
- counted.
Days older than the retention are dropped as the watermark moves: expiry in event time, so a
replay of old data expires exactly as the live run did.

Only what cannot be derived again lives here: a window rule's thresholds and running sums are
memos kept beside the state (`alerts.windows.engine`), never written with it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from alerts.windows.observations import Observation
from alerts.windows.timing import day_of

BUCKET_FIELDS = (
    "declarations",
    "quantity",
    "value_usd",
    "watched",
    "watched_value_usd",
    "at_split_threshold",
)
"""A day bucket's numbers, by position (`contribution` says what each is): a bucket is a
vector because the rules add days together, and vectors add faster than records."""
N, QUANTITY, VALUE, CONTROLLED_N, CONTROLLED_VALUE, LARGE_N = range(len(BUCKET_FIELDS))


class KeyState(msgspec.Struct, array_like=True, gc=False):
    """Everything the window stage keeps about one aggregation key.

    `sources` holds, per input partition, the highest source offset applied; `recent` and
    `late` the newest declaration ids (with their event times) counted and refused as late.
    """

    watermark_ms: int | None = None
    first_day: int | None = None
    sources: dict[int, int] = msgspec.field(default_factory=dict)
    recent: list[tuple[str, int]] = msgspec.field(default_factory=list)
    late: list[tuple[str, int]] = msgspec.field(default_factory=list)
    buckets: dict[int, list[float]] = msgspec.field(default_factory=dict)
    histograms: dict[int, dict[int, int]] = msgspec.field(default_factory=dict)
    case: bytes | None = None
    """The key's open case (JSON of schemas.case.Case): a crash restores it with the windows."""

    @property
    def watermark_day(self) -> int | None:
        return None if self.watermark_ms is None else day_of(self.watermark_ms)


@dataclass(frozen=True, slots=True)
class Admission:
    counted: bool
    duplicate: bool = False
    late: bool = False


COUNTED = Admission(counted=True)
DUPLICATE = Admission(counted=False, duplicate=True)
LATE = Admission(counted=False, late=True)


def _remember(ids: list[tuple[str, int]], entry: tuple[str, int], kept: int) -> None:
    ids.append(entry)
    if len(ids) > 2 * kept:  # trimmed in steps, not on every append
        del ids[:-kept]


def admit(
    state: KeyState,
    declaration_id: str,
    event_time_ms: int,
    source_partition: int,
    source_offset: int,
    grace_ms: int,
    retention_days: int,
    ids_kept: int,
    remember: bool = True,
) -> Admission:
    """Decide what an observation is, and move the watermark and expiry if it counts.

    `remember`: also note its id in the state's recent or late ids (the window engine does that
    itself after a run, see Arrivals)."""
    sources = state.sources
    if source_offset <= sources.get(source_partition, -1):
        return DUPLICATE
    sources[source_partition] = source_offset
    watermark = state.watermark_ms
    if watermark is not None and event_time_ms < watermark - grace_ms:
        if remember:
            _remember(state.late, (declaration_id, event_time_ms), ids_kept)
        return LATE
    previous_day = None if watermark is None else watermark // 86_400_000
    if watermark is None or event_time_ms > watermark:
        state.watermark_ms = watermark = event_time_ms
    day = event_time_ms // 86_400_000
    if state.first_day is None or day < state.first_day:
        state.first_day = day
    if remember:
        _remember(state.recent, (declaration_id, event_time_ms), 2 * ids_kept)
    if watermark // 86_400_000 != previous_day:  # expiry moves only when the watermark's day does
        _expire(state, retention_days)
    return COUNTED


def _expire(state: KeyState, retention_days: int) -> None:
    assert state.watermark_ms is not None
    oldest = day_of(state.watermark_ms) - retention_days
    if state.first_day is None or state.first_day >= oldest:
        return  # no day is older than the first day counted
    # History older than the retention no longer counts, so neither does having seen it.
    first = state.first_day
    state.first_day = oldest
    # No day is older than the first day counted: the days from it to `oldest` are all there
    # is to drop (usually one), unless the key slept longer than it keeps days.
    for days in (state.buckets, state.histograms):
        if oldest - first <= len(days):
            for day in range(first, oldest):
                days.pop(day, None)
        else:
            for day in [d for d in days if d < oldest]:
                del days[day]


def contribution(observation: Observation, split_threshold_usd: float) -> list[float]:
    """What one observation adds to its day's bucket: declarations, quantity, value in USD,
    watched declarations, watched value, declarations at or above the split threshold."""
    value = observation.value_usd or 0.0
    watched = 1.0 if observation.watched else 0.0
    large = 1.0 if value >= split_threshold_usd else 0.0
    return [1.0, observation.quantity, value, watched, watched * value, large]


def daily_counts(state: KeyState, first: int, last: int) -> list[int]:
    """The key's declarations on each day from `first` to `last`."""
    buckets = state.buckets
    return [int(buckets[day][N]) if day in buckets else 0 for day in range(first, last + 1)]


def add_amounts(total: list[float], amounts: list[float]) -> None:
    """Adds a bucket's fields to another's, in place (unrolled: this is the hot loop)."""
    total[0] += amounts[0]
    total[1] += amounts[1]
    total[2] += amounts[2]
    total[3] += amounts[3]
    total[4] += amounts[4]
    total[5] += amounts[5]


def add_to_bucket(state: KeyState, day: int, contribution: list[float]) -> None:
    bucket = state.buckets.get(day)
    if bucket is None:
        state.buckets[day] = list(contribution)
    else:
        add_amounts(bucket, contribution)


def window_sums(state: KeyState, start_day: int, size_days: int) -> list[float]:
    sums = [0.0] * len(BUCKET_FIELDS)
    buckets = state.buckets
    for day in range(start_day, start_day + size_days):
        bucket = buckets.get(day)
        if bucket is not None:
            add_amounts(sums, bucket)
    return sums


class Arrivals:
    """The ids a key's evidence names (the newest declarations counted, the newest refused as
    late) as they stood once each observation of a run had been admitted, so that a run is
    judged exactly as if its observations had come one at a time.

    >>> arrivals = Arrivals(state, [(observation, admission), ...], ids_kept=10)
    >>> arrivals.recent(3)     # newest counted ids once the 4th of the run was admitted
    >>> arrivals.commit(state) # note the run's ids in the state
    """

    __slots__ = ("_batch", "_state", "ids_kept")

    def __init__(
        self,
        state: KeyState,
        batch: Sequence[tuple[Observation, Admission]],
        ids_kept: int,
    ) -> None:
        # The state's ids are read as they were before the run: `commit` comes after every
        # call to `recent` and `late` (nothing is copied for the many runs that find nothing).
        self._state = state
        self._batch = batch
        self.ids_kept = ids_kept

    def recent(self, index: int) -> list[tuple[str, int]]:
        run = [
            (o.declaration_id, o.event_time_ms) for o, a in self._batch[: index + 1] if a.counted
        ]
        return (self._state.recent[-2 * self.ids_kept :] + run)[-2 * self.ids_kept :]

    def late(self, index: int) -> list[tuple[str, int]]:
        run = [(o.declaration_id, o.event_time_ms) for o, a in self._batch[: index + 1] if a.late]
        return (self._state.late[-self.ids_kept :] + run)[-self.ids_kept :]

    def commit(self, state: KeyState) -> None:
        recent = state.recent
        late = state.late
        for observation, admission in self._batch:
            if admission.counted:
                recent.append((observation.declaration_id, observation.event_time_ms))
            elif admission.late:
                late.append((observation.declaration_id, observation.event_time_ms))
        # Trimmed once per run, to what evidence can name, so stored states stay small.
        if len(recent) > 2 * self.ids_kept:
            del recent[: -2 * self.ids_kept]
        if len(late) > self.ids_kept:
            del late[: -self.ids_kept]
