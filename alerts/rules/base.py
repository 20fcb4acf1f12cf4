"""The rule interface: a pure function from a declaration to findings."""

from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.alert import AlertCategory, Severity, Subject, Window
from schemas.declaration import Declaration


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


class Rule(Protocol):
    """A screening rule.

    `evaluate` must be pure: the same declaration gives the same findings, whatever the clock,
    so that reprocessing after a crash yields the same alert ids.
    """

    @property
    def rule_id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def category(self) -> AlertCategory: ...

    @property
    def reference_data_version(self) -> str: ...

    def evaluate(self, declaration: Declaration) -> list[Finding]: ...


def declaration_subject(declaration: Declaration) -> Subject:
    """The subject of a finding about one declaration."""
    return Subject(
        kind="declaration",
        key=declaration.declaration_id,
        label=f"declaration {declaration.declaration_id}",
    )
