"""Which partition of the observations topic a table key belongs to: Kafka's own answer."""

from functools import lru_cache

from aiokafka.partitioner import DefaultPartitioner

_partitioner = DefaultPartitioner()


@lru_cache(maxsize=131_072)
def partition_of(table_key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives this key: where a message
    keyed by it would go. (aiokafka's murmur2 is pure Python, ~17 µs a key: hence the cache.)"""
    if partitions == 1:
        return 0
    return int(_partitioner(table_key.encode("utf-8"), list(range(partitions)), None))
