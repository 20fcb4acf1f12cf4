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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import orjson

from alerts.windows.observations import Observation
from schemas.alert import Alert, Severity
from schemas.case import Case
from schemas.feedback import Decision, Feedback, Role, Suppression
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
    return {"series": f"{observation.kind.label}:{observation.key}"}


def listed_entries(evidence: Mapping[str, Any]) -> frozenset[str]:
    """The listed entries a listed-party finding matched, each as 'list:entry_id:method'
    (empty for any other finding)."""
    matches = evidence.get("matches")
    found = matches if isinstance(matches, list) else [evidence] if "entry_id" in evidence else []
    return frozenset(
        f"{m.get('list')}:{m.get('entry_id')}:{m.get('method')}"
        for m in found
        if isinstance(m, Mapping) and m.get("entry_id") is not None
    )


@dataclass(frozen=True)
class _Active:
    feedback_id: str
    suppression: Suppression
    entries: frozenset[str]
    order: int


FIRST_DAY = timedelta(days=1)


def _subsets(scope: Mapping[str, str]) -> list[tuple[tuple[str, str], ...]]:
    """Every non-empty part of a finding's scope, as suppressions index theirs (a scope holds
    two keys or one: three lookups at most)."""
    items = sorted(scope.items())
    return [
        tuple(item for bit, item in enumerate(items) if mask >> bit & 1)
        for mask in range(1, 1 << len(items))
    ]


class Suppressions:
    """The suppressions in force, indexed by rule and scope: checking a finding costs the same
    with 100,000 of them as with 10. Written by one thread (the decisions reader), read by the
    screening and window stages: a write replaces one slot's tuple of suppressions at a time (an
    atomic store under the GIL), so a reader sees each slot whole, and putting 100,000 in force
    costs what 100,000 slots cost, not their square.

    A suppression's span is judged on when the finding was made (`detected_at`), not on the
    declared date, which the declarant writes; a replay (`judged_on="event"`) takes each
    finding as made when it was declared, so that the same records give the same results.
    """

    def __init__(
        self,
        feedback: Iterable[Feedback] = (),
        judged_on: Literal["detected", "event"] = "detected",
    ) -> None:
        self._index: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[_Active, ...]] = {}
        self._active: dict[str, _Active] = {}
        self._order = 0
        self._lock = threading.Lock()
        self.judged_on = judged_on
        self.first_day_hits: dict[str, int] = {}
        """Findings each suppression silenced in its first day (a broad one shows here)."""
        for item in feedback:
            self.add(item)

    def __len__(self) -> int:
        return len(self._active)

    def __contains__(self, feedback_id: object) -> bool:
        return feedback_id in self._active

    def clear(self) -> None:
        with self._lock:
            self._index = {}
            self._active = {}
            self.first_day_hits = {}

    def add(self, feedback: Feedback) -> bool:
        """Put a decision's suppression in force; True if it was not already."""
        suppression = feedback.suppression
        if suppression is None:
            return False
        with self._lock:
            if feedback.feedback_id in self._active:
                return False
            self._order += 1
            active = _Active(
                feedback.feedback_id, suppression, frozenset(suppression.entries), self._order
            )
            scope = tuple(sorted(suppression.match.items()))
            for rule_id in suppression.rule_ids:
                slot = (rule_id, scope)
                self._index[slot] = (*self._index.get(slot, ()), active)
            self._active[feedback.feedback_id] = active
        return True

    def remove(self, feedback_id: str) -> bool:
        """Take a suppression out of force (revoked, or refused after all)."""
        with self._lock:
            active = self._active.get(feedback_id)
            if active is None:
                return False
            scope = tuple(sorted(active.suppression.match.items()))
            for rule_id in active.suppression.rule_ids:
                slot = (rule_id, scope)
                kept = tuple(a for a in self._index.get(slot, ()) if a.feedback_id != feedback_id)
                if kept:
                    self._index[slot] = kept
                else:
                    self._index.pop(slot, None)
            del self._active[feedback_id]
        return True

    def match(self, alert: Alert) -> str | None:
        """The id of the first decision (in the order they were put in force) that suppresses
        this finding."""
        index = self._index
        if not index:
            return None
        when = alert.detected_at if self.judged_on == "detected" else alert.event_time
        best: _Active | None = None
        entries: frozenset[str] | None = None
        for scope in _subsets(alert.scope):
            for active in index.get((alert.rule_id, scope), ()):
                suppression = active.suppression
                if best is not None and best.order < active.order:
                    continue
                if not suppression.starts_at <= when < suppression.expires_at:
                    continue
                if not all(alert.scope.get(k) == v for k, v in suppression.match.items()):
                    continue
                if entries is None:
                    entries = listed_entries(alert.evidence)
                if entries and not entries <= active.entries:
                    continue  # decided on another entry, or another method
                best = active
        if best is None:
            return None
        if when - best.suppression.starts_at < FIRST_DAY:
            self.first_day_hits[best.feedback_id] = self.first_day_hits.get(best.feedback_id, 0) + 1
        return best.feedback_id

    def mark(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts, the suppressed ones marked with `suppressed_by`."""
        if not self._index or not alerts:
            return alerts
        marked = []
        for alert in alerts:
            by = self.match(alert)
            marked.append(alert if by is None else alert.model_copy(update={"suppressed_by": by}))
        return marked

    def broad(self, limit: int) -> int:
        """How many suppressions silenced more than `limit` findings in their first day."""
        return sum(1 for hits in self.first_day_hits.values() if hits > limit)


def case_entries(case: Case) -> frozenset[str]:
    """Every listed entry the case's listed-party findings matched, with the method."""
    return frozenset().union(*(listed_entries(f.evidence) for f in case.findings))


def suppression_for(case: Case, starts_at: datetime, expires_at: datetime) -> Suppression:
    """A suppression of what this case found: its rules, in its scope, on its listed entries."""
    return Suppression(
        rule_ids=sorted({f.rule_id for f in case.findings}),
        match=dict(case.scope),
        starts_at=starts_at,
        expires_at=expires_at,
        entries=sorted(case_entries(case)),
    )


MAX_DECISIONS_PER_CASE = 64
"""Decisions one case keeps: people decide a case a few times; more is a script, and refused."""
MAX_SUPPRESSIONS_PER_CASE = 8
"""Suppressions (and decisions waiting for their case) one case keeps whole."""
SUPERVISOR_SPAN = timedelta(days=30)
"""A suppression longer than this needs a supervisor."""
GUARDED_CATEGORIES = frozenset({"restricted_party", "controlled_goods"})
"""A suppression covering a critical finding of these needs a supervisor."""
_COUNTED = frozenset({Decision.CONFIRMED, Decision.BENIGN, Decision.SUPPRESS, Decision.ESCALATE})


class DecisionRefused(ValueError):
    """A decision that the review of its case does not take (the reason in one line)."""


class Status(StrEnum):
    """What became of a suppression (the decisions topic carries the newest of each)."""

    ACTIVE = "active"
    HELD = "held"
    """Waits for a supervisor's approval."""
    REVOKED = "revoked"
    REFUSED = "refused"
    WAITING = "waiting"
    """Its case, or the findings it names, not seen yet: logged and counted, never sent."""


@dataclass(frozen=True)
class Ruling:
    """The review's word on one suppression: in force or not, and why."""

    feedback: Feedback
    """The decision that carries the suppression."""
    status: Status
    reason: str
    by: str
    """Who made the decision that led to it (the analyst, an approver, a revoker)."""

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "feedback": self.feedback.model_dump(mode="json"),
                "status": self.status.value,
                "reason": self.reason,
                "by": self.by,
            }
        )

    @classmethod
    def decode(cls, raw: bytes) -> "Ruling":
        document = orjson.loads(raw)
        return cls(
            Feedback.model_validate(document["feedback"]),
            Status(document["status"]),
            str(document["reason"]),
            str(document["by"]),
        )


@dataclass
class Review:
    """One case's side of the join, and the gate every suppression passes.

    It holds the case's rules, scope and listed entries once seen, the decisions on it in the
    order they came (each as its id and kind only), and its suppressions whole. Each kind of
    decision counts once against each rule of the case, as soon as both are known: fifty
    `benign` decisions on one case are one benign case.

    A suppression is ruled on only once its case is known (a decision on a case that does not
    exist silences nothing, ever): it must name rules the case found, a scope the case holds,
    and the listed entries the case matched. One that covers a critical listed-party or
    controlled-goods finding, lasts longer than 30 days or widens the case's scope needs a
    supervisor: made by one, or held until one approves it (`approve`, by another person). A
    `revoke` takes one back; a later `confirmed` takes back every one of the case.
    """

    rules: list[str] | None = None
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    counted: set[Decision] = field(default_factory=set)
    scope: dict[str, str] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)
    guarded: list[str] = field(default_factory=list)
    """Rules of the case with a critical finding of a guarded category."""
    found: list[str] = field(default_factory=list)
    """Every rule any version of the case found."""
    suppressions: dict[str, tuple[Status | None, Feedback]] = field(default_factory=dict)
    """By feedback id: the status (None: waiting for the case) and the decision."""
    touched_ms: int = 0
    """The newest event time of the case or decided time of a decision (ms): the review's age,
    by which the table lets it go."""
    rulings: list[Ruling] = field(default_factory=list, compare=False)
    """Rulings made since the caller last took them (never stored)."""

    def with_case(self, case: Case) -> list[tuple[str, Decision]]:
        self.touched_ms = max(self.touched_ms, int(case.last_event_time.timestamp() * 1000))
        if self.rules is None:
            self.rules = sorted({f.rule_id for f in case.findings})
        self.scope = dict(case.scope)
        self.found = sorted({*self.found, *(f.rule_id for f in case.findings)})
        self.entries = sorted({*self.entries, *case_entries(case)})
        self.guarded = sorted(
            {*self.guarded}
            | {
                f.rule_id
                for f in case.findings
                if f.severity is Severity.CRITICAL and f.category.value in GUARDED_CATEGORIES
            }
        )
        for feedback_id, (status, feedback) in list(self.suppressions.items()):
            if status is None:
                del self.suppressions[feedback_id]
                self._rule(feedback, again=True)
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
        self.touched_ms = max(self.touched_ms, int(feedback.decided_at.timestamp() * 1000))
        self._rule(feedback)
        return self._due()

    def take_rulings(self) -> list[Ruling]:
        rulings, self.rulings = self.rulings, []
        return rulings

    def _rule(self, feedback: Feedback, again: bool = False) -> None:
        gated = feedback.suppression is not None or feedback.decision in (
            Decision.APPROVE,
            Decision.REVOKE,
            Decision.CONFIRMED,
        )
        if not gated:
            return
        if (
            not again
            and len(self.suppressions) >= MAX_SUPPRESSIONS_PER_CASE
            and feedback.decision is not Decision.CONFIRMED
        ):
            why = f"the case holds its most ({MAX_SUPPRESSIONS_PER_CASE}) suppressions"
            self.rulings.append(Ruling(feedback, Status.REFUSED, why, feedback.analyst))
            return
        if self.rules is None:
            if feedback.decision is Decision.CONFIRMED:
                return  # nothing in force to take back yet
            self._wait(feedback, "its case has not been seen", again)
            return
        if feedback.decision is Decision.CONFIRMED:
            for status, held in list(self.suppressions.values()):
                if status in (Status.ACTIVE, Status.HELD):
                    self._set(held, Status.REVOKED, f"case confirmed by {feedback.analyst}",
                              feedback.analyst)  # fmt: skip
            return
        if feedback.decision in (Decision.APPROVE, Decision.REVOKE):
            self._refer(feedback)
            return
        problem = self._out_of_case(feedback)
        if problem:
            # A later version of the case may still find it; until then it silences nothing.
            self._wait(feedback, problem, again)
            return
        needs = self._needs_supervisor(feedback)
        if needs and feedback.role is not Role.SUPERVISOR:
            self._set(feedback, Status.HELD, f"needs a supervisor: {needs}", feedback.analyst)
        else:
            self._set(feedback, Status.ACTIVE, "", feedback.analyst)

    def _wait(self, feedback: Feedback, why: str, again: bool) -> None:
        if not again:
            self.rulings.append(Ruling(feedback, Status.WAITING, why, feedback.analyst))
        self.suppressions[feedback.feedback_id] = (None, feedback)

    def _refer(self, feedback: Feedback) -> None:
        known = self.suppressions.get(feedback.refers_to or "")
        if known is None or known[0] is None:
            return  # nothing ruled on by that id on this case: nothing to do
        status, target = known
        if feedback.decision is Decision.REVOKE:
            if status in (Status.ACTIVE, Status.HELD):
                self._set(target, Status.REVOKED, f"revoked: {feedback.reason}", feedback.analyst)
            return
        if status is not Status.HELD:
            return
        if feedback.role is not Role.SUPERVISOR:
            return  # only a supervisor approves
        if feedback.analyst == target.analyst:
            return  # and never their own decision
        self._set(target, Status.ACTIVE, f"approved by {feedback.analyst}", feedback.analyst)

    def _out_of_case(self, feedback: Feedback) -> str:
        suppression = feedback.suppression
        assert suppression is not None and self.rules is not None
        if extra := sorted(set(suppression.rule_ids) - set(self.found)):
            return f"names rules the case did not find: {', '.join(extra)}"
        if any(self.scope.get(k) != v for k, v in suppression.match.items()):
            return "names a scope the case does not hold"
        if extra := sorted(set(suppression.entries) - set(self.entries)):
            return f"names listed entries the case did not match: {', '.join(extra[:3])}"
        return ""

    def _needs_supervisor(self, feedback: Feedback) -> str:
        suppression = feedback.suppression
        assert suppression is not None
        reasons = []
        if guarded := sorted(set(suppression.rule_ids) & set(self.guarded)):
            reasons.append(f"covers critical findings of {', '.join(guarded)}")
        if suppression.expires_at - suppression.starts_at > SUPERVISOR_SPAN:
            reasons.append(f"lasts more than {SUPERVISOR_SPAN.days} days")
        if suppression.match != self.scope:
            reasons.append("widens the case's scope")
        return "; ".join(reasons)

    def _set(self, feedback: Feedback, status: Status, reason: str, by: str) -> None:
        self.suppressions[feedback.feedback_id] = (status, feedback)
        self.rulings.append(Ruling(feedback, status, reason, by))

    def _due(self) -> list[tuple[str, Decision]]:
        if self.rules is None:
            return []
        due: list[tuple[str, Decision]] = []
        for _, decision in self.decisions:
            if decision not in self.counted and decision in _COUNTED:
                self.counted.add(decision)
                due += [(rule, decision) for rule in self.rules]
        return due

    @property
    def pending(self) -> int:
        """Kinds of decision not counted yet (their case has not been seen)."""
        return len({d for _, d in self.decisions if d in _COUNTED} - self.counted)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "rules": self.rules,
                "decisions": [[feedback_id, d.value] for feedback_id, d in self.decisions],
                "counted": sorted(d.value for d in self.counted),
                "scope": self.scope,
                "entries": self.entries,
                "guarded": self.guarded,
                "found": self.found,
                "touched_ms": self.touched_ms,
                "suppressions": [
                    [status.value if status else None, feedback.model_dump(mode="json")]
                    for status, feedback in self.suppressions.values()
                ],
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
        suppressions = {}
        for status, feedback in document.get("suppressions", ()):
            decision = Feedback.model_validate(feedback)
            suppressions[decision.feedback_id] = (Status(status) if status else None, decision)
        return cls(
            document["rules"],
            decisions,
            kinds,
            document.get("scope", {}),
            document.get("entries", []),
            document.get("guarded", []),
            document.get("found", document["rules"] or []),
            suppressions,
            int(document.get("touched_ms", 0)),
        )


class Reviews:
    """Reviews in memory (the backtest's); the worker keeps each in its table instead.
    Rulings go to `suppressions` as they are made, as the decisions topic takes them to every
    worker."""

    def __init__(self, suppressions: Suppressions | None = None) -> None:
        self.reviews: dict[str, Review] = {}
        self.counts: dict[tuple[str, Decision], int] = {}
        self.suppressions = suppressions
        self.rulings: list[Ruling] = []

    def case(self, case: Case) -> None:
        self._take(self.reviews.setdefault(case.case_id, Review()), lambda r: r.with_case(case))

    def feedback(self, feedback: Feedback) -> None:
        """Count and rule on the decision (DecisionRefused, counting nothing, past a case's
        limit)."""
        review = self.reviews.setdefault(feedback.case_id, Review())
        self._take(review, lambda r: r.with_feedback(feedback))

    def _take(self, review: Review, step: Callable[[Review], list[tuple[str, Decision]]]) -> None:
        for key in step(review):
            self.counts[key] = self.counts.get(key, 0) + 1
        for ruling in review.take_rulings():
            self.rulings.append(ruling)
            if self.suppressions is not None and ruling.status is not Status.WAITING:
                apply_ruling(self.suppressions, ruling)

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


def apply_ruling(suppressions: Suppressions, ruling: Ruling) -> bool:
    """Put a ruling's suppression in force, or out of it; True if that changed anything."""
    if ruling.status is Status.ACTIVE:
        return suppressions.add(ruling.feedback)
    return suppressions.remove(ruling.feedback.feedback_id)
