"""`tradewatch reference publish|approve|rollback|status`: new reference versions, to every worker.

    tradewatch reference publish alerts/reference/watchlist_default.jsonl
    tradewatch reference approve watchlist_default 2026.12.1      # by another person
    tradewatch reference rollback watchlist_default 2026.11.1

Each file is validated exactly as start-up validates it (its own lines, then the whole core
built over the shipped data with it in place). The command then reads the reference topic as a
worker does and judges the files by the same rules (alerts/reference_policy.py): a version that
a worker would refuse (not newer, or another content under a label already published) is
refused here with one line and nothing is sent; one that a worker would hold for approval is
sent, and the command says so and who may approve it. Only if every file passes is anything
sent: each file's chunks, then its manifest (streams/reference_topic.py).
"""

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kafka.errors import KafkaError

from alerts.errors import ReferenceDataError
from alerts.pipeline import Core
from alerts.reference import (
    DEFAULT_REFERENCE_DIR,
    LoadedRecord,
    ReferenceData,
    ReferenceFile,
    WatchlistEntry,
    load_file,
    parse_file,
)
from alerts.reference_policy import Action, BroadNames, Ledger, Offer, Verdict
from streams.errors import BrokerError, StreamsError
from streams.produce import make_producer
from streams.reference_topic import (
    Approval,
    Assembler,
    Complete,
    Manifest,
    encode_approval,
    encode_file,
)
from streams.settings import Settings
from streams.topics import records_from_start, require_topic


class PolicyRefused(StreamsError):
    """A reference change the workers would refuse: nothing was sent."""


def identity(settings: Settings) -> str:
    """Who this command acts as: TRADEWATCH_ANALYST, else the login name."""
    return settings.analyst or os.environ.get("USER") or getpass.getuser()


def validate(settings: Settings, paths: list[Path]) -> list[ReferenceFile[LoadedRecord]]:
    """The files, loaded and checked together with the rest of the reference data
    (ReferenceDataError, naming file and line, at the first problem)."""
    from streams.offline import core_options

    files = [load_file(path) for path in paths]
    base = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
    Core.build(core_options(settings), reference=base.replaced(*files))
    return files


@dataclass
class TopicState:
    """The reference topic as a worker that starts now would judge it."""

    ledger: Ledger
    manifests: dict[str, Manifest] = field(default_factory=dict)
    """The newest manifest read under each version label."""
    contents: dict[str, bytes] = field(default_factory=dict)
    """The content of each version label that `keep` asked for."""


def shipped_ledger(settings: Settings) -> Ledger:
    reference = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
    shipped = [
        e for f in reference.watchlist_files() for e in f.records if isinstance(e, WatchlistEntry)
    ]
    return Ledger(
        in_use=reference, broad=BroadNames.shipped(shipped, settings.party_match_threshold)
    )


def read_topic(
    settings: Settings, keep: Callable[[Manifest], bool] = lambda _: False, timeout_s: float = 60
) -> TopicState:
    """Read the whole reference topic and judge every version on it, as a worker would."""
    state = TopicState(shipped_ledger(settings))
    assembler = Assembler(max_bytes=settings.reference_max_bytes)
    for record in records_from_start(
        settings, settings.topic_reference, "reference-cli", timeout_s,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    ):  # fmt: skip
        for outcome in assembler.add(record.key, record.value):
            _judge(state, outcome, keep)
    return state


def _judge(state: TopicState, outcome: object, keep: Callable[[Manifest], bool]) -> None:
    if isinstance(outcome, Approval):
        state.ledger.approve(outcome.name, outcome.version, outcome.sha256, outcome.approved_by)
    elif isinstance(outcome, Complete):
        manifest = outcome.manifest
        try:
            loaded = parse_file(Path(manifest.label), outcome.content)
        except ReferenceDataError:
            return
        if (loaded.header.name, loaded.header.version) != (manifest.name, manifest.version):
            return
        state.manifests[manifest.label] = manifest
        if keep(manifest):
            state.contents[manifest.label] = outcome.content
        state.ledger.offer(_offer(manifest), loaded)


def _offer(manifest: Manifest) -> Offer:
    return Offer(
        manifest.name, manifest.version, manifest.sha256, manifest.published_by, manifest.rollback
    )


@dataclass(frozen=True)
class Published:
    label: str
    size: int
    chunks: int
    verdict: Verdict


def publish(
    settings: Settings,
    paths: list[Path],
    rollback: bool = False,
    reason: str = "",
    contents: list[bytes] | None = None,
) -> list[Published]:
    """Validate, judge against the topic, then send every file (PolicyRefused if a worker
    would refuse one: then nothing is sent)."""
    files = validate(settings, paths)
    require_topic(settings, settings.topic_reference)
    raw = contents if contents is not None else [path.read_bytes() for path in paths]
    state = read_topic(settings)
    return _publish_loaded(settings, state, list(zip(files, raw, strict=True)), rollback, reason)


def approve(settings: Settings, name: str, version: str, reason: str = "") -> Verdict:
    """Approve the version held for review under this label (PolicyRefused if there is none,
    or if the approver is its publisher)."""
    require_topic(settings, settings.topic_reference)
    state = read_topic(settings)
    label = f"{name}@{version}"
    held = state.ledger.held.get(name)
    if held is None or held.offer.version != version:
        in_use = state.ledger.in_use.files.get(name)
        now = f"{in_use.label} is in use" if in_use is not None else f"no file {name} is known"
        raise PolicyRefused(f"{label} is not held for approval ({now})")
    by = identity(settings)
    if by == held.offer.published_by:
        raise PolicyRefused(f"{label} was published by {by}: another person must approve it")
    approval = Approval(
        type="approval", name=name, version=version, sha256=held.offer.sha256,
        approved_by=by, approved_at=datetime.now(UTC), reason=reason,
    )  # fmt: skip
    verdict = state.ledger.approve(name, version, held.offer.sha256, by)
    assert verdict is not None
    _send(settings, [encode_approval(approval)])
    return verdict


def rollback(settings: Settings, name: str, version: str, reason: str = "") -> Published:
    """Publish again a version read from the topic, declared a rollback."""
    require_topic(settings, settings.topic_reference)
    label = f"{name}@{version}"
    state = read_topic(settings, keep=lambda m: m.label == label)
    content = state.contents.get(label)
    if content is None:
        shipped = ReferenceData.load(settings.reference_dir or DEFAULT_REFERENCE_DIR)
        found = shipped.files.get(name)
        if found is None or found.header.version != version:
            raise PolicyRefused(f"{label} is neither on {settings.topic_reference} nor shipped")
        content = found.path.read_bytes()
    path = Path(f"{settings.topic_reference}/{label}")
    loaded = parse_file(path, content)
    from streams.offline import core_options

    Core.build(core_options(settings), reference=state.ledger.in_use.replaced(loaded))
    [published] = _publish_loaded(settings, state, [(loaded, content)], True, reason)
    return published


def _publish_loaded(
    settings: Settings,
    state: TopicState,
    files: list[tuple[ReferenceFile[LoadedRecord], bytes]],
    as_rollback: bool,
    reason: str,
) -> list[Published]:
    by = identity(settings)
    now = datetime.now(UTC)
    planned = []
    for loaded, content in files:
        header = loaded.header
        records = encode_file(
            header.kind, header.name, header.version, content, now,
            published_by=by, rollback=as_rollback, reason=reason,
        )  # fmt: skip
        manifest = Manifest.model_validate_json(records[-1][1])
        verdict = state.ledger.offer(_offer(manifest), loaded)
        if verdict.action is Action.REFUSE:
            raise PolicyRefused(f"{loaded.label} refused: {verdict.reason}")
        planned.append((loaded, content, records, verdict))
    _send(settings, [record for *_, records, _ in planned for record in records])
    return [
        Published(loaded.label, len(content), len(records) - 1, verdict)
        for loaded, content, records, verdict in planned
    ]


def _send(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer(settings)
    failures: list[BaseException] = []
    try:
        for key, value in records:
            producer.send(settings.topic_reference, key=key, value=value).add_errback(
                failures.append
            )
        producer.flush(timeout=60)
    except KafkaError as exc:
        raise BrokerError(f"could not publish to {settings.topic_reference}: {exc}") from exc
    finally:
        producer.close(timeout=10)
    if failures:
        raise BrokerError(f"{len(failures)} sends failed; first: {failures[0]}")
