"""A worker's input partitions read in timestamp order, as one stream.

Read partition by partition, a bulk replay reaches the window stage with one partition's days
ahead of another's: a key's declarations from the slower partition then come after its
watermark has moved on, are refused as late, and the alerts depend on how the input happens to
be partitioned. So the records of all the input partitions a worker holds are merged by record
timestamp, as Kafka Streams does among a task's partitions: the next record is always the
oldest buffered head, and nothing is released while a partition that has nothing buffered still
has records on the broker (they might be older). A partition that has read everything there is
holds nothing back, so a live feed is not delayed; one whose records do not come within
`max_wait_s` stops holding the others back until it has records again.

Ties (the same millisecond) go to the lower partition, then the lower offset. A replay that
needs the order of its file kept exactly gives its records increasing timestamps.

    merge = TimestampMerge()
    merge.assign({tp0, tp1})
    merge.add(tp0, records)                   # as fetched
    for tp, part in merge.release(lagging):   # lagging(tp): are there records on the broker
        ...                                   # not fetched yet
"""

import heapq
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

P = TypeVar("P")  # a partition: anything hashable and ordered by its partition number


class InOrderStamps:
    """Record timestamps for a file sent in order: the wall clock, but never the same
    millisecond twice, so that the merge keeps the file's order across partitions.

    A producer that sends thousands of records a second stamps many in one millisecond, and
    the merge puts those in partition order; a file's later declaration can then reach the
    windows before an earlier one of the same key by hours of event time, and be refused as
    late. `tradewatch produce` and the demo feed stamp their records with these.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        self._last = max(int(self._clock() * 1000), self._last + 1)
        return self._last


MAX_WAIT_S = 1.0
"""How long a partition with records on the broker, but none fetched, may hold the others."""


class TimestampMerge(Generic[P]):
    """Buffers each partition's fetched records and releases them in timestamp order."""

    def __init__(
        self,
        max_wait_s: float = MAX_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
        number: Callable[[P], int] = lambda tp: tp.partition,  # type: ignore[attr-defined]
    ) -> None:
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.number = number
        self._buffers: dict[P, deque[Any]] = {}
        self._waiting_since: dict[P, float] = {}

    def assign(self, partitions: Iterable[P]) -> None:
        """The partitions merged from now on; whatever was buffered is dropped (after a
        rebalance every partition is read again from its committed offset)."""
        self._buffers = {tp: deque() for tp in sorted(partitions, key=self.number)}
        self._waiting_since.clear()

    def add(self, tp: P, records: list[Any]) -> None:
        buffer = self._buffers.get(tp)
        if buffer is not None and records:
            buffer.extend(records)
            self._waiting_since.pop(tp, None)

    def drop(self, tp: P) -> None:
        """Forget what one partition has buffered (it is fetched again)."""
        buffer = self._buffers.get(tp)
        if buffer is not None:
            buffer.clear()

    def buffered(self, tp: P) -> int:
        buffer = self._buffers.get(tp)
        return 0 if buffer is None else len(buffer)

    @property
    def total_buffered(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    def _holds_back(self, tp: P, lagging: Callable[[P], bool], now: float) -> bool:
        """Whether an empty partition must hold the others: it has records on the broker,
        and has not yet waited for them longer than max_wait_s."""
        if not lagging(tp):
            self._waiting_since.pop(tp, None)
            return False
        since = self._waiting_since.setdefault(tp, now)
        return now - since < self.max_wait_s

    def release(self, lagging: Callable[[P], bool]) -> list[tuple[P, list[Any]]]:
        """The records that can go now, in timestamp order, as runs of one partition each."""
        buffers = self._buffers
        now = self.clock()
        if len(buffers) == 1:  # one partition: its own order is the order
            ((tp, buffer),) = buffers.items()
            if not buffer:
                return []
            records = list(buffer)
            buffer.clear()
            return [(tp, records)]
        if any(not b and self._holds_back(tp, lagging, now) for tp, b in buffers.items()):
            return []
        number = self.number
        heads = [
            (b[0].timestamp, number(tp), b[0].offset, index, tp)
            for index, (tp, b) in enumerate(buffers.items())
            if b
        ]
        heapq.heapify(heads)
        runs: list[tuple[P, list[Any]]] = []
        while heads:
            _, _, _, index, tp = heads[0]
            buffer = buffers[tp]
            record = buffer.popleft()
            if runs and runs[-1][0] == tp:
                runs[-1][1].append(record)
            else:
                runs.append((tp, [record]))
            if buffer:
                head = buffer[0]
                heapq.heapreplace(heads, (head.timestamp, number(tp), head.offset, index, tp))
            else:
                heapq.heappop(heads)
                if self._holds_back(tp, lagging, now):
                    break
        return runs
