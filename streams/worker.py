"""Running the faust worker from settings, with a startup banner that holds no secrets."""

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TextIO

import faust

from streams import heap
from streams.app import create_app
from streams.errors import BrokerUnreachable, StreamsError
from streams.kafka_security import describe
from streams.log_repeats import Repeats
from streams.settings import Settings
from streams.topics import ensure_topics

log = logging.getLogger("tradewatch.worker")


RETRY_SECONDS = 5


def banner(settings: Settings) -> str:
    return (
        f"tradewatch worker {settings.app_id}: "
        f"{settings.topic_declarations} -> {settings.topic_alerts} "
        f"(dead letters: {settings.topic_dead_letter}) on {','.join(settings.bootstrap_servers)} "
        f"({describe(settings)}); "
        f"metrics at {settings.metrics_url}"
    )


def topics_when_kafka_answers(
    settings: Settings, sleep: Callable[[float], None] = time.sleep
) -> list[str]:
    """Create or check every topic (see ensure_topics), trying again while nothing answers at
    the broker address, with one status line per attempt: a worker started before its broker
    waits for it. A broker that answers but refuses us (credentials, certificates) or a topic
    that is wrong stops the worker at once."""
    attempt = 1
    while True:
        try:
            return ensure_topics(settings)
        except BrokerUnreachable as exc:
            log.warning("%s; trying again in %d s (attempt %d)", exc, RETRY_SECONDS, attempt)
            sleep(RETRY_SECONDS)
            attempt += 1


class DataDirInUse(StreamsError):
    """Another live worker holds this data folder."""


def hold_data_dir(settings: Settings) -> TextIO:
    """Lock the worker's data folder for as long as the returned file stays open.

    Two workers on one machine with one folder would share RocksDB databases, and the second
    would wait forever for the first's lock ("DB for partition 0 is locked! Retry in 1s").
    The lock goes with the process, so a killed worker's folder is free again at once."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    holder = (settings.data_dir / "worker.lock").open("a+")
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder.seek(0)
        pid = holder.read().strip() or "?"
        holder.close()
        raise DataDirInUse(
            f"TRADEWATCH_DATA_DIR={settings.data_dir} is in use by another worker (pid {pid}); "
            "give each worker on this machine a data folder of its own"
        ) from None
    holder.seek(0)
    holder.truncate()
    holder.write(f"{os.getpid()}\n")
    holder.flush()
    return holder


class _Worker(faust.Worker):
    """faust's worker, with a stop that ends in bounded time and library logs that do not
    flood: with Kafka gone, its producer flush on stop can wait for ever."""

    stop_seconds = 10.0

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        repeats = Repeats()
        for handler in logger.handlers:
            handler.addFilter(repeats)

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._signal_stop_time:  # a second Ctrl-C or SIGTERM: the user has waited enough
            _exit_now(f"second {signum.name} while stopping")
        timer = threading.Timer(
            self.stop_seconds,
            _exit_now,
            (f"stopping took more than {self.stop_seconds:g} s (is Kafka reachable?)",),
        )
        timer.daemon = True
        timer.start()
        super()._schedule_shutdown(signum)


def _exit_now(why: str) -> None:
    """Exit without waiting for the rest of the stop. Nothing is lost: offsets are committed
    only for batches whose outputs arrived, so a restart screens the rest again."""
    log.critical("%s: exiting now; what was not committed is screened again on restart", why)
    logging.shutdown()
    os._exit(0)


def run_worker(settings: Settings) -> int:
    """Load the rules, create missing topics, then run until SIGINT or SIGTERM.

    Reference data loads first: a broken file stops start-up before anything touches Kafka.
    """
    data_dir_lock = hold_data_dir(settings)  # noqa: F841 (held until the process ends)
    tradewatch = create_app(settings)
    heap.settle()
    for name in topics_when_kafka_answers(settings):  # before any agent subscribes
        log.info("created topic %s (%d partitions)", name, settings.topic_partitions)
    log.info(banner(settings))
    log.info(
        "rules: %d; reference data: %s",
        tradewatch.core.rule_count,
        ", ".join(f.label for f in tradewatch.core.reference.files.values()),
    )
    worker = _Worker(
        tradewatch.app,
        loglevel=settings.log_level.upper(),
        quiet=True,
        redirect_stdouts=False,
    )
    # faust's terminal spinner sets the root logger to DEBUG whatever the level asked for, which
    # makes every library debug call build a log record (a debug line per message sent).
    worker.spinner = None
    worker.stop_seconds = settings.stop_seconds
    worker.execute_from_commandline()  # raises SystemExit when it stops
    return 0
