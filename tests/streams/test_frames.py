"""Frames: a batch's observations grouped by the observations-topic partition of their key."""

from kafka.partitioner.default import murmur2

from alerts.windows.observations import Frame
from streams.window_stage import frames, partition_of
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
    grouped = frames(observations, 6)
    seen = [o for frame in grouped.values() for o in frame.observations]
    assert sorted(seen, key=observations.index) == observations  # none lost, none repeated
    for partition, frame in grouped.items():
        assert frame.stream_start_ms == min(o.event_time_ms for o in observations)
        for key, group in frame.by_key().items():
            assert partition_of(key, 6) == partition
            assert group == [o for o in observations if o.table_key == key]  # input order
        assert Frame.decode(frame.encode()) == frame


def test_a_single_observation_from_an_older_worker_still_decodes() -> None:
    [observation, *_] = observe([declaration(0, 1)])
    frame = Frame.decode(observation.encode())
    assert frame.observations == [observation]
    assert frame.stream_start_ms == observation.event_time_ms
