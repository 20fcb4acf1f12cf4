"""Window state in the faust table, checkpointed: changes collect in memory and are written,
one changelog record per changed key, at each checkpoint.

The window agent applies frames to decoded states kept in memory (the hot keys stay decoded;
the rest are read from the table's local store when needed). A checkpoint then, in this order:
1. waits until every alert the applied frames produced has been delivered;
2. encodes each changed key once and sends it to the changelog, in the partition of its frame;
   waits for delivery; writes the same bytes to the local store;
3. acks the frames, so that faust may commit their offsets.
A crash anywhere in between costs a replay, never an alert: a key whose new state reached the
changelog had its alerts delivered first, and its replayed observations are recognised as
duplicates; a key whose state did not is restored as it was and recounts them.
"""

import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from alerts.errors import StateDecodeError
from alerts.retro import PartyRecord
from alerts.state.formats import PARTY, STREAM_START, WINDOW_STATE
from alerts.state.keys import PARTY_PREFIX, stream_start_key
from alerts.windows.engine import KeyEntry, WindowEngine
from alerts.windows.observations import Dimension

log = logging.getLogger("tradewatch.windows")


class TableStore:
    """The window table's local store seen through a cache of decoded entries.

    `data` is the faust table's store: memory (a dict) or RocksDB (one database per partition).
    Reads and writes name the partition explicitly: they happen outside faust's event context.
    """

    def __init__(self, engine: WindowEngine, data: Any, cached_keys: int = 50_000) -> None:
        self.engine = engine
        self.data = data
        self.cached_keys = cached_keys
        self._entries: OrderedDict[bytes, tuple[int, KeyEntry]] = OrderedDict()
        self._dirty: dict[bytes, int] = {}
        self._starts: dict[int, int] = {}
        self._dirty_starts: set[int] = set()
        self._parties: OrderedDict[bytes, tuple[int, PartyRecord]] = OrderedDict()
        self._dirty_parties: dict[bytes, int] = {}
        self._dirty_markers: dict[bytes, tuple[int, bytes]] = {}
        self.decode_errors = 0

    # -- the StateStore protocol (alerts.pipeline) ------------------------------------------

    def entry(self, partition: int, key: bytes, dimension: Dimension) -> KeyEntry:
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached[1]
        state = None
        stored = self._read(partition, key)
        if stored is not None:
            try:
                state = WINDOW_STATE.decode(stored)
            except StateDecodeError as exc:  # a bug or a foreign writer: start the key over
                self.decode_errors += 1
                log.error("window state of a key is unreadable, starting it over: %s", exc)
        entry = self.engine.new_entry(dimension, state)
        self._entries[key] = (partition, entry)
        if len(self._entries) > self.cached_keys:
            self._evict()
        return entry

    def changed(self, partition: int, key: bytes) -> None:
        self._dirty[key] = partition

    def stream_start(self, partition: int, candidate_ms: int) -> int:
        start = self._starts.get(partition)
        if start is None:
            stored = self._read(partition, stream_start_key(partition))
            if stored is not None:
                start = STREAM_START.decode(stored)
            else:
                start = candidate_ms
                self._dirty_starts.add(partition)
            self._starts[partition] = start
        return start

    def party(self, partition: int, key: bytes) -> PartyRecord | None:
        cached = self._parties.get(key)
        if cached is not None:
            self._parties.move_to_end(key)
            return cached[1]
        stored = self._read(partition, key)
        if stored is None:
            return None
        try:
            record = PARTY.decode(stored)
        except StateDecodeError as exc:
            self.decode_errors += 1
            log.error("a party of the index is unreadable, starting it over: %s", exc)
            return None
        self._parties[key] = (partition, record)
        return record

    def put_party(self, partition: int, key: bytes, record: PartyRecord) -> None:
        self._parties[key] = (partition, record)
        self._dirty_parties[key] = partition

    def party_keys(self, partition: int) -> list[bytes]:
        """The partition's party keys: those written, and those changed since."""
        return self.keys_with_prefix(partition, PARTY_PREFIX.encode())

    def marker(self, partition: int, key: bytes) -> bytes | None:
        """A small record of the partition's own (a look back's progress), as last put."""
        pending = self._dirty_markers.get(key)
        return pending[1] if pending is not None else self._read(partition, key)

    def put_marker(self, partition: int, key: bytes, value: bytes) -> None:
        self._dirty_markers[key] = (partition, value)

    def keys_with_prefix(self, partition: int, prefix: bytes) -> list[bytes]:
        """The partition's keys that start with prefix, written or changed since, in order."""
        keys = {
            k for k, p in self._dirty_parties.items() if p == partition and k.startswith(prefix)
        }
        keys.update(
            k
            for k, (p, _) in self._dirty_markers.items()
            if p == partition and k.startswith(prefix)
        )
        databases = getattr(self.data, "_dbs", None)
        if databases is not None:
            for key in self.data._db_for_partition(partition).keys(from_key=prefix):
                if not key.startswith(prefix):
                    break
                keys.add(bytes(key))
        else:
            owner = self.data._key_partition
            keys.update(
                k
                for k in self.data.data
                if isinstance(k, bytes) and k.startswith(prefix) and owner.get(k) == partition
            )
        return sorted(keys)

    # -- checkpoints ----------------------------------------------------------------------

    @property
    def dirty(self) -> int:
        return (
            len(self._dirty)
            + len(self._dirty_starts)
            + len(self._dirty_parties)
            + len(self._dirty_markers)
        )

    def changes(self) -> dict[int, list[tuple[bytes, bytes]]]:
        """Every key changed since the last checkpoint, encoded once, by partition."""
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        entries = self._entries
        for key, partition in self._dirty.items():
            encoded = WINDOW_STATE.encode(entries[key][1].state)
            by_partition.setdefault(partition, []).append((key, encoded))
        for partition in self._dirty_starts:
            encoded = STREAM_START.encode(self._starts[partition])
            by_partition.setdefault(partition, []).append((stream_start_key(partition), encoded))
        parties = self._parties
        for key, partition in self._dirty_parties.items():
            by_partition.setdefault(partition, []).append((key, PARTY.encode(parties[key][1])))
        for key, (partition, value) in self._dirty_markers.items():
            by_partition.setdefault(partition, []).append((key, value))
        return by_partition

    def written(self, changes: dict[int, list[tuple[bytes, bytes]]]) -> None:
        """The changes reached the changelog: keep them in the local store too."""
        for partition, records in changes.items():
            for key, value in records:
                self._write(partition, key, value)
        self._dirty.clear()
        self._dirty_starts.clear()
        self._dirty_parties.clear()
        self._dirty_markers.clear()
        if len(self._entries) > self.cached_keys or len(self._parties) > self.cached_keys:
            self._evict()

    def rebuild(self, engine: WindowEngine) -> None:
        """Use another engine (new reference data): cached entries carry the old rules' memos,
        so they go; states are read again from the store. Only with nothing left to write."""
        assert not self.dirty, "rebuild only right after a checkpoint"
        self.engine = engine
        self._entries.clear()

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is cached of partitions this worker no longer holds (or holds anew: the
        table's recovery may have brought newer states than the cache has)."""
        gone = set(partitions)
        if not gone:
            return
        for key in [k for k, (p, _) in self._entries.items() if p in gone]:
            del self._entries[key]
        for key in [k for k, p in self._dirty.items() if p in gone]:
            del self._dirty[key]
        for partition in gone:
            self._starts.pop(partition, None)
            self._dirty_starts.discard(partition)
        for key in [k for k, (p, _) in self._parties.items() if p in gone]:
            del self._parties[key]
        for key in [k for k, p in self._dirty_parties.items() if p in gone]:
            del self._dirty_parties[key]
        for key in [k for k, (p, _) in self._dirty_markers.items() if p in gone]:
            del self._dirty_markers[key]

    def _evict(self) -> None:
        for cache, dirty in ((self._entries, self._dirty), (self._parties, self._dirty_parties)):
            excess = len(cache) - self.cached_keys
            for key in list(cache):
                if excess <= 0:
                    break
                if key not in dirty:
                    del cache[key]
                    excess -= 1

    # -- the faust store ------------------------------------------------------------------

    def _read(self, partition: int, key: bytes) -> bytes | None:
        return read_store(self.data, partition, key)

    def _write(self, partition: int, key: bytes, value: bytes) -> None:
        write_store(self.data, partition, key, value)

    def key_count(self) -> int:
        """Keys in the local store. RocksDB's is an estimate it keeps (counting by iteration
        would read every key on disk every few seconds)."""
        databases = getattr(self.data, "_dbs", None)
        if databases is None:
            return len(self.data.data)
        return sum(
            int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
            for db in databases.values()
        )


def read_store(data: Any, partition: int, key: bytes) -> bytes | None:
    """A key's value in a faust table's local store (memory or RocksDB), outside faust's event
    context: the partition is named explicitly."""
    databases = getattr(data, "_dbs", None)
    if databases is not None:  # faust's RocksDB store: one database per partition
        value = data._db_for_partition(partition).get(key)
        return bytes(value) if value is not None else None
    value = data.data.get(key)
    return value if isinstance(value, bytes) else None


def write_store(data: Any, partition: int, key: bytes, value: bytes) -> None:
    databases = getattr(data, "_dbs", None)
    if databases is not None:
        data._db_for_partition(partition)[key] = value
    else:
        data.data[key] = value
        data._key_partition[key] = partition


def delete_store(data: Any, partition: int, key: bytes) -> None:
    databases = getattr(data, "_dbs", None)
    if databases is not None:
        del data._db_for_partition(partition)[key]
    else:
        data.data.pop(key, None)
        data._key_partition.pop(key, None)


def partition_keys(data: Any, partition: int) -> list[bytes]:
    """Every key of one partition of a faust table's local store."""
    databases = getattr(data, "_dbs", None)
    if databases is not None:
        return [bytes(key) for key in data._db_for_partition(partition).keys()]  # noqa: SIM118
    owner = data._key_partition
    return [k for k in list(data.data) if isinstance(k, bytes) and owner.get(k) == partition]
