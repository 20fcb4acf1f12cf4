"""One line per interval for a library message that repeats, with a count.

With its broker gone, aiokafka and faust log the same connection error many times a second
(about 100 lines a second on stop, 5,000 a second on a worker started before its broker). The
first occurrence of a message goes out; the same message from the same logger at the same
level is then held back for `interval_s`, and the next one after that says how many were held.
Only the Kafka clients' and faust's own warnings and errors are limited: their INFO lines (a
rebalance's steps) and tradewatch's own lines always go out.
"""

import logging
import time
from collections.abc import Callable

LIBRARIES = ("aiokafka", "kafka", "faust", "mode")
_MAX_KEYS = 1_000


class Repeats(logging.Filter):
    def __init__(
        self,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        loggers: tuple[str, ...] = LIBRARIES,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.loggers = loggers
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._last: tuple[logging.LogRecord | None, bool] = (None, True)

    def filter(self, record: logging.LogRecord) -> bool:
        if record is self._last[0]:  # the same record at another handler: the same answer
            return self._last[1]
        verdict = self._judge(record)
        self._last = (record, verdict)
        return verdict

    def _judge(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.loggers):
            return True  # a rebalance's steps come seconds apart, and each one tells
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval_s:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        if len(self._seen) >= _MAX_KEYS:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} (and {seen[1]} more like it in {now - seen[0]:.0f} s)"
        return True
