"""Turning findings into alerts with deterministic ids."""

import hashlib
from collections.abc import Callable
from datetime import datetime

from alerts.feedback import Suppressions, declaration_scope
from alerts.rules import Catalogue
from alerts.rules.base import DeclarationFacts, Finding, Rule, RuleMeta
from schemas.alert import Alert, Subject, Window
from schemas.wire import DeclarationRecord as Declaration


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def alert_id(rule_id: str, rule_version: str, subject: Subject, window: Window | None) -> str:
    """The deterministic id of an alert: same rule, version, subject and window, same id.

    It is the Kafka key of the alert, so a repeat after reprocessing is recognisably a repeat.
    """
    # Epoch milliseconds: the same instants give the same id whatever offset they were written in.
    span = f"{_epoch_ms(window.start)}/{_epoch_ms(window.end)}" if window else "-"
    identity = "\x1f".join((rule_id, rule_version, subject.kind, subject.key, span))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def build_alert(
    rule: Rule,
    finding: Finding,
    declaration: Declaration,
    detected_at: datetime,
    scope: dict[str, str] | None = None,
) -> Alert:
    return make_alert(rule, finding, declaration.declared_at, detected_at, scope)


def make_alert(
    rule: RuleMeta,
    finding: Finding,
    event_time: datetime,
    detected_at: datetime,
    scope: dict[str, str] | None = None,
) -> Alert:
    """An Alert from a rule's finding: the id from rule, version, subject and window."""
    return Alert(
        alert_id=alert_id(rule.rule_id, rule.version, finding.subject, finding.window),
        rule_id=rule.rule_id,
        rule_version=rule.version,
        category=finding.category or rule.category,
        severity=finding.severity,
        summary=finding.summary,
        declaration_ids=list(finding.declaration_ids),
        subject=finding.subject,
        evidence=finding.evidence,
        window=finding.window,
        event_time=event_time,
        detected_at=detected_at,
        reference_data_version=rule.reference_data_version,
        scope=scope or {},
    )


class RuleEngine:
    """Runs every rule of a catalogue over each declaration and builds the alerts.

    >>> engine = RuleEngine(build_catalogue(ReferenceData.load()), clock=lambda: datetime.now(UTC))
    >>> alerts = engine.screen(declaration)
    """

    def __init__(
        self,
        catalogue: Catalogue,
        clock: Callable[[], datetime],
        suppressions: Suppressions | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.rules = catalogue.rules
        self._clock = clock
        self.suppressions = suppressions if suppressions is not None else Suppressions()

    def screen(self, declaration: Declaration) -> list[Alert]:
        return self.assess(declaration)[0]

    def assess(self, declaration: Declaration) -> tuple[list[Alert], DeclarationFacts]:
        """The alerts, and the facts the rules saw (the window stage needs them too)."""
        facts = DeclarationFacts.of(declaration, self.catalogue.lexicon)
        alerts: list[Alert] = []
        scope = None
        for rule in self.rules:
            findings = rule.evaluate(facts)
            if findings:
                detected_at = self._clock()
                scope = scope or declaration_scope(declaration)
                alerts.extend(
                    build_alert(rule, f, declaration, detected_at, scope) for f in findings
                )
        return self.suppressions.mark(alerts), facts
