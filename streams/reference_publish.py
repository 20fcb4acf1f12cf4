"""`tradewatch reference publish FILE...`: new reference file versions, to every worker.

Each file is validated exactly as start-up validates it (its own lines, then the whole core
built over the shipped data with it in place), and only if every file passes is anything sent:
each file's chunks, then its manifest (streams/reference_topic.py). A broken file is refused with
`file:line: reason` and nothing is sent.
"""

from datetime import UTC, datetime
from pathlib import Path

from kafka.errors import KafkaError

from alerts.pipeline import Core
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData, ReferenceFile, load_file
from streams.errors import BrokerError
from streams.produce import make_producer
from streams.reference_topic import encode_file
from streams.settings import Settings
from streams.topics import require_topic


def validate(settings: Settings, paths: list[Path]) -> list[ReferenceFile]:  # type: ignore[type-arg]
    """The files, loaded and checked together with the rest of the reference data
    (ReferenceDataError, naming file and line, at the first problem)."""
    from streams.app import core_options

    files = [load_file(path) for path in paths]
    base = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
    Core.build(core_options(settings), reference=base.replaced(*files))
    return files


def publish(settings: Settings, paths: list[Path]) -> list[tuple[str, int, int]]:
    """Validate, then send every file; (name@version, bytes, chunks) of each."""
    files = validate(settings, paths)
    require_topic(settings, settings.topic_reference)
    producer = make_producer(settings)
    failures: list[BaseException] = []
    sent = []
    now = datetime.now(UTC)
    try:
        for path, loaded in zip(paths, files, strict=True):
            content = path.read_bytes()
            header = loaded.header
            records = encode_file(header.kind, header.name, header.version, content, now)
            for key, value in records:
                producer.send(settings.topic_reference, key=key, value=value).add_errback(
                    failures.append
                )
            producer.flush(timeout=60)  # a file's chunks are all there before the next file
            sent.append((loaded.label, len(content), len(records) - 1))
    except KafkaError as exc:
        raise BrokerError(f"could not publish to {settings.topic_reference}: {exc}") from exc
    finally:
        producer.close(timeout=10)
    if failures:
        raise BrokerError(f"{len(failures)} sends failed; first: {failures[0]}")
    return sent
