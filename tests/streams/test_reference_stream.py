"""Reference files as a stream: chunks and manifests, reassembly in any order, and a reader
that swaps in a whole, valid new version and keeps the old one for anything broken."""

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from alerts.pipeline import Core, CoreOptions
from alerts.reference import DEFAULT_REFERENCE_DIR
from alerts.retro import ListChange
from streams.metrics import Metrics
from streams.reference_reader import ReferenceReader
from streams.reference_topic import Assembler, Broken, Complete, encode_file
from streams.settings import Settings
from tests.conftest import declaration_record

NOW = datetime(2026, 11, 28, tzinfo=UTC)
WATCHLIST = DEFAULT_REFERENCE_DIR / "watchlist_default.jsonl"


@dataclass
class Record:
    key: bytes | None
    value: bytes | None


def new_watchlist(version: str, *names: str) -> bytes:
    """The shipped watchlist at another version, with these parties added."""
    lines = WATCHLIST.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) | {"version": version}
    added = [
        json.dumps({"id": f"tw-new-{n}", "name": name, "aliases": [], "country": "RU",
                    "program": "test listing", "note": "newly listed"}, ensure_ascii=False)
        for n, name in enumerate(names)
    ]  # fmt: skip
    return "\n".join([json.dumps(header, ensure_ascii=False), *lines[1:], *added]).encode() + b"\n"


def records(content: bytes, version: str = "2026.12.1", chunk_bytes: int = 200) -> list[Record]:
    return [
        Record(k, v)
        for k, v in encode_file(
            "watchlist", "watchlist_default", version, content, NOW, chunk_bytes
        )
    ]


def test_a_version_is_whole_only_when_every_chunk_is_there_in_any_order() -> None:
    content = new_watchlist("2026.12.1", "OOO Novyi Zavod")
    published = records(content)
    assert len(published) > 3  # several chunks, then the manifest
    for seed in range(5):
        shuffled = published[:]
        random.Random(seed).shuffle(shuffled)
        assembler = Assembler()
        outcomes = [o for r in shuffled for o in assembler.add(r.key, r.value)]
        [complete] = outcomes
        assert isinstance(complete, Complete) and complete.content == content
    partial = Assembler()
    assert [o for r in published[1:] for o in partial.add(r.key, r.value)] == []


def test_a_corrupt_chunk_or_record_is_refused_and_an_old_chunk_completes_nothing() -> None:
    published = records(new_watchlist("2026.12.1", "OOO Novyi Zavod"))
    key, value = published[0].key, published[0].value
    assert value is not None
    flipped = value[:-1] + bytes([value[-1] ^ 0xFF])
    assembler = Assembler()
    outcomes = [
        o for r in [Record(key, flipped), *published[1:]] for o in assembler.add(r.key, r.value)
    ]
    [broken] = outcomes
    assert isinstance(broken, Broken) and "chunk 0 does not match its checksum" in broken.reason
    [garbage] = Assembler().add(b"watchlist_default", b"\x00\x01 not a record")
    assert isinstance(garbage, Broken) and garbage.what == "watchlist_default"
    # The chunks of an older version do not complete a newer manifest.
    older = records(new_watchlist("2026.11.9"), version="2026.11.9")
    newer = records(new_watchlist("2026.12.1", "OOO Novyi Zavod"))
    mixed = Assembler()
    outcomes = [o for r in [*older[:-1], newer[-1]] for o in mixed.add(r.key, r.value)]
    assert outcomes == []
    assert mixed.add(None, None) == []  # a tombstone


class Reader:
    """The reference reader without a broker: records handed to it as a poll would."""

    def __init__(self) -> None:
        self.metrics = Metrics(CollectorRegistry())
        self.core = Core.build(CoreOptions())
        self.used: list[Core] = []
        self.changes: list[list[ListChange]] = []
        self.reader = ReferenceReader(
            Settings(), CoreOptions(), self.core, self.metrics, self.use, pytest.fail
        )

    def use(self, core: Core, changes: list[ListChange]) -> None:
        self.used.append(core)
        self.changes.append(changes)

    def take(self, published: list[Record]) -> None:
        self.reader._take(published)  # type: ignore[arg-type]

    def count(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "tradewatch_reference_updates_total", {"outcome": outcome}
        )
        return value or 0.0


def test_a_new_watchlist_version_is_built_and_handed_over_and_alerts_cite_it() -> None:
    reader = Reader()
    reader.reader.caught_up.set()  # a version that comes while the worker runs
    declaration = declaration_record(importer={"name": "OOO Novyi Zavod", "country": "RU"})
    assert not [
        a
        for a in reader.core.screener.engine.screen(declaration)
        if a.category == "restricted_party"
    ]
    reader.take(records(new_watchlist("2026.12.1", "OOO Novyi Zavod")))
    [core] = reader.used
    assert core.reference.files["watchlist_default"].label == "watchlist_default@2026.12.1"
    assert core.suppressions is reader.core.suppressions
    [listed] = [
        a for a in core.screener.engine.screen(declaration) if a.category == "restricted_party"
    ]
    assert "watchlist_default@2026.12.1" in listed.reference_data_version
    assert reader.count("applied") == 1
    [[change]] = reader.changes  # what is looked back for: the one new entry
    assert [e.name for e in change.entries] == ["OOO Novyi Zavod"]
    reader.take(records(new_watchlist("2026.12.1", "OOO Novyi Zavod")))  # the same again
    assert len(reader.used) == 1


@pytest.mark.parametrize("running", [True, False])
def test_a_new_version_is_handed_over_with_the_recent_parties_matched(running: bool) -> None:
    reader = Reader()
    matcher = reader.core.party_matcher
    assert matcher is not None
    for party in ("Tekhkrim LLC", "Azu International", "Vostok Trading"):
        matcher.match(party, None, "RU")
    if running:
        reader.reader.caught_up.set()
    reader.take(records(new_watchlist("2026.12.1", "OOO Novyi Zavod")))
    [core] = reader.used
    assert core.party_matcher is not None
    # While the worker runs, the parties screened last are matched before the swap; at start,
    # the core is not yet screening anything, so there is nothing to match ahead.
    assert core.party_matcher.match.cache_info().currsize == (3 if running else 0)


@pytest.mark.parametrize(
    ("version", "content", "reason"),
    [
        (
            "9",
            b'{"kind": "watchlist", "name": "watchlist_default", "version": "9", "source": "x"}\n'
            b'{"id": 1}\n',
            "watchlist_default@9:2: invalid watchlist record",
        ),
        (
            "2026.12.2",
            new_watchlist("2026.12.2").replace(b'"kind": "watchlist"', b'"kind": "lexicon"'),
            ":2: invalid lexicon record",
        ),
        (
            "2026.12.3",
            new_watchlist("2026.12.3").replace(b'"version": "2026.12.3"', b'"version": "x"'),
            "the file's header says watchlist_default@x",
        ),
    ],
)
def test_a_broken_file_keeps_the_version_in_use(
    version: str, content: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    reader = Reader()
    reader.take(records(content, version=version))
    assert reader.used == []
    assert reader.count("rejected") == 1
    assert reason in caplog.text and "keeping the version in use" in caplog.text, caplog.text


def manifest_of(published: list[Record]) -> dict:  # type: ignore[type-arg]
    value = published[-1].value
    assert value is not None
    return json.loads(value)


def test_a_bomb_is_refused_without_inflating_it() -> None:
    import hashlib
    import tracemalloc
    import zlib

    blob = zlib.compress(b"\0" * (256 * 1024 * 1024), 9)  # 256 MB of zeros in about 250 KB
    sha = hashlib.sha256(blob).hexdigest()
    chunk = Record(
        b"watchlist_default@9#x/0",
        json.dumps({"type": "chunk", "name": "watchlist_default", "version": "9", "index": 0})
        .encode() + b"\n" + blob,
    )  # fmt: skip
    manifest = {
        "type": "manifest", "kind": "watchlist", "name": "watchlist_default", "version": "9",
        "sha256": sha, "size": 1000, "published_at": NOW.isoformat(),
        "chunks": [{"index": 0, "sha256": sha, "bytes": len(blob)}],
    }  # fmt: skip
    assembler = Assembler()
    tracemalloc.start()
    outcomes = assembler.add(chunk.key, chunk.value) + assembler.add(
        b"watchlist_default@9#x", json.dumps(manifest).encode()
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    [broken] = outcomes
    assert isinstance(broken, Broken) and "decompresses past the 1,000 bytes" in broken.reason
    assert peak < 32 * 1024 * 1024, peak  # steps of 4 MB at most, never the 256 MB
    # A manifest that names more than the limit is refused before anything is inflated.
    huge = manifest | {"size": 10**12}
    [refused] = Assembler().add(b"watchlist_default@9#x", json.dumps(huge).encode())
    assert isinstance(refused, Broken) and refused.code == "invalid"
    small = Assembler(max_bytes=500)
    [too_large] = small.add(b"watchlist_default@9#x", json.dumps(manifest).encode())
    assert isinstance(too_large, Broken) and "the limit is 500" in too_large.reason


def test_a_manifest_without_an_offset_is_refused_and_the_other_of_its_poll_applied() -> None:
    reader = Reader()
    naive = records(new_watchlist("2026.12.1", "OOO Novyi Zavod"), version="2026.12.1")
    document = manifest_of(naive) | {"published_at": "2026-11-28T10:00:00"}
    good = records(new_watchlist("2026.12.2", "OOO Novyi Zavod"), version="2026.12.2")
    reader.take([*naive[:-1], Record(naive[-1].key, json.dumps(document).encode()), *good])
    [core] = reader.used
    assert core.reference.files["watchlist_default"].label == "watchlist_default@2026.12.2"
    assert reader.count("rejected") == 1


def test_a_manifest_whose_chunks_never_come_is_reported_once() -> None:
    clock = [0.0]
    reader = Reader()
    reader.reader.assembler = Assembler(clock=lambda: clock[0])
    published = records(new_watchlist("2026.12.1", "OOO Novyi Zavod"))
    reader.take(published[1:])  # chunk 0 never comes
    assert reader.used == [] and reader.count("incomplete") == 0
    assert reader.metrics.registry.get_sample_value("tradewatch_reference_pending_versions") == 1
    clock[0] = 301.0
    reader.reader.on_tick()
    reader.reader.on_tick()
    assert reader.count("incomplete") == 1
    reader.take(published[:1])  # it comes after all: taken
    assert len(reader.used) == 1


def test_chunks_that_no_manifest_names_are_bounded() -> None:
    assembler = Assembler(max_bytes=4096)
    outcomes = []
    for index in range(20):
        head = {"type": "chunk", "name": "uav", "version": "1", "index": index}
        outcomes += assembler.add(b"uav@1#x/0", json.dumps(head).encode() + b"\n" + b"x" * 1000)
    assert assembler.held_bytes <= 4096
    assert len(outcomes) == 16 and all(isinstance(o, Broken) for o in outcomes)


def test_records_are_keyed_by_version_and_content() -> None:
    published = records(new_watchlist("2026.12.1", "OOO Novyi Zavod"))
    sha = manifest_of(published)["sha256"]
    base = f"watchlist_default@2026.12.1#{sha[:16]}".encode()
    assert published[-1].key == base
    assert all(r.key is not None and r.key.startswith(base + b"/") for r in published[:-1])


def test_a_version_that_removes_restricted_destinations_is_held_and_nothing_swaps() -> None:
    reader = Reader()
    lines = (DEFAULT_REFERENCE_DIR / "destinations.jsonl").read_text().splitlines()
    header = json.loads(lines[0]) | {"version": "2099.1.1"}
    kept = [line for line in lines[1:] if json.loads(line)["country"] not in ("RU", "BY")]
    content = "\n".join([json.dumps(header), *kept]).encode() + b"\n"
    published = [
        Record(k, v)
        for k, v in encode_file(
            "country_lists", "destinations", "2099.1.1", content, NOW, published_by="mallory"
        )
    ]
    reader.take(published)
    assert reader.used == []
    assert reader.count("held") == 1
    assert reader.reader.held() == {
        "destinations@2099.1.1": "removes BY from restricted_destinations; "
        "removes RU from restricted_destinations"
    }
