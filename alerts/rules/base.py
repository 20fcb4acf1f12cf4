"""The rule interface: a pure function from a declaration's facts to findings."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from alerts.display import printable
from alerts.specs import read_specifications
from alerts.text import Lexicon, TermMatch
from schemas.alert import AlertCategory, Severity, Subject, Window
from schemas.wire import DeclarationRecord as Declaration


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule saw, before it becomes an Alert with an id and timestamps."""

    severity: Severity
    summary: str
    subject: Subject
    evidence: dict[str, Any]
    declaration_ids: tuple[str, ...]
    window: Window | None = None
    category: AlertCategory | None = field(default=None)
    """Set only by rules that emit more than one category; otherwise the rule's own."""


def goods_text(declaration: Declaration) -> str:
    """Description, brand and model: everything that says what the goods are."""
    parts = [declaration.goods_description, declaration.brand, declaration.model]
    return " | ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    """A declaration with what every rule needs worked out once: the lexicon terms it contains,
    and the goods its specifications name (`alerts.specs`).

    One normalisation and one automaton pass per declaration serve the whole catalogue.
    """

    declaration: Declaration
    terms: tuple[TermMatch, ...]
    spelling_corrections: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, declaration: Declaration, lexicon: Lexicon) -> "DeclarationFacts":
        text = goods_text(declaration)
        terms, corrections = lexicon.search(text)
        specified = read_specifications(text)
        return cls(declaration, terms + specified if specified else terms, corrections)

    def terms_of(self, lexicon: str, groups: Iterable[str] | None = None) -> list[TermMatch]:
        """The matched terms of one lexicon file, optionally of some of its groups only."""
        wanted = None if groups is None else frozenset(groups)
        return [
            m
            for m in self.terms
            if m.entry.lexicon == lexicon and (wanted is None or m.entry.group in wanted)
        ]


class RuleMeta(Protocol):
    """What every rule, per declaration or per window, tells an alert about itself."""

    @property
    def rule_id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def category(self) -> AlertCategory: ...

    @property
    def reference_data_version(self) -> str: ...


class Rule(RuleMeta, Protocol):
    """A screening rule over one declaration.

    `evaluate` must be pure: the same facts give the same findings, whatever the clock,
    so that reprocessing after a crash yields the same alert ids.
    """

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]: ...


def declaration_subject(declaration: Declaration) -> Subject:
    """The subject of a finding about one declaration."""
    return Subject(
        kind="declaration",
        key=declaration.declaration_id,
        label=f"declaration {printable(declaration.declaration_id, 60)}",
    )


def declaration_finding(
    declaration: Declaration, severity: Severity, summary: str, evidence: dict[str, Any]
) -> Finding:
    """A finding about one declaration: its subject and id are the declaration's own."""
    return Finding(
        severity=severity,
        summary=summary,
        subject=declaration_subject(declaration),
        declaration_ids=(declaration.declaration_id,),
        evidence=evidence,
    )


def shipment_line(declaration: Declaration) -> str:
    """'1000 PCE CN→TR→RU, importer OOO Tekhkrim': the common tail of summaries."""
    route = [declaration.origin_country]
    if declaration.dispatch_country != declaration.origin_country:
        route.append(declaration.dispatch_country)
    route.append(declaration.destination_country)
    return (
        f"{declaration.quantity:g} {declaration.quantity_unit} {'→'.join(route)}, "
        f"importer {printable(declaration.importer.name, 60)}"
    )


def spelling_evidence(facts: DeclarationFacts) -> list[dict[str, str]]:
    """The typos corrected before matching, so an analyst sees why a misspelt word counted."""
    return [{"written": typo, "read_as": word} for typo, word in facts.spelling_corrections]


def terms_evidence(matches: Iterable[TermMatch]) -> list[dict[str, str]]:
    return [
        {"family": m.entry.group, "term": m.entry.term, "language": m.entry.language}
        for m in matches
    ]
