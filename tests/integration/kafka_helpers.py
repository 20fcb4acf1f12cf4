"""Helpers for tests against the real broker: a worker process, producing, consuming, scraping."""

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.producer.future import RecordMetadata
from prometheus_client.parser import text_string_to_metric_families

from streams.merge import InOrderStamps


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bootstrap(broker_url: str) -> list[str]:
    return broker_url.removeprefix("kafka://").split(";")


def worker_env(broker_url: str, name: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """TRADEWATCH_* settings for a worker with its own topics, group and metrics port."""
    settings = {
        "TRADEWATCH_BROKER_URL": broker_url,
        "TRADEWATCH_APP_ID": name,
        "TRADEWATCH_TOPIC_DECLARATIONS": f"{name}.declarations",
        "TRADEWATCH_TOPIC_ALERTS": f"{name}.alerts",
        "TRADEWATCH_TOPIC_DEAD_LETTER": f"{name}.dlq",
        "TRADEWATCH_TOPIC_CASES": f"{name}.cases",
        "TRADEWATCH_TOPIC_FEEDBACK": f"{name}.feedback",
        "TRADEWATCH_TOPIC_REFERENCE": f"{name}.reference",
        "TRADEWATCH_TOPIC_PARTITIONS": "3",
        "TRADEWATCH_METRICS_PORT": str(free_port()),
        "TRADEWATCH_DATA_DIR": str(data_dir),
        "TRADEWATCH_LOG_LEVEL": "info",
    }
    settings.update(extra)
    return settings


def member_env(env: dict[str, str], running: Iterable["WorkerProcess"]) -> dict[str, str]:
    """Settings for one more worker of a group: a metrics port of its own, and the first data
    folder under env's that no running worker holds (RocksDB allows one holder), so that a
    stopped worker's local state is reused."""
    held = {w.env["TRADEWATCH_DATA_DIR"] for w in running}
    base = env["TRADEWATCH_DATA_DIR"]
    data_dir = next(f"{base}/w{n}" for n in itertools.count() if f"{base}/w{n}" not in held)
    return env | {"TRADEWATCH_METRICS_PORT": str(free_port()), "TRADEWATCH_DATA_DIR": data_dir}


class WorkerProcess:
    """`tradewatch worker` in a subprocess; stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.metrics_url = f"http://127.0.0.1:{env['TRADEWATCH_METRICS_PORT']}/metrics"
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def __enter__(self) -> "WorkerProcess":
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker"],
                env={**clean, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_for_metrics(timeout_s=60)
        return self

    def _wait_for_metrics(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.metrics_url, timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"worker metrics never came up:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.returncode = self.process.returncode
        return self.returncode

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is not None:
            # pytest shows a failed test's output: what the worker did is the first clue.
            print(f"--- {self.log_path.name} (worker exited {self.returncode}) ---")
            print(self.log_tail(400))


def produce(
    broker_url: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
    max_request_size: int = 1_048_576,
) -> list[RecordMetadata]:
    """Send messages in order, each stamped a millisecond after the one before at least (as
    `tradewatch produce` does), and wait for each one's partition and offset."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap(broker_url), acks="all", max_request_size=max_request_size
    )
    stamps = InOrderStamps()
    try:
        futures = [
            producer.send(topic, key=key, value=value, headers=headers, timestamp_ms=stamps.next())
            for key, value in messages
        ]
        producer.flush(timeout=30)
        return [future.get(timeout=30) for future in futures]
    finally:
        producer.close(timeout=10)


def consume(
    broker_url: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout_s: float = 60,
    settle_s: float = 2.0,
) -> list[ConsumerRecord]:
    """Read topic from the start until `until` holds, then a little longer to catch extras."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap(broker_url),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        settled_at: float | None = None
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            if settled_at is None and until(records):
                settled_at = time.monotonic() + settle_s
            if settled_at is not None and time.monotonic() >= settled_at:
                break
        return records
    finally:
        consumer.close()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by (name, sorted labels)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def metric_sum(samples: dict[Any, float], name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these (others summed over)."""
    wanted = set(labels.items())
    return sum(
        value for (found, pairs), value in samples.items() if found == name and wanted <= set(pairs)
    )


def wait_for_metric(
    url: str, name: str, expected: float, timeout_s: float = 60, **labels: str
) -> dict[Any, float]:
    deadline = time.monotonic() + timeout_s
    samples = scrape(url)
    while metric_sum(samples, name, **labels) < expected and time.monotonic() < deadline:
        time.sleep(0.3)
        samples = scrape(url)
    return samples


def offline_run(messages: Iterable[bytes | None], **settings: Any) -> tuple[dict[str, Any], Any]:
    """What `tradewatch backtest` gives for these messages (offsets 0, 1, ...): the alerts by
    id, and the pipeline (its window states in `.store.entries`)."""
    from streams.offline import offline_pipeline
    from streams.settings import Settings

    pipeline = offline_pipeline(Settings(**settings))
    return pipeline.alerts(messages), pipeline


def offline_alerts(messages: Iterable[bytes | None], **settings: Any) -> dict[str, Any]:
    return offline_run(messages, **settings)[0]


def offline_buckets(pipeline: Any) -> dict[str, Any]:
    """Window counts by table key, as the offline pipeline ended them."""
    return {key.decode(): entry.state.buckets for key, entry in pipeline.store.entries.items()}


def changelog_states(broker_url: str, app_id: str) -> dict[str, Any]:
    """The last window state of every key in a worker group's changelog (the party index
    and the stream's own records left out)."""
    from alerts.state.formats import WINDOW_STATE
    from alerts.state.keys import PARTY_PREFIX, RESERVED

    consumer = KafkaConsumer(
        f"{app_id}-window-state-changelog",
        bootstrap_servers=bootstrap(broker_url),
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    raw: dict[bytes, bytes] = {}
    try:
        for record in consumer:
            if record.value is not None and not record.key.startswith(
                (RESERVED, PARTY_PREFIX.encode())
            ):
                raw[record.key] = record.value
    finally:
        consumer.close()
    return {key.decode(): WINDOW_STATE.decode(value) for key, value in raw.items()}


def create_topic(broker_url: str, name: str, partitions: int) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap(broker_url))
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def wait_until_drained(worker: WorkerProcess, declarations: int, timeout_s: float = 120) -> None:
    """Until every declaration is screened and the window stage has gone quiet."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        samples = scrape(worker.metrics_url)
        screened = metric(samples, "tradewatch_declarations_total", outcome="ok") + metric(
            samples, "tradewatch_declarations_total", outcome="rejected"
        )
        observed = sum(
            v for (name, _), v in samples.items() if name == "tradewatch_window_observations_total"
        )
        if screened >= declarations and observed == last:
            if time.monotonic() - stable_since > 3:
                return
        else:
            last, stable_since = observed, time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"worker did not drain:\n{worker.log_tail()}")


ROOT = Path(__file__).resolve().parents[2]


def generate(tmp_path: Path, *, count: int, days: int, seed: int, rate: int) -> list[bytes]:
    feed = tmp_path / f"feed-{seed}.jsonl"
    command = [sys.executable, "-m", "streams", "generate", "--out", str(feed)]
    command += ["--count", str(count), "--days", str(days), "--seed", str(seed)]
    command += ["--rate", str(rate)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return feed.read_bytes().splitlines()


def screened(worker: WorkerProcess) -> float:
    samples = scrape(worker.metrics_url)
    return metric(samples, "tradewatch_declarations_total", outcome="ok") + metric(
        samples, "tradewatch_declarations_total", outcome="rejected"
    )


def lag(broker_url: str, group: str, topics: list[str]) -> int:
    """Messages of these topics the consumer group has not committed yet. A broker that has
    not made the group's coordinator yet (a fresh broker's first group) is asked again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return _lag(broker_url, group, topics)
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _lag(broker_url: str, group: str, topics: list[str]) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(broker_url))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap(broker_url))
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = consumer.end_offsets(partitions)
        return sum(
            end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()
        )
    finally:
        consumer.close()
        admin.close()


def wait_for_no_lag(broker_url: str, group: str, topics: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    left = lag(broker_url, group, topics)
    while left > 0:
        assert time.monotonic() < deadline, f"{left} messages still not committed by {group}"
        time.sleep(1)
        left = lag(broker_url, group, topics)
