"""Analysts' decisions, applied: suppressions that silence findings, and reviews that count
decisions against the rules of the case they name.

Every finding carries a `scope`: the keys a suppression can name. A declaration's findings carry
its parties (exporter, importer), a window finding its series (dimension and key). A suppression
(schemas/feedback.py) silences findings of its rules whose scope holds every key it names and
whose event time falls in its span: they are still published and counted, marked with
`suppressed_by`, but open no case and page no one. Event time, not arrival, decides, so that a
replay with the same decisions (`tradewatch backtest --feedback`) gives the same cases as live.

    suppressions = Suppressions()
    suppressions.add(feedback)                # from the feedback topic, or a file
    alerts = suppressions.mark(alerts)        # suppressed ones carry suppressed_by

A review joins a case and the decisions on it, whichever comes first: a decision that arrives
before its case is kept and counted, against the case's rules, when the case appears.
"""

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from alerts.windows.observations import Observation
from schemas.alert import Alert
from schemas.case import Case
from schemas.feedback import Decision, Feedback, Suppression
from schemas.wire import DeclarationRecord

_NON_WORD = re.compile(r"[\W_]+")


def party_key(name: str) -> str:
    """A party name as scopes hold it: NFKC, case-folded, punctuation gone, spaces single."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", name).casefold()).split())


def declaration_scope(declaration: DeclarationRecord) -> dict[str, str]:
    return {
        "exporter": party_key(declaration.exporter.name),
        "importer": party_key(declaration.importer.name),
    }


def series_scope(observation: Observation) -> dict[str, str]:
    return {"series": f"{observation.dimension.label}:{observation.key}"}


@dataclass(frozen=True)
class _Active:
    feedback_id: str
    suppression: Suppression


class Suppressions:
    """Every suppression known, by rule. Written by one thread (the feedback reader), read by
    the screening and window stages: each write replaces the index whole."""

    def __init__(self, feedback: list[Feedback] = ()) -> None:  # type: ignore[assignment]
        self._by_rule: dict[str, tuple[_Active, ...]] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        for item in feedback:
            self.add(item)

    def __len__(self) -> int:
        return len(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._by_rule = {}
            self._seen = set()

    def add(self, feedback: Feedback) -> bool:
        """Take a decision in; True if it brought a new suppression."""
        suppression = feedback.suppression
        if suppression is None:
            return False
        with self._lock:
            if feedback.feedback_id in self._seen:
                return False
            by_rule = dict(self._by_rule)
            active = _Active(feedback.feedback_id, suppression)
            for rule_id in suppression.rule_ids:
                by_rule[rule_id] = (*by_rule.get(rule_id, ()), active)
            self._by_rule = by_rule
            self._seen.add(feedback.feedback_id)
        return True

    def match(self, alert: Alert) -> str | None:
        """The id of the first decision (in arrival order) that suppresses this finding."""
        for active in self._by_rule.get(alert.rule_id, ()):
            suppression = active.suppression
            if suppression.starts_at <= alert.event_time < suppression.expires_at and all(
                alert.scope.get(k) == v for k, v in suppression.match.items()
            ):
                return active.feedback_id
        return None

    def mark(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts, the suppressed ones marked with `suppressed_by`."""
        if not self._by_rule or not alerts:
            return alerts
        marked = []
        for alert in alerts:
            by = self.match(alert)
            marked.append(alert if by is None else alert.model_copy(update={"suppressed_by": by}))
        return marked


def suppression_for(case: Case, starts_at: datetime, expires_at: datetime) -> Suppression:
    """A suppression of what this case found: its rules, in its scope."""
    return Suppression(
        rule_ids=sorted({f.rule_id for f in case.findings}),
        match=dict(case.scope),
        starts_at=starts_at,
        expires_at=expires_at,
    )


MAX_DECISIONS_PER_CASE = 64
"""Decisions one case keeps: people decide a case a few times; more is a script, and refused."""


class DecisionRefused(ValueError):
    """A decision that the review of its case does not take (the reason in one line)."""


@dataclass
class Review:
    """One case's side of the join: its rules once seen, and the decisions on it in the order
    they came (each as its id and kind only, so that a review stays small whatever the
    decisions said). Each kind of decision counts once against each rule of the case, as soon as
    both are known: fifty `benign` decisions on one case are one benign case."""

    rules: list[str] | None = None
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    counted: set[Decision] = field(default_factory=set)

    def with_case(self, case: Case) -> list[tuple[str, Decision]]:
        if self.rules is None:
            self.rules = sorted({f.rule_id for f in case.findings})
        return self._due()

    def with_feedback(self, feedback: Feedback) -> list[tuple[str, Decision]]:
        """The counts it makes due; DecisionRefused when the case holds its most decisions."""
        if any(known == feedback.feedback_id for known, _ in self.decisions):
            return []
        if len(self.decisions) >= MAX_DECISIONS_PER_CASE:
            raise DecisionRefused(
                f"case {feedback.case_id} already holds {MAX_DECISIONS_PER_CASE} decisions"
            )
        self.decisions.append((feedback.feedback_id, feedback.decision))
        return self._due()

    def _due(self) -> list[tuple[str, Decision]]:
        if self.rules is None:
            return []
        due: list[tuple[str, Decision]] = []
        for _, decision in self.decisions:
            if decision not in self.counted:
                self.counted.add(decision)
                due += [(rule, decision) for rule in self.rules]
        return due

    @property
    def pending(self) -> int:
        """Kinds of decision not counted yet (their case has not been seen)."""
        return len({d for _, d in self.decisions} - self.counted)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "rules": self.rules,
                "decisions": [[feedback_id, d.value] for feedback_id, d in self.decisions],
                "counted": sorted(d.value for d in self.counted),
            }
        )

    @classmethod
    def decode(cls, raw: bytes | None) -> "Review":
        if not raw:
            return cls()
        document = orjson.loads(raw)
        decisions = [
            # Reviews written before decisions were kept as (id, kind) held whole decisions.
            (d["feedback_id"], Decision(d["decision"]))
            if isinstance(d, dict)
            else (d[0], Decision(d[1]))
            for d in document["decisions"]
        ]
        counted = document["counted"]
        if isinstance(counted, int):
            kinds = {d for _, d in decisions[:counted]}
        else:
            kinds = {Decision(d) for d in counted}
        return cls(document["rules"], decisions, kinds)


class Reviews:
    """Reviews in memory (the backtest's); the worker keeps each in its table instead."""

    def __init__(self) -> None:
        self.reviews: dict[str, Review] = {}
        self.counts: dict[tuple[str, Decision], int] = {}

    def case(self, case: Case) -> None:
        self._count(self.reviews.setdefault(case.case_id, Review()).with_case(case))

    def feedback(self, feedback: Feedback) -> None:
        """Count the decision (DecisionRefused, counting nothing, past a case's limit)."""
        self._count(self.reviews.setdefault(feedback.case_id, Review()).with_feedback(feedback))

    def _count(self, due: list[tuple[str, Decision]]) -> None:
        for key in due:
            self.counts[key] = self.counts.get(key, 0) + 1

    def precision(self) -> dict[str, tuple[int, int, float | None]]:
        """By rule: (confirmed, benign, confirmed / (confirmed + benign))."""
        rules = sorted({rule for rule, _ in self.counts})
        out = {}
        for rule in rules:
            confirmed = self.counts.get((rule, Decision.CONFIRMED), 0)
            benign = self.counts.get((rule, Decision.BENIGN), 0)
            judged = confirmed + benign
            out[rule] = (confirmed, benign, confirmed / judged if judged else None)
        return out
