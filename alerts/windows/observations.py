"""Observations: what one declaration contributes to each aggregation key.

The screening agent turns each valid declaration into a few observations and publishes them keyed
by `table_key`, so that every observation of one key reaches the same partition and the same
table (the repartitioning that faust tables need).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from alerts.display import printable
from alerts.parties import normalize_party_name
from alerts.windows.fx import FxRates
from schemas.declaration import Declaration


class Dimension(StrEnum):
    IMPORTER_HEADING = "importer_heading"
    ROUTE_CHAPTER = "route_chapter"
    EXPORTER_IMPORTER_HEADING = "exporter_importer_heading"
    SUBHEADING_UNIT = "subheading_unit"

    @property
    def is_volume(self) -> bool:
        return self in (Dimension.IMPORTER_HEADING, Dimension.ROUTE_CHAPTER)


@dataclass(frozen=True, slots=True)
class Observation:
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

    @property
    def table_key(self) -> str:
        return f"{self.dimension.value}|{self.key}"

    @property
    def unit_value_usd(self) -> float | None:
        if self.value_usd is None or self.value_usd <= 0 or self.quantity <= 0:
            return None
        return self.value_usd / self.quantity

    def encode(self) -> bytes:
        return orjson.dumps(self.fields())

    def fields(self) -> list[Any]:
        return [
            self.dimension.value,
            self.key,
            self.label,
            self.declaration_id,
            self.event_time_ms,
            self.source_partition,
            self.source_offset,
            self.quantity,
            self.value_usd,
            self.watched,
            self.unit,
            self.hs_code,
        ]

    @classmethod
    def decode(cls, raw: bytes) -> "Observation":
        return cls.from_fields(orjson.loads(raw))

    @classmethod
    def from_fields(cls, fields: list[Any]) -> "Observation":
        return cls(Dimension(fields[0]), *fields[1:])


@dataclass(frozen=True, slots=True)
class Frame:
    """The observations one batch of declarations sends to one partition of the observations
    topic, in input order: one message where there would be one per observation.

    Every observation of a key goes to the partition its table key hashes to (Kafka's default
    partitioner), so each key's observations still meet in one partition, in order, as if each
    were sent keyed by its table key. `stream_start_ms` is the earliest event time of the whole
    batch, so the window stage learns where the stream starts before it evaluates any key of it.
    """

    stream_start_ms: int
    observations: list[Observation]

    def encode(self) -> bytes:
        return orjson.dumps([self.stream_start_ms, *(o.fields() for o in self.observations)])

    @classmethod
    def decode(cls, raw: bytes) -> "Frame":
        fields: list[Any] = orjson.loads(raw)
        if isinstance(fields[0], str):  # a single observation (what workers before frames sent)
            observation = Observation.from_fields(fields)
            return cls(observation.event_time_ms, [observation])
        return cls(fields[0], [Observation.from_fields(f) for f in fields[1:]])

    def by_key(self) -> dict[str, list[Observation]]:
        grouped: dict[str, list[Observation]] = {}
        for observation in self.observations:
            grouped.setdefault(observation.table_key, []).append(observation)
        return grouped


def _party_key(name: str, country: str | None) -> str:
    return f"{(country or '--').lower()}:{normalize_party_name(name) or name.casefold()}"


def observations_for(
    declaration: Declaration,
    *,
    watched: bool,
    fx: FxRates,
    source_partition: int,
    source_offset: int,
) -> list[Observation]:
    """The observations of one declaration: volume by importer and by route, unit value by
    subheading, and, for watched goods, the exporter-importer pair for split shipments."""
    value_usd = fx.to_usd(declaration.invoice_value, declaration.currency)
    importer = _party_key(declaration.importer.name, declaration.importer.country)
    exporter = _party_key(declaration.exporter.name, declaration.exporter.country)
    importer_label = printable(declaration.importer.name, 60)
    route = (
        f"{declaration.origin_country}>{declaration.dispatch_country}>"
        f"{declaration.destination_country}"
    )
    common: dict[str, Any] = {
        "declaration_id": declaration.declaration_id,
        "event_time_ms": round(declaration.declared_at.timestamp() * 1000),
        "source_partition": source_partition,
        "source_offset": source_offset,
        "quantity": declaration.quantity,
        "value_usd": value_usd,
        "watched": watched,
        "unit": declaration.quantity_unit,
        "hs_code": declaration.hs_code,
    }
    found = [
        Observation(
            Dimension.IMPORTER_HEADING,
            f"{importer}|{declaration.hs_heading}",
            f"importer {importer_label} × heading {declaration.hs_heading}",
            **common,
        ),
        Observation(
            Dimension.ROUTE_CHAPTER,
            f"{route}|{declaration.hs_chapter}",
            f"route {route.replace('>', '→')} × chapter {declaration.hs_chapter}",
            **common,
        ),
        Observation(
            Dimension.SUBHEADING_UNIT,
            f"{declaration.hs_subheading}|{declaration.quantity_unit}",
            f"subheading {declaration.hs_subheading} per {declaration.quantity_unit}",
            **common,
        ),
    ]
    if watched:
        found.append(
            Observation(
                Dimension.EXPORTER_IMPORTER_HEADING,
                f"{exporter}|{importer}|{declaration.hs_heading}",
                f"exporter {printable(declaration.exporter.name, 60)} → importer "
                f"{importer_label} × heading {declaration.hs_heading}",
                **common,
            )
        )
    return found
