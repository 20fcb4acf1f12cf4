"""Whole fetched batches through faust, instead of one event per message.

faust hands an agent one event per Kafka record: a task and a future or two per record, between
its consumer thread and the main loop, which caps a do-nothing agent near 7,000 records a second
on a small machine. Here the consumer hands over each partition's share of a fetch as one
`BatchMessage`, whose value is the list of aiokafka records, and acks it as the range of offsets
it covers. Everything else is faust's: the consumer group, rebalances, table recovery (a
changelog batch is applied as one event), offset commits, flow control.

    app = faust.App(...)
    app.transport = BatchTransport(app, batch_topics={"customs.declarations", ...})
    topic = BatchTopic(app, topics=["customs.declarations"], ...)   # event.value: records

A record's own key, value, offset and headers are read from the aiokafka record.

Topics in `merge_topics` are read as one stream across the partitions a worker holds, in
record-timestamp order (streams/merge.py): one `MergedBatch` per fetch, acked per partition.
"""

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, cast

import faust
from faust.tables.table import Table
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, ConsumerMessage, EventT, Message
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from streams.merge import TimestampMerge

MERGE_BUFFER_MAX = 20_000
"""Records a merged partition may have waiting before it is fetched no more (until half of
them have gone): the others are behind it in time."""


class BatchMessage(ConsumerMessage):
    """One partition's records of one fetch, delivered and acked as one message.

    `offset` is the last record's offset; `first_offset` the first offset the batch accounts
    for (the one after the previous batch of its partition, so that offsets with no record,
    such as transaction markers, are accounted for too).
    """

    __slots__ = ("first_offset", "records")

    def __init__(
        self,
        tp: TP,
        records: list[Any],
        first_offset: int,
        generation_id: int | None,
        last_offset: int | None = None,
    ) -> None:
        last = records[-1]
        super().__init__(
            tp.topic,
            tp.partition,
            last.offset if last_offset is None else last_offset,
            (last.timestamp or 0) / 1000.0,
            last.timestamp_type,
            [],
            None,
            cast(Any, records),
            None,
            0,
            len(records),
            tp,
            generation_id=generation_id,
        )
        self.records = records
        self.first_offset = first_offset

    @property
    def parts(self) -> list[tuple[TP, int, int]]:
        """(partition, first offset, last offset) of each partition the batch accounts for."""
        return [(self.tp, self.first_offset, self.offset)]


class MergedBatch(BatchMessage):
    """Records of several partitions of one topic, in the order they are to be screened
    (streams/merge.py), acked as each partition's range of offsets. faust sees it as a
    message of its first partition."""

    __slots__ = ("_parts",)

    def __init__(
        self, records: list[Any], parts: list[tuple[TP, int, int]], generation_id: int | None
    ) -> None:
        tp, first, last = parts[0]
        super().__init__(tp, records, first, generation_id, last_offset=last)
        self._parts = parts

    @property
    def parts(self) -> list[tuple[TP, int, int]]:
        return self._parts


FETCH_MAX_WAIT_MS = 100
"""How long the broker may hold a fetch that found nothing new. aiokafka keeps one fetch in
flight per broker: while it waits (faust asks for 1.5 s) for a partition that has nothing new,
no other partition of that broker is fetched either, so a worker that has read its input to
the end of a fetch stalls for up to that long before the next."""


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by the fetcher it starts
        return consumer


class BatchConsumer(aiokafka_driver.Consumer):
    """faust's aiokafka consumer, delivering the topics in `batch_topics` a batch at a time.

    A poisoned consumer acks and commits nothing more: once a batch's outputs could not be
    sent, no offset past it may be committed while the worker shuts down.
    """

    batch_topics: frozenset[str] = frozenset()
    merge_topics: frozenset[str] = frozenset()
    poisoned: BaseException | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_next: dict[TP, int] = {}
        self._assigned: set[TP] = set()
        self._merges: dict[str, TimestampMerge[TP]] = {}
        self._fetched_next: dict[TP, int] = {}

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def poison(self, reason: BaseException) -> None:
        self.poisoned = reason

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self._batch_next.clear()  # consumption restarts from the committed offsets
        self._assigned = set(assigned)
        self._reset_merges()
        await super().on_partitions_assigned(assigned, generation_id)

    def _reset_merges(self) -> None:
        """Records buffered for merging are dropped: they are fetched again from the
        committed offsets."""
        self._fetched_next.clear()
        for topic in self.merge_topics:
            merge = self._merges.setdefault(topic, TimestampMerge())
            merge.assign(tp for tp in self._assigned if tp.topic == topic)
            for tp in list(self._buffered_partitions):
                if tp.topic == topic:
                    self.on_buffer_drop(tp)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._assigned.difference_update(revoked)
        await super().on_partitions_revoked(revoked)

    async def perform_seek(self) -> None:
        """Seek every partition to its committed offset, and those with none to the beginning.

        aiokafka seeks only the partitions that have a committed offset. A partition without one
        (a new group, a new topic) stays wherever its fetcher got to: records fetched while a
        rebalance or a table recovery held the streams back are then skipped for good, and the
        next commit moves past them. Starting such a partition over from its first record is
        what `auto_offset_reset=earliest` means for it.

        What the merges buffered is dropped before the seek, not after: a fetch that
        completes while the seek is under way holds records from the new positions, and
        dropping those would lose them for good (the fetcher has moved past them). Records
        fetched from the old positions meanwhile are recognised when the partition's offsets
        go back, and dropped then (see getmany)."""
        self._reset_merges()
        await super().perform_seek()
        rewind = [
            tp
            for tp in self.assignment()
            if tp.topic in self.batch_topics
            and not self._is_changelog_tp(tp)
            and not self._committed_offset.get(tp)
        ]
        if rewind:
            await self._thread.seek_to_beginning(
                *(aiokafka_driver.ensure_aiokafka_TP(tp) for tp in rewind)
            )
            for tp in rewind:
                self._batch_next.pop(tp, None)
                self._read_offset[tp] = None

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """As faust's, but a batch topic's records of one partition come as one message."""
        records, active_partitions = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:
            try:
                await self.perform_seek()
            except Exception as exc:
                self.log.warning(f"exception performing seek when flow not active {exc}")
            return
        batch_topics = self.batch_topics
        merges = self._merges
        to_message = self._to_message
        for tp, tp_records in records.items():
            if not tp_records:
                continue
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            if not (
                active_partitions is None
                or tp in active_partitions
                or tp in self._buffered_partitions
            ):
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            merge = merges.get(tp.topic)
            if merge is not None:
                fetched_next = self._fetched_next.get(tp)
                if fetched_next is not None and tp_records[0].offset < fetched_next:
                    # Sought back (perform_seek): what is buffered comes again from here.
                    merge.drop(tp)
                merge.add(tp, tp_records)
                self._fetched_next[tp] = tp_records[-1].offset + 1
                if merge.buffered(tp) > MERGE_BUFFER_MAX:
                    self.on_buffer_full(tp)
            elif tp.topic in batch_topics:
                yield (
                    tp,
                    BatchMessage(
                        tp, tp_records, self._first_offset(tp, tp_records[0].offset), generation_id
                    ),
                )
                self._batch_next[tp] = tp_records[-1].offset + 1
            else:
                for record in tp_records:
                    yield tp, to_message(tp, record)
        for merge in merges.values():
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            message = self._merged(merge, generation_id)
            if message is not None:
                yield message.tp, message

    def _merged(self, merge: TimestampMerge[TP], generation_id: int) -> "MergedBatch | None":
        runs = merge.release(self._lagging)
        for tp in list(self._buffered_partitions):
            if tp.topic in self.merge_topics and merge.buffered(tp) <= MERGE_BUFFER_MAX // 2:
                self.on_buffer_drop(tp)
        if not runs:
            return None
        records: list[Any] = []
        ranges: dict[TP, list[int]] = {}
        for tp, run in runs:
            records.extend(run)
            found = ranges.get(tp)
            if found is None:
                ranges[tp] = [self._first_offset(tp, run[0].offset), run[-1].offset]
            else:
                found[1] = run[-1].offset
        parts = [(tp, first, last) for tp, (first, last) in ranges.items()]
        for tp, _, last in parts:
            self._batch_next[tp] = last + 1
            self._read_offset[tp] = last
        return MergedBatch(records, parts, generation_id)

    def _lagging(self, tp: TP) -> bool:
        """Whether the broker has records of this partition that were not fetched yet."""
        try:
            highwater = self.highwater(tp)
        except AssertionError:  # no longer assigned: a rebalance is on its way
            return False
        if highwater is None:
            return True
        fetched_next = self._fetched_next.get(tp)
        if fetched_next is None:
            fetched_next = self._committed_offset.get(tp) or 0
        return fetched_next < highwater

    def _first_offset(self, tp: TP, first_record: int) -> int:
        expected = self._batch_next.get(tp)
        if expected is not None and expected <= first_record:
            return expected
        committed = self._committed_offset.get(tp)
        if committed is not None and committed <= first_record:
            return committed
        return first_record

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        if tp.topic in self.batch_topics:
            return  # a batch accounts for the offsets between batches itself (see ack)
        await super()._add_gap(tp, offset_from, offset_to)

    def ack(self, message: Message) -> bool:
        if not isinstance(message, BatchMessage):
            return False if self.poisoned is not None else super().ack(message)
        with ack_lock:
            if message.acked:
                return False
            message.acked = True
            self._unacked_messages.discard(message)
            if not self.app.topics.acks_enabled_for(message.topic):
                return False
            parts = message.parts
            refused = (
                "the worker is stopping after a failure"
                if self.poisoned is not None
                else "fetched before a rebalance"
                if message.generation_id != self.app.consumer_generation_id
                else "its partition is no longer assigned"
                if any(part[0] not in self._assigned for part in parts)
                else "in a rebalance"
                if not self.app.flow_control.is_active()
                else None
            )
            if refused is not None:
                # A batch fetched before or during a rebalance is fetched again from the
                # committed offset by whoever holds its partition next. faust's stream acks
                # the events it drops in a rebalance as if they were done with: acking them
                # here would commit records nobody screened.
                self.log.info(
                    "not acking %s: %s",
                    ", ".join(f"{t.topic}[{t.partition}] offsets {a}..{b}" for t, a, b in parts),
                    refused,
                )
                return False
            for part_tp, first, last in parts:
                committed = self._committed_offset.get(part_tp)
                if committed is not None and committed > first:
                    first = committed
                acked_index = self._acked_index[part_tp]
                fresh = [o for o in range(first, last + 1) if o not in acked_index]
                acked_index.update(fresh)
                self._acked[part_tp].extend(fresh)
                self._n_acked += len(fresh)
            notify(self._waiting_for_ack)
            return True

    async def _commit(self, offsets: Any) -> bool:
        if self.poisoned is not None:
            return False
        return bool(await super()._commit(offsets))


class BatchTransport(aiokafka_driver.Transport):
    """The aiokafka transport with a BatchConsumer for the given topics."""

    Consumer = BatchConsumer

    def __init__(
        self, app: faust.App, batch_topics: Iterable[str], merge_topics: Iterable[str] = ()
    ) -> None:
        super().__init__(app.conf.broker_consumer, app)
        self.batch_topics = frozenset(batch_topics)
        self.merge_topics = frozenset(merge_topics)

    def create_consumer(self, callback: Any, **kwargs: Any) -> Any:
        consumer = cast(BatchConsumer, super().create_consumer(callback, **kwargs))
        consumer.batch_topics = self.batch_topics
        consumer.merge_topics = self.merge_topics
        consumer._reset_merges()
        return consumer


class BatchTopic(faust.Topic):
    """A topic whose events carry a BatchMessage's records as their value, undecoded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decode = self._decode_batch  # type: ignore[method-assign]

    async def _decode_batch(self, message: Message, *, propagate: bool = False) -> EventT[Any]:
        return self._create_event(message.key, message.value, message.headers, message)


class _ChangelogRecord:
    """One record of a changelog batch, shaped as the stores read an event."""

    __slots__ = ("key", "offset", "partition", "topic", "tp", "value")

    def __init__(self, tp: TP, record: Any) -> None:
        self.key = record.key
        self.value = record.value
        self.tp = tp
        self.offset = record.offset
        self.partition = tp.partition
        self.topic = tp.topic

    @property
    def message(self) -> "_ChangelogRecord":
        return self


class BatchTable(Table):  # type: ignore[type-arg]
    """A faust Table whose changelog arrives in batches: recovery applies each fetched batch
    as one event (faust's recovery loop costs a task and a timeout per event otherwise)."""

    on_recovered: Callable[[], None] | None = None

    def _new_changelog_topic(
        self,
        *,
        retention: Any = None,
        compacting: bool | None = None,
        deleting: bool | None = None,
    ) -> Any:
        return BatchTopic(
            self.app,
            topics=[self._changelog_topic_name()],
            key_type=self.key_type,
            value_type=self.value_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            partitions=self.partitions,
            retention=retention,
            compacting=self._changelog_compacting if compacting is None else compacting,
            deleting=self._changelog_deleting if deleting is None else deleting,
            acks=False,
            internal=True,
            config=self.extra_topic_configs,
            maxsize=16,  # fetched batches: bounded so that a restore streams instead of piling up
            allow_empty=True,
        )

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]]) -> None:
        records: list[Any] = []
        for event in batch:
            message = event.message
            if isinstance(message, BatchMessage):
                records.extend(_ChangelogRecord(message.tp, r) for r in message.records)
            else:
                records.append(event)
        identity: Callable[[Any], Any] = _identity
        self.data.apply_changelog_batch(records, to_key=identity, to_value=identity)


def _identity(value: Any) -> Any:
    return value
