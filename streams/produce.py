"""Sending a JSON-lines file of declarations to the input topic with kafka-python."""

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from schemas.wire import DeclarationRecord, Rejection, decode_declaration
from streams import terminal
from streams.errors import BrokerError, InputFileError
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.merge import InOrderStamps
from streams.settings import Settings
from streams.topics import require_topic


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a file with their 1-based line numbers."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(path, None, exc.strerror or "cannot open") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def check_line(path: Path, number: int, line: bytes) -> DeclarationRecord:
    """Validate one line as a declaration (as the worker will), or raise InputFileError naming
    the line."""
    outcome = decode_declaration(line, len(line) + 1)
    if isinstance(outcome, Rejection):
        raise InputFileError(path, number, f"{outcome.reason.value}: {outcome.detail}")
    return outcome


def validate_file(path: Path) -> int:
    """Check every line before anything is sent, so that a bad file sends nothing."""
    count = 0
    for number, line in read_lines(path):
        check_line(path, number, line)
        count += 1
    if count == 0:
        raise InputFileError(path, None, "no declarations in file")
    return count


def _key_of(line: bytes) -> bytes | None:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    key = document.get("declaration_id") if isinstance(document, dict) else None
    return key.encode("utf-8") if isinstance(key, str) else None


def make_producer(settings: Settings) -> KafkaProducer:
    announce(settings)
    try:
        return KafkaProducer(
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-producer",
            acks="all",
            linger_ms=10,
            max_request_size=max(1_048_576, settings.max_message_bytes + 65_536),
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc


def produce_file(
    settings: Settings,
    path: Path,
    *,
    validate: bool = True,
    rate: float | None = None,
    progress: bool = True,
) -> int:
    """Send every line of path to the input topic, keyed by declaration_id; return the count.

    With validate (the default) the whole file is checked first; without it the lines are sent
    as they are, which is how the dead-letter path is exercised on purpose.
    """
    total = validate_file(path) if validate else None
    require_topic(settings, settings.topic_declarations)
    producer = make_producer(settings)
    failures: list[BaseException] = []
    sent = 0
    interval = 1.0 / rate if rate else 0.0
    next_send = time.monotonic()
    stamps = InOrderStamps()
    try:
        with terminal.progress("produce", total=total, enabled=progress) as bar:
            for _number, line in read_lines(path):
                if interval:
                    next_send += interval
                    delay = next_send - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                future = producer.send(
                    settings.topic_declarations,
                    key=_key_of(line),
                    value=line,
                    timestamp_ms=stamps.next(),
                )
                future.add_errback(failures.append)
                sent += 1
                bar.update(1)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    if failures:
        raise BrokerError(f"{len(failures)} of {sent} sends failed; first: {failures[0]}")
    return sent
