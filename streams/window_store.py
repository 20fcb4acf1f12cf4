"""Window state in the faust table, with the decoded state of hot keys kept in memory.

The store writes the table's local data directly and lists what it wrote; the window agent sends
those records to the table's changelog itself, from the partition of the frame being processed.
faust's own path (an assignment to the table) puts each changelog record through a buffer that
stalls the consumer once a hundred are pending: a frame updates hundreds of keys at once.

A few keys (an HS subheading's unit-value band, a busy route) see many observations; decoding
their state from bytes on every one would dominate the window stage. The cache holds a decoded
KeyState next to the exact bytes it was written as, and is used only while the table still holds
those bytes, so a rebalance or a recovery from the changelog can never serve a stale state.
"""

from collections import OrderedDict
from collections.abc import MutableMapping

from alerts.windows.state import KeyState

STREAM_START_PREFIX = b"\x00stream-start"  # never equals a key, which starts with a dimension


class WindowStore:
    """The window table seen through a cache of decoded states.

    >>> store = WindowStore(table.data)
    >>> state = store.get(key)          # KeyState or None
    >>> store.put(key, state)           # encodes, writes the table's local data
    >>> store.drain()                   # [(key, bytes)]: for the changelog
    """

    def __init__(self, table: MutableMapping[bytes, bytes], cached_keys: int = 20_000) -> None:
        self.table = table
        self.cached_keys = cached_keys
        self._cache: OrderedDict[bytes, tuple[bytes, KeyState]] = OrderedDict()
        self.written: list[tuple[bytes, bytes]] = []
        self.hits = 0
        self.misses = 0

    def _write(self, key: bytes, value: bytes) -> None:
        self.table[key] = value
        self.written.append((key, value))

    def drain(self) -> list[tuple[bytes, bytes]]:
        """The records written since the last drain, for the changelog, in order."""
        written, self.written = self.written, []
        return written

    def get(self, key: bytes) -> KeyState | None:
        stored = self.table.get(key)
        if stored is None:
            self._cache.pop(key, None)
            return None
        cached = self._cache.get(key)
        if cached is not None and (cached[0] is stored or cached[0] == stored):
            self._cache.move_to_end(key)
            self.hits += 1
            return cached[1]
        self.misses += 1
        return KeyState.decode(stored)

    def put(self, key: bytes, state: KeyState) -> None:
        encoded = state.encode()
        self._write(key, encoded)
        self._cache[key] = (encoded, state)
        self._cache.move_to_end(key)
        if len(self._cache) > self.cached_keys:
            self._cache.popitem(last=False)

    def stream_start(self, event_time_ms: int) -> int:
        """The earliest event time the window stage has seen, this observation's included.

        Kept in the table under a reserved key (so it survives restarts with the rest of the
        state); it only ever moves earlier."""
        key = STREAM_START_PREFIX
        stored = self.table.get(key)
        current = int(stored) if stored is not None else None
        if current is None or event_time_ms < current:
            self._write(key, str(event_time_ms).encode())
            return event_time_ms
        return current

    def forget(self, key: bytes) -> None:
        """Drop a cached state that may have been changed without being written back."""
        self._cache.pop(key, None)
