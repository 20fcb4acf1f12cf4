"""Observations: what one declaration contributes to each aggregation key.

The screening stage turns each valid declaration into a few observations and sends them, in
frames, to the partition of the observations topic that each key hashes to, so that every
observation of one key reaches the same partition and the same window state (the repartitioning
that keyed state needs). Frames are MessagePack arrays, with a format byte in front.
"""

from enum import IntEnum
from functools import lru_cache

import msgspec

from alerts.display import printable
from alerts.errors import FrameDecodeError
from alerts.hs import hs_display
from alerts.parties import normalize_party_name
from alerts.state.keys import window_key
from alerts.windows.fx import FxRates
from schemas.wire import DeclarationRecord


class Dimension(IntEnum):
    """An aggregation key's kind. The value is its number on the wire and in table keys."""

    IMPORTER_HEADING = 1
    ROUTE_CHAPTER = 2
    EXPORTER_IMPORTER_HEADING = 3
    SUBHEADING_UNIT = 4
    PARTY = 5
    """Not a window: the party index that looks back when a party is newly listed
    (alerts/retro.py). Its observations carry the party as written, its role and tax id."""

    @property
    def label(self) -> str:
        """The name alerts and metrics use: 'importer_heading', ..."""
        return self.name.lower()


_KEY_PREFIX = {dimension: window_key(dimension.label, "") for dimension in Dimension}


class Observation(msgspec.Struct, array_like=True, frozen=True, gc=False, omit_defaults=True):
    """One declaration's contribution to one aggregation key."""

    dimension: Dimension
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
_LEGACY_DIMENSIONS = {d.label: d for d in Dimension}


def _legacy(raw: bytes) -> Frame:
    """A frame as earlier versions wrote it: JSON, dimensions by name."""
    import orjson

    fields = orjson.loads(raw)
    rows = [fields] if isinstance(fields[0], str) else fields[1:]
    observations = [Observation(_LEGACY_DIMENSIONS[row[0]], *row[1:]) for row in rows]
    start = observations[0].event_time_ms if isinstance(fields[0], str) else fields[0]
    return Frame(start, observations)


@lru_cache(maxsize=65_536)
def _party_key(name: str, country: str | None) -> str:
    return f"{(country or '--').lower()}:{normalize_party_name(name) or name.casefold()}"


_shown = lru_cache(maxsize=65_536)(printable)


@lru_cache(maxsize=65_536)
def _subheading_label(subheading: str, unit: str) -> str:
    return f"HS {hs_display(subheading)} per {unit}"


def observations_for(
    declaration: DeclarationRecord,
    *,
    watched: bool,
    fx: FxRates,
    source_partition: int,
    source_offset: int,
) -> list[Observation]:
    """The observations of one declaration: volume by importer and by route, unit value by
    subheading, and, for watched goods, the exporter-importer pair for split shipments."""
    value_usd = fx.to_usd(declaration.invoice_value, declaration.currency)
    importer = declaration.importer
    importer_key = _party_key(importer.name, importer.country)
    importer_label = _shown(importer.name, 60)
    origin, dispatch = declaration.origin_country, declaration.dispatch_country
    destination = declaration.destination_country
    hs_code = declaration.hs_code
    heading, chapter, subheading = hs_code[:4], hs_code[:2], hs_code[:6]
    unit = declaration.quantity_unit
    identity = declaration.declaration_id
    event_ms = round(declaration.declared_at.timestamp() * 1000)
    quantity = declaration.quantity
    found = [
        Observation(
            Dimension.IMPORTER_HEADING,
            f"{importer_key}|{heading}",
            f"importer {importer_label} × heading {heading}",
            identity, event_ms, source_partition, source_offset, quantity, value_usd, watched,
            unit, hs_code,
        ),
        Observation(
            Dimension.ROUTE_CHAPTER,
            f"{origin}>{dispatch}>{destination}|{chapter}",
            f"route {origin}→{dispatch}→{destination} × chapter {chapter}",
            identity, event_ms, source_partition, source_offset, quantity, value_usd, watched,
            unit, hs_code,
        ),
        Observation(
            Dimension.SUBHEADING_UNIT,
            f"{subheading}|{unit}",
            _subheading_label(subheading, unit),
            identity, event_ms, source_partition, source_offset, quantity, value_usd, watched,
            unit, hs_code,
        ),
    ]  # fmt: skip
    if watched:
        exporter = declaration.exporter
        found.append(
            Observation(
                Dimension.EXPORTER_IMPORTER_HEADING,
                f"{_party_key(exporter.name, exporter.country)}|{importer_key}|{heading}",
                f"exporter {_shown(exporter.name, 60)} → importer {importer_label} × heading "
                f"{heading}",
                identity,
                event_ms,
                source_partition,
                source_offset,
                quantity,
                value_usd,
                watched,
                unit,
                hs_code,
            )
        )
    return found


def party_observations(
    declaration: DeclarationRecord, source_partition: int, source_offset: int
) -> list[Observation]:
    """The declaration's parties, for the index that looks back when one is newly listed."""
    event_ms = round(declaration.declared_at.timestamp() * 1000)
    roles = [("exporter", declaration.exporter), ("importer", declaration.importer)]
    if declaration.declarant is not None:
        roles.append(("declarant", declaration.declarant))
    return [
        Observation(
            Dimension.PARTY,
            _party_key(party.name, party.country),
            party.name[:300],
            declaration.declaration_id,
            event_ms,
            source_partition,
            source_offset,
            0.0,
            None,
            False,
            "",
            "",
            role,
            party.tax_id or "",
            party.country or "",
        )
        for role, party in roles
    ]
