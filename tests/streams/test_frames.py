"""Frames: a batch's observations grouped by the observations-topic partition of their key."""

import orjson
from kafka.partitioner.default import murmur2

from alerts.errors import FrameDecodeError
from alerts.pipeline import frames
from alerts.windows.observations import Frame
from streams.partitioning import partition_of
from tests.alerts.windows.helpers import declaration, observe


def test_a_key_always_goes_to_the_partition_kafka_would_give_its_key() -> None:
    keys = [f"importer_heading|de:importer {n}|8471" for n in range(200)]
    for key in keys:
        # kafka-python's murmur2, as Kafka's Java client computes it, against aiokafka's.
        expected = (murmur2(key.encode()) & 0x7FFFFFFF) % 6
        assert partition_of(key, 6) == expected
    assert len({partition_of(key, 6) for key in keys}) == 6
    assert {partition_of(key, 1) for key in keys} == {0}


def test_frames_keep_each_key_together_and_in_input_order() -> None:
    observations = observe(
        [declaration(day / 3, n, importer={"name": f"Importer {n % 7}", "country": "DE"})
         for n, day in enumerate(range(60))]
    )  # fmt: skip
    grouped = frames(observations, 6, partition_of)
    seen = [o for frame in grouped.values() for o in frame.observations]
    assert sorted(seen, key=observations.index) == observations  # none lost, none repeated
    for partition, frame in grouped.items():
        # Where a partition's stream starts, if it has seen nothing yet: its first observation.
        assert frame.stream_start_ms == frame.observations[0].event_time_ms
        for key, group in frame.by_key().items():
            assert partition_of(key, 6) == partition
            assert group == [o for o in observations if o.table_key == key]  # input order
        assert Frame.decode(frame.encode()) == frame


def test_frames_written_by_an_earlier_version_still_decode() -> None:
    observations = observe([declaration(0, 1)])[:2]
    rows = [[o.kind.label, *[getattr(o, f) for f in o.__struct_fields__[1:]]] for o in observations]
    single = orjson.dumps(rows[0])  # one observation a message
    framed = orjson.dumps([observations[0].event_time_ms, *rows])  # a JSON frame
    assert Frame.decode(single).observations == observations[:1]
    assert Frame.decode(framed) == Frame(observations[0].event_time_ms, observations)


def test_bytes_that_are_not_a_frame_raise_a_typed_error() -> None:
    for raw in (b"\x09abc", b"\x02\xff\xff", b"", b"[1, 2"):
        try:
            Frame.decode(raw)
        except FrameDecodeError:
            continue
        raise AssertionError(f"{raw!r} decoded")
