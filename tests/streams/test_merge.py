"""The timestamp merge of a worker's input partitions (streams/merge.py)."""

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.merge import InOrderStamps, TimestampMerge


@dataclass(frozen=True, order=True)
class Part:
    partition: int


@dataclass
class Record:
    partition: int
    offset: int
    timestamp: int


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def records(partition: int, timestamps: list[int], first_offset: int = 0) -> list[Record]:
    return [Record(partition, first_offset + i, t) for i, t in enumerate(timestamps)]


def order(runs: list[tuple[Part, list[Record]]]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for _, run in runs for r in run]


def merge_of(*partitions: int, clock: Clock | None = None) -> TimestampMerge[Part]:
    merge: TimestampMerge[Part] = TimestampMerge(max_wait_s=1.0, clock=clock or Clock())
    merge.assign(Part(p) for p in partitions)
    return merge


def never(_: Part) -> bool:
    return False


def test_records_come_oldest_first_across_partitions() -> None:
    merge = merge_of(0, 1)
    merge.add(Part(0), records(0, [10, 20, 30]))
    merge.add(Part(1), records(1, [5, 20, 25]))
    runs = merge.release(never)
    # ties (20) go to the lower partition; runs group neighbours of one partition
    assert order(runs) == [(1, 0), (0, 0), (0, 1), (1, 1), (1, 2), (0, 2)]
    assert [(tp.partition, len(run)) for tp, run in runs] == [(1, 1), (0, 2), (1, 2), (0, 1)]


def test_a_partition_with_records_on_the_broker_holds_the_others_back() -> None:
    clock = Clock()
    merge = merge_of(0, 1, clock=clock)
    merge.add(Part(0), records(0, [10, 20]))

    def lagging(tp: Part) -> bool:
        return tp == Part(1)

    assert merge.release(lagging) == []  # partition 1 may hold older records
    merge.add(Part(1), records(1, [15]))
    # partition 1 runs dry again after its record, and still lags: 20 waits
    assert order(merge.release(lagging)) == [(0, 0), (1, 0)]
    assert merge.buffered(Part(0)) == 1


def test_a_partition_whose_records_do_not_come_stops_holding_back() -> None:
    clock = Clock()
    merge = merge_of(0, 1, clock=clock)
    merge.add(Part(0), records(0, [10]))

    def lagging(tp: Part) -> bool:
        return tp == Part(1)

    assert merge.release(lagging) == []
    clock.now = 0.5
    assert merge.release(lagging) == []
    clock.now = 1.5
    assert order(merge.release(lagging)) == [(0, 0)]


def test_a_partition_that_has_read_everything_holds_nothing_back() -> None:
    merge = merge_of(0, 1, 2)
    merge.add(Part(2), records(2, [7, 8]))
    assert order(merge.release(never)) == [(2, 0), (2, 1)]


def test_assigning_again_drops_what_was_buffered() -> None:
    merge = merge_of(0, 1)
    merge.add(Part(0), records(0, [1, 2]))
    merge.assign([Part(1)])
    merge.add(Part(0), records(0, [3]))  # no longer merged: ignored
    merge.add(Part(1), records(1, [4]))
    assert order(merge.release(never)) == [(1, 0)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=50), max_size=30).map(sorted),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_any_fetch_pattern_gives_the_global_timestamp_order(
    timelines: list[list[int]], random: object
) -> None:
    """However fetches cut the partitions, and whatever order they arrive in, the released
    records are in (timestamp, partition, offset) order, and every record is released."""
    import random as random_module

    assert isinstance(random, random_module.Random)
    merge = merge_of(*range(len(timelines)))
    pending = {p: records(p, times) for p, times in enumerate(timelines)}

    def lagging(tp: Part) -> bool:
        return bool(pending[tp.partition])

    released: list[tuple[int, int]] = []
    while any(pending.values()):
        partition = random.choice([p for p, left in pending.items() if left])
        take = random.randint(1, len(pending[partition]))
        merge.add(Part(partition), pending[partition][:take])
        pending[partition] = pending[partition][take:]
        released.extend(order(merge.release(lagging)))
    released.extend(order(merge.release(lagging)))

    everything = sorted((t, p, o) for p, times in enumerate(timelines) for o, t in enumerate(times))
    assert released == [(p, o) for _, p, o in everything]


def test_stamps_for_a_file_never_repeat_a_millisecond() -> None:
    now = [1_700_000_000.0]
    stamps = InOrderStamps(clock=lambda: now[0])
    first = [stamps.next() for _ in range(3)]  # three sends in one millisecond
    assert first == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    now[0] += 1.0  # the clock moves on: it is followed again
    assert stamps.next() == 1_700_000_001_000
