"""Library log lines that repeat are held back to one per interval, with a count."""

import logging

from streams.log_repeats import Repeats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_repeated_library_message_goes_out_once_an_interval_with_a_count() -> None:
    clock = Clock()
    repeats = Repeats(interval_s=10, clock=clock)
    first = record("aiokafka.conn", "Unable connect to %s", "127.0.0.1:9092")
    assert repeats.filter(first)
    held = [repeats.filter(record("aiokafka.conn", "Unable connect to %s", "x")) for _ in range(99)]
    assert not any(held)
    clock.now += 10
    later = record("aiokafka.conn", "Unable connect to %s", "127.0.0.1:9092")
    assert repeats.filter(later)
    assert later.getMessage() == "Unable connect to 127.0.0.1:9092 (and 99 more like it in 10 s)"
    clock.now += 10
    quiet = record("aiokafka.conn", "Unable connect to %s", "127.0.0.1:9092")
    assert repeats.filter(quiet) and quiet.getMessage() == "Unable connect to 127.0.0.1:9092"


def test_other_messages_levels_and_tradewatch_lines_are_not_held() -> None:
    repeats = Repeats(interval_s=10, clock=Clock())
    assert repeats.filter(record("faust.producer", "one"))
    assert repeats.filter(record("faust.producer", "two"))
    assert repeats.filter(record("faust.producer", "one", level=logging.WARNING))
    for _ in range(5):  # tradewatch's own lines are never held back
        assert repeats.filter(record("tradewatch.worker", "the same line"))
    for _ in range(5):  # nor a library's INFO lines: a rebalance's steps, seconds apart
        assert repeats.filter(record("faust.app.base", "Executing", level=logging.INFO))


def test_one_record_gets_the_same_answer_at_every_handler() -> None:
    repeats = Repeats(interval_s=10, clock=Clock())
    first = record("aiokafka.conn", "Unable connect")
    assert repeats.filter(first) and repeats.filter(first)  # two handlers, one record
    again = record("aiokafka.conn", "Unable connect")
    assert not repeats.filter(again) and not repeats.filter(again)
