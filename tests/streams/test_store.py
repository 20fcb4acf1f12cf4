"""The window table's store: RocksDB sized from one memory budget, keys counted cheaply, state
read and written by explicit partition, a cache that never serves what a rebalance replaced."""

from pathlib import Path

from rocksdict import Rdict

from alerts.pipeline import Core, CoreOptions
from alerts.rules.volume_anomaly import ROUTE_CHAPTER
from alerts.state.formats import WINDOW_STATE
from alerts.windows.state import KeyState
from streams.app import create_app, rocksdb_options
from streams.settings import Settings
from streams.window_store import TableStore

CORE = Core.build(CoreOptions())


def test_rocksdb_budget_is_split_over_the_partitions() -> None:
    options = rocksdb_options(Settings(rocksdb_memory_mb=120, topic_partitions=6))
    per_partition = 20 * 1024 * 1024
    assert options["block_cache_size"] == per_partition // 2
    assert options["write_buffer_size"] * options["max_write_buffer_number"] == per_partition // 2


def test_the_worker_table_gets_the_capped_options_only_with_rocksdb(tmp_path: Path) -> None:
    on_disk = create_app(
        Settings(store="rocksdb://", data_dir=tmp_path, topic_partitions=2), core=CORE
    )
    assert on_disk.window_table.options == rocksdb_options(on_disk.settings)
    in_memory = create_app(Settings(store="memory://", data_dir=tmp_path / "m"), core=CORE)
    assert not in_memory.window_table.options


class RocksData:
    """The shape of faust's RocksDB store: one database per partition."""

    def __init__(self, path: Path) -> None:
        self._dbs = {p: Rdict(str(path / f"p{p}")) for p in range(2)}

    def _db_for_partition(self, partition: int) -> Rdict:
        return self._dbs[partition]


class MemoryData:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self._key_partition: dict[bytes, int] = {}


def test_key_count_reads_rocksdb_estimates_and_counts_a_dict(tmp_path: Path) -> None:
    rocks = RocksData(tmp_path)
    for n in range(300):
        rocks._dbs[n % 2][f"k{n}".encode()] = b"v"
    assert TableStore(CORE.windows, rocks).key_count() == 300
    for db in rocks._dbs.values():
        db.close()
    memory = MemoryData()
    memory.data.update({b"a": b"1", b"b": b"2"})
    assert TableStore(CORE.windows, memory).key_count() == 2


def test_states_are_read_from_their_partition_and_the_cache_forgets_revoked_ones(
    tmp_path: Path,
) -> None:
    rocks = RocksData(tmp_path)
    stored = KeyState(watermark_ms=5, first_day=0)
    rocks._dbs[1][b"route_chapter|k"] = WINDOW_STATE.encode(stored)
    store = TableStore(CORE.windows, rocks)
    entry = store.entry(1, b"route_chapter|k", ROUTE_CHAPTER)
    assert entry.state == stored
    assert store.entry(0, b"route_chapter|other", ROUTE_CHAPTER).state == KeyState()
    entry.state.watermark_ms = 9  # changed in memory, not yet checkpointed
    store.changed(1, b"route_chapter|k")
    # The partition moves away and back: the cache must not serve the old change.
    rocks._dbs[1][b"route_chapter|k"] = WINDOW_STATE.encode(KeyState(watermark_ms=7, first_day=0))
    store.forget({1})
    assert store.dirty == 0
    assert store.entry(1, b"route_chapter|k", ROUTE_CHAPTER).state.watermark_ms == 7
    for db in rocks._dbs.values():
        db.close()


class ChangelogOutbox:
    """An outbox that keeps what was sent instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes, bytes | None]] = []

    async def send_records(self, topic, partition, records):  # type: ignore[no-untyped-def]
        self.sent += [(topic, partition, key, value) for key, value in records]
        return []

    async def delivered(self) -> None:
        return None


def test_old_reviews_are_let_go_with_a_tombstone_each(tmp_path: Path) -> None:
    import asyncio

    from prometheus_client import CollectorRegistry

    from alerts.feedback import Review
    from streams.metrics import Metrics
    from streams.review_agent import ReviewAgent
    from streams.window_store import partition_keys, read_store, write_store

    rocks = RocksData(tmp_path)
    for data in (MemoryData(), rocks):
        for n, touched in enumerate([1_000, 5_000, 9_000]):
            write_store(data, n % 2, f"case-{n}".encode(), Review(touched_ms=touched).encode())
        outbox = ChangelogOutbox()
        agent = ReviewAgent(
            data, Metrics(CollectorRegistry()), outbox, "reviews-changelog", "cases", "decisions"
        )  # type: ignore[arg-type]
        removed = asyncio.run(agent.sweep({0, 1}, older_than_ms=6_000))
        assert removed == 2
        assert sorted(key for _, _, key, value in outbox.sent if value is None) == [
            b"case-0", b"case-1"
        ]  # fmt: skip
        assert read_store(data, 0, b"case-0") is None and read_store(data, 1, b"case-1") is None
        assert read_store(data, 0, b"case-2") is not None
        assert partition_keys(data, 0) == [b"case-2"]
    for db in rocks._dbs.values():
        db.close()
