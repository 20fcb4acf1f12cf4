"""Versioned reference data: lexicons, HS code groups and country lists, loaded once at start-up.

Every file is JSON Lines. Line 1 is a header naming the file's kind, version and source; each
further line is one record. A file is validated whole when loaded, and the first problem stops
start-up with the file, the line and the reason, so the monitor never runs on half a list.
"""

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Generic, Literal, TypeVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from alerts.errors import ReferenceDataError
from alerts.hs import HsCodeSet
from alerts.text import Lexicon, LexiconEntry
from schemas.codes import CountryCode, CurrencyCode

DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Header(_Strict):
    kind: Literal[
        "lexicon",
        "hs_groups",
        "country_lists",
        "control_list",
        "watchlist",
        "fx_rates",
        "unit_value_bands",
        "case_scoring",
    ]
    name: Name
    version: NonEmpty
    source: NonEmpty


class LexiconRecord(_Strict):
    group: Name
    language: Literal["en", "ru", "zh", "tr", "ar", "fa", "kk"]
    term: NonEmpty


_ORDERED = frozenset({"end_use"})  # lexicons whose phrases mean something only in their order


class HsGroupRecord(_Strict):
    group: Name
    prefix: Annotated[str, StringConstraints(pattern=r"^(\d\d){1,5}$")]
    description: NonEmpty


class CountryListRecord(_Strict):
    list: Name
    country: CountryCode
    note: NonEmpty


class ControlListRecord(_Strict):
    list: Name
    tier: NonEmpty
    prefix: Annotated[str, StringConstraints(pattern=r"^(\d\d){1,5}$")]
    description: NonEmpty
    severity: Literal["critical", "high", "medium", "low"]


class WatchlistRecord(_Strict):
    id: NonEmpty
    name: NonEmpty
    aliases: tuple[NonEmpty, ...] = ()
    country: CountryCode | None = None
    tax_ids: tuple[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{5,20}$")], ...] = ()
    program: NonEmpty
    note: str = ""


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """One listed party: its names, identifiers and the programme that lists it.

    A watchlist file holds its records as these, not as the validated models: a list of
    500,000 names would otherwise take several times the memory.
    """

    list_name: str
    entry_id: str
    name: str
    aliases: tuple[str, ...]
    country: str | None
    tax_ids: tuple[str, ...]
    program: str
    note: str = ""

    @classmethod
    def of(cls, list_name: str, record: WatchlistRecord) -> "WatchlistEntry":
        return cls(
            list_name,
            record.id,
            record.name,
            record.aliases,
            sys.intern(record.country) if record.country else None,
            record.tax_ids,
            sys.intern(record.program),
            record.note,
        )


LoadedRecord = _Strict | WatchlistEntry
"""A file's records as loaded: validated models, or watchlist entries."""


class FxRateRecord(_Strict):
    currency: CurrencyCode
    usd_per_unit: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class UnitValueBandRecord(_Strict):
    hs_subheading: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    unit: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,8}$")]
    p05_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    p50_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    p95_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    note: NonEmpty

    @model_validator(mode="after")
    def _ordered(self) -> "UnitValueBandRecord":
        if not self.p05_usd <= self.p50_usd <= self.p95_usd:
            raise ValueError("need p05_usd <= p50_usd <= p95_usd")
        return self


Record = TypeVar("Record", bound="_Strict | WatchlistEntry")


class CaseScoringRecord(_Strict):
    category: Literal[
        "category_mismatch",
        "controlled_goods",
        "restricted_party",
        "transshipment",
        "volume_anomaly",
        "value_anomaly",
        "split_shipments",
    ]
    severity: Literal["critical", "high", "medium", "low"]
    weight: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


_RECORD_MODELS: dict[str, type[_Strict]] = {
    "lexicon": LexiconRecord,
    "hs_groups": HsGroupRecord,
    "country_lists": CountryListRecord,
    "control_list": ControlListRecord,
    "watchlist": WatchlistRecord,
    "fx_rates": FxRateRecord,
    "unit_value_bands": UnitValueBandRecord,
    "case_scoring": CaseScoringRecord,
}


def _reason(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'record'}: {e['msg']}"
        for e in error.errors()
    )


@dataclass(frozen=True)
class ReferenceFile(Generic[Record]):
    """One loaded file: its header and its validated records."""

    path: Path
    header: Header
    records: tuple[Record, ...]

    @property
    def label(self) -> str:
        """The name@version that alerts cite."""
        return f"{self.header.name}@{self.header.version}"


def _lines(content: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(content.splitlines(), start=1):
        if line.strip():
            yield number, line


def load_file(path: Path) -> ReferenceFile[LoadedRecord]:
    """Load and validate one reference file, or raise ReferenceDataError naming file and line."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(path, None, f"cannot read: {exc.strerror}") from exc
    return parse_file(path, content)


def parse_file(path: Path, content: bytes) -> ReferenceFile[LoadedRecord]:
    """Validate a reference file's content (as read from `path`, or from the reference topic),
    or raise ReferenceDataError naming the file and the line."""
    header: Header | None = None
    records: list[LoadedRecord] = []
    seen: dict[LoadedRecord, int] = {}
    model: type[_Strict] = _Strict
    record: LoadedRecord
    for number, line in _lines(content):
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ReferenceDataError(path, number, f"not valid JSON: {exc}") from exc
        try:
            if header is None:
                header = Header.model_validate(document)
                model = _RECORD_MODELS[header.kind]
                continue
            record = model.model_validate(document)
            if isinstance(record, WatchlistRecord):
                record = WatchlistEntry.of(header.name, record)
        except ValidationError as exc:
            what = "header" if header is None else f"{header.kind} record"
            raise ReferenceDataError(path, number, f"invalid {what}: {_reason(exc)}") from exc
        if record in seen:
            raise ReferenceDataError(path, number, f"duplicate of line {seen[record]}")
        seen[record] = number
        records.append(record)
    if header is None:
        raise ReferenceDataError(path, None, "empty file: line 1 must be the header")
    if not records:
        raise ReferenceDataError(path, None, "no records after the header")
    return ReferenceFile(path, header, tuple(records))


@dataclass(frozen=True)
class ReferenceData:
    """All reference files of a folder, by name, with typed accessors for the rules."""

    files: dict[str, ReferenceFile[LoadedRecord]]

    @classmethod
    def load(cls, directory: Path = DEFAULT_REFERENCE_DIR) -> "ReferenceData":
        paths = sorted(directory.glob("*.jsonl"))
        if not paths:
            raise ReferenceDataError(directory, None, "no *.jsonl reference files")
        files: dict[str, ReferenceFile[LoadedRecord]] = {}
        for path in paths:
            loaded = load_file(path)
            if loaded.header.name in files:
                other = files[loaded.header.name].path
                raise ReferenceDataError(path, 1, f"name {loaded.header.name!r} also in {other}")
            files[loaded.header.name] = loaded
        return cls(files)

    def replaced(self, *loaded: ReferenceFile[LoadedRecord]) -> "ReferenceData":
        """The same data with these files in place of those of the same name (or added)."""
        files = dict(self.files)
        for file in loaded:
            known = files.get(file.header.name)
            if known is not None and known.header.kind != file.header.kind:
                raise ReferenceDataError(
                    file.path,
                    1,
                    f"{file.header.name} is a {known.header.kind} file; this one is a "
                    f"{file.header.kind}",
                )
            files[file.header.name] = file
        return ReferenceData(files)

    def file(self, name: str, kind: str) -> ReferenceFile[LoadedRecord]:
        try:
            found = self.files[name]
        except KeyError:
            raise ReferenceDataError(Path(name), None, "required reference file missing") from None
        if found.header.kind != kind:
            raise ReferenceDataError(found.path, 1, f"expected kind {kind!r}")
        return found

    def lexicon(self, name: str, groups: set[str] | None = None) -> Lexicon:
        """A Lexicon of the file's terms, optionally only those of some groups."""
        records = self.file(name, "lexicon").records
        return Lexicon(
            LexiconEntry(r.group, r.term, r.language, name)
            for r in records
            if isinstance(r, LexiconRecord) and (groups is None or r.group in groups)
        )

    def combined_lexicon(self) -> Lexicon:
        """One automaton over every lexicon file: one pass per declaration serves all rules.

        Goods names match in any word order; end-use phrases ("non military") do not."""
        return Lexicon(
            LexiconEntry(r.group, r.term, r.language, name, any_order=name not in _ORDERED)
            for name, loaded in sorted(self.files.items())
            if loaded.header.kind == "lexicon"
            for r in loaded.records
            if isinstance(r, LexiconRecord)
        )

    def control_list(self, name: str) -> tuple[ControlListRecord, ...]:
        return tuple(
            r for r in self.file(name, "control_list").records if isinstance(r, ControlListRecord)
        )

    def unit_value_bands(self, name: str = "unit_value_bands") -> tuple[UnitValueBandRecord, ...]:
        return tuple(
            r
            for r in self.file(name, "unit_value_bands").records
            if isinstance(r, UnitValueBandRecord)
        )

    def watchlist_files(self) -> list[ReferenceFile[LoadedRecord]]:
        return [f for f in self.files.values() if f.header.kind == "watchlist"]

    def hs_group(self, name: str, *groups: str) -> HsCodeSet:
        """The HS prefixes of one or more groups of an hs_groups file, as one set."""
        records = self.file(name, "hs_groups").records
        prefixes = [r.prefix for r in records if isinstance(r, HsGroupRecord) and r.group in groups]
        found = {r.group for r in records if isinstance(r, HsGroupRecord)}
        if missing := set(groups) - found:
            raise ReferenceDataError(self.files[name].path, None, f"no HS group {sorted(missing)}")
        return HsCodeSet(prefixes)

    def hs_descriptions(self, name: str) -> dict[str, str]:
        return {
            r.prefix: r.description
            for r in self.file(name, "hs_groups").records
            if isinstance(r, HsGroupRecord)
        }

    def countries(self, name: str, list_name: str) -> frozenset[str]:
        countries = frozenset(
            r.country
            for r in self.file(name, "country_lists").records
            if isinstance(r, CountryListRecord) and r.list == list_name
        )
        if not countries:
            raise ReferenceDataError(self.files[name].path, None, f"no country list {list_name!r}")
        return countries

    def version_of(self, *names: str) -> str:
        """The versions of the named files, as alerts cite them: 'a@1,b@2'."""
        return ",".join(self.files[name].label for name in sorted(names))
