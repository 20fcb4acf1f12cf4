"""Cases: every finding about one shipment, or one series of shipments, as one item.

A declaration's own findings (category mismatch, controlled goods, a listed party, a diversion
route: what the screening stage finds) make one case, keyed by the declaration, published as
soon as it is screened. The window stage's findings make one case per subject (a party pair
and heading, an importer and heading, a route and chapter; a declaration for an odd unit value)
and episode: a finding whose window starts within `series_gap_days` of the end of the
subject's open case joins it, so a burst that crosses seven hopping windows is one case
updated, not seven pages. A case is published again, with the next version, each time it gains
a finding or its score rises.

The risk score combines the strongest finding of each category as independent evidence:
1 - prod(1 - weight), with weights by category and severity from versioned reference data
(`case_scoring.jsonl`). Several independent categories on one shipment (a mismatch, a listed
party and a diversion route) score above any one of them, and the reasons say what each added.

    book = CaseBook(CaseScoring.load(reference))
    for alert in alerts:                      # in the order they were published
        case = book.add(alert)                # the new version, or None if nothing changed
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.reference import CaseScoringRecord, ReferenceData
from schemas.alert import Alert, AlertCategory, Severity, Subject
from schemas.case import Case, CaseFinding, RiskReason
from schemas.declaration import Declaration
from schemas.wire import DeclarationRecord, to_document

# Findings of the window stage: a series of shipments, or (a unit value) judged against the
# stream. The screening stage's findings make the declaration's case.
WINDOW_CATEGORIES = frozenset(
    {AlertCategory.VOLUME_ANOMALY, AlertCategory.VALUE_ANOMALY, AlertCategory.SPLIT_SHIPMENTS}
)


@dataclass(frozen=True)
class CaseScoring:
    """Weights by category and severity, and the file version that alerts cite."""

    weights: dict[tuple[AlertCategory, Severity], float]
    version: str

    @classmethod
    def load(cls, reference: ReferenceData, name: str = "case_scoring") -> "CaseScoring":
        loaded = reference.file(name, "case_scoring")
        weights = {
            (AlertCategory(r.category), Severity(r.severity)): r.weight
            for r in loaded.records
            if isinstance(r, CaseScoringRecord)
        }
        return cls(weights, loaded.label)

    def weight(self, category: AlertCategory, severity: Severity) -> float:
        return self.weights.get((category, severity), 0.0)

    def score(self, findings: list[CaseFinding]) -> tuple[float, list[RiskReason]]:
        strongest: dict[AlertCategory, tuple[float, Severity]] = {}
        for finding in findings:
            weight = self.weight(finding.category, finding.severity)
            if finding.category not in strongest or weight > strongest[finding.category][0]:
                strongest[finding.category] = (weight, finding.severity)
        remaining = 1.0
        reasons = []
        for category, (weight, severity) in sorted(
            strongest.items(), key=lambda item: (-item[1][0], item[0].value)
        ):
            contribution = remaining * weight
            remaining -= contribution
            reasons.append(RiskReason(
                category=category,
                severity=severity,
                weight=weight,
                contribution=round(contribution, 4),
            ))  # fmt: skip
        return round(1.0 - remaining, 4), reasons


def declaration_case(
    alerts: list[Alert], scoring: CaseScoring, declaration: DeclarationRecord | None = None
) -> Case | None:
    """The one case a declaration's own findings make, as the screening stage publishes it
    once the declaration is screened (the same as CaseBook gives for those alerts, with the
    declaration as declared when it is given); None if they were all suppressed."""
    book = CaseBook(scoring)
    latest = None
    for alert in alerts:
        latest = book.add(alert) or latest
    if latest is None or declaration is None:
        return latest
    return latest.model_copy(update={"declarations": [as_declared(declaration)]})


def listing_cases(alerts: list[Alert], scoring: CaseScoring) -> list[Case]:
    """The cases a look back's findings make (alerts/retro.py): one per subject, a party's
    listing, as the window stage publishes them with the findings."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.subject.kind, alert.subject.key), []).append(alert)
    return [
        case for group in groups.values() if (case := declaration_case(group, scoring)) is not None
    ]


def as_declared(declaration: DeclarationRecord) -> Declaration:
    """The declaration as its wire contract holds it (what an analyst reads beside the
    findings)."""
    return Declaration.model_validate(to_document(declaration))


def _finding(alert: Alert) -> CaseFinding:
    return CaseFinding(
        alert_id=alert.alert_id,
        rule_id=alert.rule_id,
        category=alert.category,
        severity=alert.severity,
        summary=alert.summary,
        window=alert.window,
        event_time=alert.event_time,
        evidence=alert.evidence,
        reference_data_version=alert.reference_data_version,
    )


def _assemble(
    case_id: str,
    version: int,
    subject: Subject,
    findings: list[CaseFinding],
    declaration_ids: set[str],
    scoring: CaseScoring,
    scope: dict[str, str],
) -> Case:
    """A case version from its findings: severity, categories, score and times derived."""
    findings = sorted(findings, key=lambda f: (f.event_time, f.alert_id))
    score, reasons = scoring.score(findings)
    return Case(
        case_id=case_id,
        version=version,
        subject=subject,
        severity=max((f.severity for f in findings), key=lambda s: s.rank),
        categories=sorted({f.category for f in findings}, key=lambda c: c.value),
        risk_score=score,
        risk_reasons=reasons,
        scoring_version=scoring.version,
        findings=findings,
        declaration_ids=sorted(declaration_ids),
        first_event_time=findings[0].event_time,
        last_event_time=findings[-1].event_time,
        scope=scope,
    )


def _series_end(case: Case) -> datetime:
    return max(f.window.end if f.window is not None else f.event_time for f in case.findings)


def next_series_case(
    previous: Case | None, alert: Alert, scoring: CaseScoring, gap: timedelta
) -> Case | None:
    """The subject's case after a window finding: the open case gains it if the finding's
    window starts within `gap` of the case's end, else a new case opens; None for a repeat.
    The window stage keeps the open case with the key's state; CaseBook keeps it by subject."""
    start = alert.window.start if alert.window is not None else alert.event_time
    base = previous if previous is not None and start <= _series_end(previous) + gap else None
    if base is not None and any(f.alert_id == alert.alert_id for f in base.findings):
        return None
    subject = alert.subject
    if base is None:
        return _assemble(
            case_id("series", subject.kind, subject.key, start.isoformat()),
            1,
            subject,
            [_finding(alert)],
            set(alert.declaration_ids),
            scoring,
            alert.scope,
        )
    return _assemble(
        base.case_id,
        base.version + 1,
        subject,
        [*base.findings, _finding(alert)],
        {*base.declaration_ids, *alert.declaration_ids},
        scoring,
        base.scope,
    )


def case_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass
class _Open:
    case_id: str
    subject: Subject
    scope: dict[str, str]
    findings: dict[str, CaseFinding] = field(default_factory=dict)
    declaration_ids: set[str] = field(default_factory=set)
    version: int = 0


class CaseBook:
    """Turns alerts, in the order they were published, into case versions."""

    def __init__(self, scoring: CaseScoring, series_gap_days: int = 7) -> None:
        self.scoring = scoring
        self.series_gap = timedelta(days=series_gap_days)
        self._cases: dict[str, _Open] = {}
        self._series: dict[tuple[str, str], Case] = {}  # subject -> its open case
        self._order: dict[str, Case | None] = {}  # every case id, in the order opened

    def __len__(self) -> int:
        return len(self._order)

    def add(self, alert: Alert) -> Case | None:
        """The case's new version if the alert changed it, else None (a repeat, or a finding
        an analyst's suppression silenced)."""
        if alert.suppressed_by is not None:
            return None
        if alert.category in WINDOW_CATEGORIES:
            series = (alert.subject.kind, alert.subject.key)
            case = next_series_case(self._series.get(series), alert, self.scoring, self.series_gap)
            if case is not None:
                self._series[series] = case
                self._order[case.case_id] = case
            return case
        subject = alert.subject
        key = case_id("declaration", subject.kind, subject.key)
        opened = self._cases.setdefault(key, _Open(key, subject, alert.scope))
        self._order.setdefault(key, None)
        if alert.alert_id in opened.findings:
            return None
        opened.findings[alert.alert_id] = _finding(alert)
        opened.declaration_ids.update(alert.declaration_ids)
        opened.version += 1
        return self._render(opened)

    def _render(self, case: _Open) -> Case:
        return _assemble(
            case.case_id,
            case.version,
            case.subject,
            list(case.findings.values()),
            case.declaration_ids,
            self.scoring,
            case.scope,
        )

    def latest(self) -> list[Case]:
        """The latest version of every case, in the order the cases were opened."""
        return [
            case if case is not None else self._render(self._cases[key])
            for key, case in self._order.items()
        ]
