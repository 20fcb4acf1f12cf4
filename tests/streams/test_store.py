"""The window table's store: RocksDB sized from one memory budget, keys counted cheaply."""

from pathlib import Path

from rocksdict import Rdict

from streams.app import create_app, key_count, rocksdb_options
from streams.settings import Settings


def test_rocksdb_budget_is_split_over_the_partitions() -> None:
    options = rocksdb_options(Settings(rocksdb_memory_mb=120, topic_partitions=6))
    per_partition = 20 * 1024 * 1024
    assert options["block_cache_size"] == per_partition // 2
    assert options["write_buffer_size"] * options["max_write_buffer_number"] == per_partition // 2


def test_the_worker_table_gets_the_capped_options_only_with_rocksdb(tmp_path: Path) -> None:
    on_disk = create_app(Settings(store="rocksdb://", data_dir=tmp_path, topic_partitions=2))
    assert on_disk.window_table.options == rocksdb_options(on_disk.settings)
    in_memory = create_app(Settings(data_dir=tmp_path / "m"))
    assert not in_memory.window_table.options


def test_key_count_reads_rocksdb_estimates_and_counts_a_dict(tmp_path: Path) -> None:
    class Store:  # the shape of faust's rocksdb Store: one database per partition
        def __init__(self) -> None:
            self._dbs = {p: Rdict(str(tmp_path / f"p{p}")) for p in range(2)}

    store = Store()
    for n in range(300):
        store._dbs[n % 2][f"k{n}".encode()] = b"v"
    assert key_count(store) == 300
    for db in store._dbs.values():
        db.close()
    assert key_count({b"a": b"1", b"b": b"2"}) == 2
