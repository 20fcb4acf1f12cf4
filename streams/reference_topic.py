"""Reference files as a stream: the compacted reference topic, its records, and reassembly.

A file is published as its content compressed (zlib), cut into chunks under the broker's
message limit, then a manifest that names the chunks and their checksums:

    key "<name>@<version>#<sha>/<n>"  value: {"type": "chunk", "name", "version", "index"}
                                              \\n <compressed bytes>
    key "<name>@<version>#<sha>"      value: {"type": "manifest", "kind", "name", "version",
                                              "sha256", "size", "chunks": [{"index", "sha256",
                                              "bytes"}], "published_at", "published_by",
                                              "rollback", "reason"}

and a decision on a version held for review (streams/reference_policy.py) is a record of its own:

    key "<name>@<version>#<sha>/approval/<by>"  value: {"type": "approval", "name", "version",
                                                        "sha256", "approved_by", "approved_at",
                                                        "reason"}

The topic is compacted: the newest record of each key stays. Every key names the version and
its content (`<sha>`, the first 16 hex digits of the compressed content's SHA-256), so no record
of one version, nor a stray record under a file's bare name, can take the place of another's:
every version published stays on the topic, which is what a rollback and a restarted worker
read. A version becomes visible only when its manifest and every chunk it names are there with
their checksums; a broken record never replaces anything (the reader reports it, and the
version it belonged to is not taken).

Nothing read from the topic is trusted for its size: a manifest may name at most
`max_bytes` of content, and the content is decompressed in steps that stop at the size the
manifest names, so a small record that would inflate to gigabytes is refused, not allocated.
"""

import contextlib
import hashlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.control import InvalidControlRecord, decode_control

CHUNK_BYTES = 512 * 1024
"""Compressed bytes per chunk: well under the broker's default limit of 1 MB a message."""
MAX_CONTENT_BYTES = 512 * 1024 * 1024
"""The largest file a manifest may name, decompressed (a watchlist of 500,000 names is about
100 MB): a bound on what one version can make a worker allocate."""
MAX_RECORD_BYTES = 4 * 1024 * 1024
"""A manifest or approval record at most (a manifest names one chunk per 512 KiB)."""
MAX_CHUNKS = MAX_CONTENT_BYTES // 1024
_INFLATE_STEP = 4 * 1024 * 1024

Identity = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(max_length=2000)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


FileName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
Version = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s/#@]+$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ChunkHeader(_Record):
    type: Literal["chunk"]
    name: FileName
    version: Version
    index: int = Field(ge=0, lt=MAX_CHUNKS)


class ChunkRef(_Record):
    index: int = Field(ge=0, lt=MAX_CHUNKS)
    sha256: Sha256
    bytes: int = Field(ge=0, le=CHUNK_BYTES * 4)


class Manifest(_Record):
    type: Literal["manifest"]
    kind: str = Field(max_length=64)
    name: FileName
    version: Version
    sha256: Sha256 = Field(description="Of the whole compressed content.")
    size: int = Field(ge=0, le=MAX_CONTENT_BYTES, description="Bytes once decompressed.")
    chunks: list[ChunkRef] = Field(min_length=1, max_length=MAX_CHUNKS)
    published_at: AwareDatetime
    published_by: Identity | None = Field(
        default=None, description="Who published it (absent on records of earlier releases)."
    )
    rollback: bool = Field(
        default=False, description="Declared a rollback: it may be older than the version in use."
    )
    reason: Reason = ""

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class Approval(_Record):
    """A second person's sign-off on a version held for review."""

    type: Literal["approval"]
    name: FileName
    version: Version
    sha256: Sha256
    approved_by: Identity
    approved_at: AwareDatetime
    reason: Reason = ""

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def version_key(name: str, version: str, sha256: str) -> str:
    """The key every record of one version starts with."""
    return f"{name}@{version}#{sha256[:16]}"


def encode_approval(approval: Approval) -> tuple[bytes, bytes]:
    key = f"{version_key(approval.name, approval.version, approval.sha256)}/approval/"
    return (key + approval.approved_by).encode(), approval.model_dump_json().encode()


def encode_file(
    kind: str,
    name: str,
    version: str,
    content: bytes,
    published_at: datetime,
    chunk_bytes: int = CHUNK_BYTES,
    published_by: str | None = None,
    rollback: bool = False,
    reason: str = "",
) -> list[tuple[bytes, bytes]]:
    """The records that publish one file: its chunks first, its manifest last."""
    blob = zlib.compress(content, 6)
    sha256 = hashlib.sha256(blob).hexdigest()
    base = version_key(name, version, sha256)
    pieces = [blob[i : i + chunk_bytes] for i in range(0, len(blob), chunk_bytes)]
    records = []
    refs = []
    for index, piece in enumerate(pieces):
        header = ChunkHeader(type="chunk", name=name, version=version, index=index)
        records.append(
            (f"{base}/{index}".encode(), header.model_dump_json().encode() + b"\n" + piece)
        )
        refs.append(
            ChunkRef(index=index, sha256=hashlib.sha256(piece).hexdigest(), bytes=len(piece))
        )
    manifest = Manifest(
        type="manifest",
        kind=kind,
        name=name,
        version=version,
        sha256=sha256,
        size=len(content),
        chunks=refs,
        published_at=published_at,
        published_by=published_by,
        rollback=rollback,
        reason=reason,
    )
    records.append((base.encode(), manifest.model_dump_json().encode()))
    return records


def inflate(blob: bytes, size: int) -> bytes:
    """The content of a compressed blob that must be exactly `size` bytes, decompressed in
    steps that never go past that size (ValueError saying why it is not)."""
    inflater = zlib.decompressobj()
    parts = []
    held = 0
    pending = blob
    while True:
        part = inflater.decompress(pending, min(_INFLATE_STEP, size - held + 1))
        held += len(part)
        if held > size:
            raise ValueError(f"decompresses past the {size:,} bytes its manifest names")
        parts.append(part)
        pending = inflater.unconsumed_tail
        if not pending:
            break
    tail = inflater.flush()
    held += len(tail)
    if held > size:
        raise ValueError(f"decompresses past the {size:,} bytes its manifest names")
    if not inflater.eof:
        raise ValueError("the compressed content is cut short")
    if held != size:
        raise ValueError(f"{held:,} bytes, the manifest says {size:,}")
    return b"".join([*parts, tail])


@dataclass(frozen=True)
class Complete:
    """A version whose manifest and chunks all arrived, checksums right: its content."""

    manifest: Manifest
    content: bytes


@dataclass(frozen=True)
class Broken:
    """A record, or a version, that cannot be taken: why, in one line."""

    what: str
    reason: str
    code: str = "invalid"
    """For the metric: invalid, checksum, too_large, incomplete, ..."""


Outcome = Complete | Broken | Approval


@dataclass
class _Waiting:
    manifest: Manifest
    since: float
    reported: bool = False


@dataclass
class Assembler:
    """Collects records in any order and gives each version once it is whole.

    >>> assembler = Assembler(max_bytes=256 * 1024 * 1024)
    >>> outcomes = assembler.add(record.key, record.value)   # Complete, Broken or Approval
    >>> late = assembler.overdue(timeout_s=300)              # manifests still missing chunks
    """

    max_bytes: int = MAX_CONTENT_BYTES
    clock: Callable[[], float] = time.monotonic
    chunks: dict[tuple[str, str, int], bytes] = field(default_factory=dict)
    waiting: dict[tuple[str, str, str], _Waiting] = field(default_factory=dict)
    held_bytes: int = 0

    def add(self, key: bytes | None, value: bytes | None) -> list[Outcome]:
        if value is None:
            return []  # a tombstone: compaction's business
        what = (key or b"").decode("utf-8", "replace")[:200] or "a record with no key"
        if value.startswith(b"{") and b"\n" not in value:
            return self._control(what, value)
        head, _, piece = value.partition(b"\n")
        try:
            header = decode_control(head, ChunkHeader, 4096)
        except InvalidControlRecord as exc:
            return [Broken(what, f"neither a manifest nor a chunk: {exc}", exc.reason)]
        if len(piece) > 4 * CHUNK_BYTES:
            return [Broken(what, f"a chunk of {len(piece):,} bytes", "too_large")]
        slot = (header.name, header.version, header.index)
        self.held_bytes += len(piece) - len(self.chunks.get(slot, b""))
        self.chunks[slot] = piece
        outcomes = self._evict()
        for waiting_key in [k for k in self.waiting if k[:2] == (header.name, header.version)]:
            outcomes += self._check(waiting_key)
        return outcomes

    def _control(self, what: str, value: bytes) -> list[Outcome]:
        record: Manifest | Approval
        model: type[Manifest] | type[Approval] = Manifest
        with contextlib.suppress(orjson.JSONDecodeError):
            peek = orjson.loads(value) if len(value) <= MAX_RECORD_BYTES else None
            if isinstance(peek, dict) and peek.get("type") == "approval":
                model = Approval
        try:
            record = decode_control(value, model, MAX_RECORD_BYTES)
        except InvalidControlRecord as exc:
            return [Broken(what, f"invalid {model.__name__.lower()}: {exc}", exc.reason)]
        if isinstance(record, Approval):
            return [record]
        manifest = record
        if manifest.size > self.max_bytes:
            return [
                Broken(
                    manifest.label,
                    f"names {manifest.size:,} bytes of content; the limit is {self.max_bytes:,}",
                    "too_large",
                )
            ]
        waiting_key = (manifest.name, manifest.version, manifest.sha256)
        self.waiting[waiting_key] = _Waiting(manifest, self.clock())
        return self._check(waiting_key)

    def _check(self, waiting_key: tuple[str, str, str]) -> list[Outcome]:
        manifest = self.waiting[waiting_key].manifest
        name, version = manifest.name, manifest.version
        pieces = []
        for ref in manifest.chunks:
            piece = self.chunks.get((name, version, ref.index))
            if piece is None:
                return []  # not all here yet
            pieces.append((ref, piece))
        del self.waiting[waiting_key]
        for ref, piece in pieces:
            if hashlib.sha256(piece).hexdigest() != ref.sha256:
                return [
                    Broken(
                        manifest.label,
                        f"chunk {ref.index} does not match its checksum",
                        "checksum",
                    )
                ]
        blob = b"".join(piece for _, piece in pieces)
        if hashlib.sha256(blob).hexdigest() != manifest.sha256:
            return [Broken(manifest.label, "the content does not match its checksum", "checksum")]
        try:
            content = inflate(blob, manifest.size)
        except (zlib.error, ValueError) as exc:
            return [Broken(manifest.label, f"cannot decompress: {exc}", "decompress")]
        if not any(k[:2] == (name, version) for k in self.waiting):
            for ref, _ in pieces:  # the content is all that is kept
                self.held_bytes -= len(self.chunks.pop((name, version, ref.index), b""))
        return [Complete(manifest, content)]

    def _evict(self) -> list[Outcome]:
        """Chunks held beyond the limit, oldest first: a flood of chunks no manifest names
        cannot grow the worker without bound."""
        outcomes: list[Outcome] = []
        while self.held_bytes > self.max_bytes and self.chunks:
            slot = next(iter(self.chunks))
            self.held_bytes -= len(self.chunks.pop(slot))
            name, version, index = slot
            outcomes.append(
                Broken(
                    f"{name}@{version}",
                    f"chunk {index} dropped: chunks waiting for a manifest passed "
                    f"{self.max_bytes:,} bytes",
                    "too_large",
                )
            )
        return outcomes

    def overdue(self, timeout_s: float) -> list[Broken]:
        """Manifests that have waited longer than `timeout_s` for their chunks, each reported
        once (they go on waiting: a chunk may still come)."""
        now = self.clock()
        late = []
        for entry in self.waiting.values():
            if not entry.reported and now - entry.since > timeout_s:
                entry.reported = True
                manifest = entry.manifest
                missing = [
                    ref.index
                    for ref in manifest.chunks
                    if (manifest.name, manifest.version, ref.index) not in self.chunks
                ]
                late.append(
                    Broken(
                        manifest.label,
                        f"chunks {missing[:10]} of {len(manifest.chunks)} have not arrived in "
                        f"{timeout_s:.0f} s",
                        "incomplete",
                    )
                )
        return late
