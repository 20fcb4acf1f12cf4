"""Reference files as a stream: the compacted reference topic, its records, and reassembly.

A file is published as its content compressed (zlib), cut into chunks under the broker's
message limit, then a manifest that names the chunks and their checksums:

    key "<name>/<n>"   value: {"type": "chunk", "name", "version", "index"} \\n <compressed bytes>
    key "<name>"       value: {"type": "manifest", "kind", "name", "version", "sha256", "size",
                               "chunks": [{"index", "sha256", "bytes"}], "published_at"}

The topic is compacted, so the newest manifest of each file, and the newest chunk of each
number, are what stay. A version becomes visible only when its manifest and every chunk it
names are there with their checksums; a broken record never replaces anything (the reader
reports it, and the version it belonged to is not taken).
"""

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import first_problem

CHUNK_BYTES = 512 * 1024
"""Compressed bytes per chunk: well under the broker's default limit of 1 MB a message."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChunkHeader(_Record):
    type: Literal["chunk"]
    name: str
    version: str
    index: int = Field(ge=0)


class ChunkRef(_Record):
    index: int = Field(ge=0)
    sha256: str
    bytes: int = Field(ge=0)


class Manifest(_Record):
    type: Literal["manifest"]
    kind: str
    name: str
    version: str
    sha256: str = Field(description="Of the whole compressed content.")
    size: int = Field(ge=0, description="Bytes of the content once decompressed.")
    chunks: list[ChunkRef] = Field(min_length=1)
    published_at: datetime

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def encode_file(
    kind: str,
    name: str,
    version: str,
    content: bytes,
    published_at: datetime,
    chunk_bytes: int = CHUNK_BYTES,
) -> list[tuple[bytes, bytes]]:
    """The records that publish one file: its chunks first, its manifest last."""
    blob = zlib.compress(content, 6)
    pieces = [blob[i : i + chunk_bytes] for i in range(0, len(blob), chunk_bytes)]
    records = []
    refs = []
    for index, piece in enumerate(pieces):
        header = ChunkHeader(type="chunk", name=name, version=version, index=index)
        records.append(
            (f"{name}/{index}".encode(), header.model_dump_json().encode() + b"\n" + piece)
        )
        refs.append(
            ChunkRef(index=index, sha256=hashlib.sha256(piece).hexdigest(), bytes=len(piece))
        )
    manifest = Manifest(
        type="manifest",
        kind=kind,
        name=name,
        version=version,
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(content),
        chunks=refs,
        published_at=published_at,
    )
    records.append((name.encode(), manifest.model_dump_json().encode()))
    return records


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


@dataclass
class Assembler:
    """Collects records in any order and gives each version once it is whole."""

    chunks: dict[tuple[str, int], tuple[str, bytes]] = field(default_factory=dict)
    waiting: dict[str, Manifest] = field(default_factory=dict)

    def add(self, key: bytes | None, value: bytes | None) -> list[Complete | Broken]:
        if value is None:
            return []  # a tombstone: compaction's business
        what = (key or b"").decode("utf-8", "replace") or "a record with no key"
        if value.startswith(b"{") and b"\n" not in value:
            try:
                manifest = Manifest.model_validate_json(value)
            except ValidationError as exc:
                return [Broken(what, f"invalid manifest: {first_problem(exc)}")]
            self.waiting[manifest.name] = manifest
            return self._check(manifest.name)
        head, _, piece = value.partition(b"\n")
        try:
            header = ChunkHeader.model_validate_json(head)
        except ValidationError as exc:
            return [Broken(what, f"neither a manifest nor a chunk: {first_problem(exc)}")]
        self.chunks[(header.name, header.index)] = (header.version, piece)
        return self._check(header.name) if header.name in self.waiting else []

    def _check(self, name: str) -> list[Complete | Broken]:
        manifest = self.waiting[name]
        pieces = []
        for ref in manifest.chunks:
            found = self.chunks.get((name, ref.index))
            if found is None or found[0] != manifest.version:
                return []  # not all here yet
            pieces.append((ref, found[1]))
        del self.waiting[name]
        for ref, piece in pieces:
            if hashlib.sha256(piece).hexdigest() != ref.sha256:
                return [Broken(manifest.label, f"chunk {ref.index} does not match its checksum")]
        blob = b"".join(piece for _, piece in pieces)
        if hashlib.sha256(blob).hexdigest() != manifest.sha256:
            return [Broken(manifest.label, "the content does not match its checksum")]
        try:
            content = zlib.decompress(blob)
        except zlib.error as exc:
            return [Broken(manifest.label, f"cannot decompress: {exc}")]
        if len(content) != manifest.size:
            return [
                Broken(manifest.label, f"{len(content)} bytes, the manifest says {manifest.size}")
            ]
        for ref, _ in pieces:
            self.chunks.pop((name, ref.index), None)  # the content is all that is kept
        return [Complete(manifest, content)]
