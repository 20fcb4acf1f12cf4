"""Observations: what one declaration contributes to each aggregation key.

The screening stage turns each valid declaration into a few observations and sends them, in
frames, to the partition of the observations topic that each key hashes to, so that every
observation of one key reaches the same partition and the same window state (the repartitioning
that keyed state needs). Frames are MessagePack arrays, with a format byte in front.

Each kind of key is a `Dimension`, declared by the window rule that watches it, with its own
`extract`: screening hands each declaration, as a `Declared`, to the extract of every dimension
the registry lists (alerts/windows/registry.py). An observation carries its dimension's number.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import msgspec

from alerts.display import printable
from alerts.errors import FrameDecodeError
from alerts.parties import normalize_party_name
from alerts.state.keys import window_key
from alerts.windows.fx import FxRates
from schemas.wire import DeclarationRecord

_BY_NUMBER: dict[int, "Dimension"] = {}
_BY_LABEL: dict[str, "Dimension"] = {}
_KEY_PREFIX: dict[int, str] = {}


@dataclass(frozen=True, slots=True)
class Dimension:
    """A kind of aggregation key, declared by the window rule that watches it (the party index
    declares its own): its number on the wire and in frames, its label (table keys, alerts,
    metrics), and `extract`, which gives the key a declaration adds to and its label for people,
    or None when the declaration adds to none (the owner builds its observations itself when
    `extract` is None).

    Declaring one registers it: two dimensions may share neither a number nor a label.
    """

    number: int
    label: str
    extract: "Callable[[Declared], tuple[str, str] | None] | None" = field(
        default=None, compare=False
    )

    def __post_init__(self) -> None:
        for known in (_BY_NUMBER.get(self.number), _BY_LABEL.get(self.label)):
            if known is not None and (known.number, known.label) != (self.number, self.label):
                raise ValueError(f"dimension {self.number} {self.label!r} clashes with {known}")
        _BY_NUMBER[self.number] = _BY_LABEL[self.label] = self
        _KEY_PREFIX[self.number] = window_key(self.label, "")

    def __repr__(self) -> str:
        return f"Dimension({self.number}, {self.label!r})"


class Observation(msgspec.Struct, array_like=True, frozen=True, gc=False, omit_defaults=True):
    """One declaration's contribution to one aggregation key."""

    dimension: int
    """The number of its Dimension (`kind` is the Dimension itself)."""
    key: str
    label: str
    declaration_id: str
    event_time_ms: int
    source_partition: int
    source_offset: int
    quantity: float
    value_usd: float | None
    watched: bool
    """Controlled goods on a risky route: to a restricted or diversion-risk destination, or
    rerouted through a diversion-risk country. Only these count for the new-key and split rules."""
    unit: str
    hs_code: str
    role: str = ""
    """PARTY only: exporter, importer or declarant."""
    tax_id: str = ""
    """PARTY only: the party's tax id as declared, if any."""
    country: str = ""
    """PARTY only: the party's country as declared, if any."""

    @property
    def table_key(self) -> str:
        return _KEY_PREFIX[self.dimension] + self.key

    @property
    def kind(self) -> Dimension:
        return _BY_NUMBER[self.dimension]

    @property
    def unit_value_usd(self) -> float | None:
        if self.value_usd is None or self.value_usd <= 0 or self.quantity <= 0:
            return None
        return self.value_usd / self.quantity


FRAME_FORMAT = 2
"""Format byte of a MessagePack frame. (Format 1 was a JSON array, written by earlier versions;
it has no format byte and starts with '['.)"""


class Frame(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The observations one batch of declarations sends to one partition of the observations
    topic, in input order: one message where there would be one per observation.

    `stream_start_ms` is the event time of its first observation: where the stream starts, for
    a window stage that has seen nothing of this partition yet.
    """

    stream_start_ms: int
    observations: list[Observation]

    def encode(self) -> bytes:
        return _FRAME_HEADER + _encoder.encode(self)

    @classmethod
    def decode(cls, raw: bytes) -> "Frame":
        """Raises FrameDecodeError for bytes that are not a frame."""
        try:
            if raw[:1] == _FRAME_HEADER:
                return _decoder.decode(memoryview(raw)[1:])
            if raw[:1] == b"[":
                return _legacy(raw)
        except (msgspec.DecodeError, ValueError, TypeError, IndexError) as exc:
            raise FrameDecodeError(f"undecodable observation frame: {exc}") from exc
        raise FrameDecodeError(f"unknown observation frame format {raw[:1]!r}")

    def by_key(self) -> dict[str, list[Observation]]:
        grouped: dict[str, list[Observation]] = {}
        for observation in self.observations:
            grouped.setdefault(observation.table_key, []).append(observation)
        return grouped


_FRAME_HEADER = bytes([FRAME_FORMAT])
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def _legacy(raw: bytes) -> Frame:
    """A frame as earlier versions wrote it: JSON, dimensions by name."""
    import orjson

    fields = orjson.loads(raw)
    rows = [fields] if isinstance(fields[0], str) else fields[1:]
    observations = [Observation(_BY_LABEL[row[0]].number, *row[1:]) for row in rows]
    start = observations[0].event_time_ms if isinstance(fields[0], str) else fields[0]
    return Frame(start, observations)


@lru_cache(maxsize=65_536)
def party_key(name: str, country: str | None) -> str:
    """A party's aggregation key: its country and its normalised name."""
    return f"{(country or '--').lower()}:{normalize_party_name(name) or name.casefold()}"


shown = lru_cache(maxsize=65_536)(printable)
"""A name as a label shows it: printable, at most so many characters."""


class Declared:
    """One screened declaration as the dimensions' `extract` read it, with what several of them
    need worked out once: the importer's key and label, and the fields every observation of it
    shares (its id, event time, where it was read, quantity, value in USD, unit and code), in
    the order of `Observation`'s fields after its dimension, key and label.

    `watched`: controlled goods on a risky route, to a restricted or diversion-risk destination
    or rerouted through a diversion-risk country (only these count for the new-key and split
    rules). The party index reads it too (alerts/retro.py: `party_observations`)."""

    __slots__ = (
        "declaration",
        "event_ms",
        "importer_key",
        "importer_label",
        "shared",
        "source_offset",
        "source_partition",
        "watched",
    )

    def __init__(
        self,
        declaration: DeclarationRecord,
        *,
        watched: bool,
        fx: FxRates,
        source_partition: int,
        source_offset: int,
    ) -> None:
        importer = declaration.importer
        self.declaration = declaration
        self.watched = watched
        self.event_ms = event_ms = round(declaration.declared_at.timestamp() * 1000)
        self.source_partition = source_partition
        self.source_offset = source_offset
        self.importer_key = party_key(importer.name, importer.country)
        self.importer_label = shown(importer.name, 60)
        self.shared = (
            declaration.declaration_id,
            event_ms,
            source_partition,
            source_offset,
            declaration.quantity,
            fx.to_usd(declaration.invoice_value, declaration.currency),
            watched,
            declaration.quantity_unit,
            declaration.hs_code,
        )


def observations_for(declared: Declared, dimensions: tuple[Dimension, ...]) -> list[Observation]:
    """The declaration's observations of these dimensions, in their order."""
    shared = declared.shared
    found = []
    for dimension in dimensions:
        extract = dimension.extract
        if extract is not None and (key_and_label := extract(declared)) is not None:
            key, label = key_and_label
            found.append(Observation(dimension.number, key, label, *shared))
    return found
