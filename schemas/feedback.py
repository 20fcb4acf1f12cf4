"""The feedback contract: an analyst's decision on a case, one JSON object per message on the
feedback topic, keyed by the case id (so that it lands on the partition of its case).

Nothing is ever deleted or overwritten: a later decision on the same case is a new message, and
every message says who decided, in what role, when and why. A suppression names exactly what it
silences (the rules, the keys a finding must carry, as the case shows them in its `scope`, and
the listed entries and match methods a listed-party finding was decided on) and always expires.
Taking a decision back, or a supervisor's approval of one, is a decision of its own that
`refers_to` the first (`revoke`, `approve`).

    {"feedback_id": "5f0c…", "case_id": "9a1e…", "decision": "benign",
     "reason": "licensed hunting-rifle importer", "analyst": "j.doe",
     "decided_at": "2026-11-28T10:00:00Z",
     "suppression": {"rule_ids": ["restricted_party.watchlist"],
                     "match": {"exporter": "acme trading", "importer": "ooo vektor"},
                     "starts_at": "2026-11-28T10:00:00Z", "expires_at": "2027-02-26T10:00:00Z"}}
"""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_SUPPRESSION = timedelta(days=366)
MAX_RULES_PER_SUPPRESSION = 16
"""More rules than the catalogue and the window stage hold together: a longer list is no case's."""
MAX_SCOPE_KEYS = 4
MAX_SCOPE_VALUE_CHARS = 512
MAX_REASON_CHARS = 2000

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}\.[a-z0-9_]{1,64}$")]
ScopeKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
ScopeValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SCOPE_VALUE_CHARS)]


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    """A true finding: the case was worth an analyst's time."""
    BENIGN = "benign"
    """A false alarm (it may also suppress what would repeat it)."""
    SUPPRESS = "suppress"
    """Not judged either way, but findings in the scope are not to open cases for a while."""
    ESCALATE = "escalate"
    """Handed on: to an investigator, a licensing officer, law enforcement."""
    REVOKE = "revoke"
    """Takes back the decision it refers to (its suppression stops)."""
    APPROVE = "approve"
    """A supervisor's approval of a suppression that needs one."""


class Role(StrEnum):
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"


ListedEntry = Annotated[str, StringConstraints(min_length=3, max_length=300)]
MAX_ENTRIES_PER_SUPPRESSION = 16


class Suppression(BaseModel):
    """Findings of these rules whose scope holds every key of `match`, with an event time in
    [starts_at, expires_at), open no case and page no one. They are still published and counted,
    marked with the suppressing feedback's id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_ids: list[RuleId] = Field(min_length=1, max_length=MAX_RULES_PER_SUPPRESSION)
    match: dict[ScopeKey, ScopeValue] = Field(
        min_length=1,
        max_length=MAX_SCOPE_KEYS,
        description="Keys a finding's scope must hold, e.g. exporter and importer.",
    )
    starts_at: AwareDatetime
    expires_at: AwareDatetime
    entries: list[ListedEntry] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES_PER_SUPPRESSION,
        description="The listed entries and match methods ('list:entry_id:method') the case's "
        "listed-party findings were decided on: a listed-party finding is silenced only when "
        "every entry it matched is named here, by the same method.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(set(self.rule_ids)) != len(self.rule_ids):
            raise ValueError("a rule id is named twice")
        if self.expires_at <= self.starts_at:
            raise ValueError("a suppression must expire after it starts")
        if self.expires_at - self.starts_at > MAX_SUPPRESSION:
            raise ValueError(f"a suppression may last {MAX_SUPPRESSION.days} days at most")
        return self


class Feedback(BaseModel):
    """One decision on one case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feedback_id: str = Field(min_length=1, max_length=64, description="Unique per decision.")
    case_id: str = Field(min_length=1, max_length=64)
    decision: Decision
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    analyst: str = Field(min_length=1, max_length=200, description="Who decided.")
    role: Role = Field(default=Role.ANALYST, description="In what role they decided.")
    decided_at: AwareDatetime
    suppression: Suppression | None = None
    refers_to: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The feedback_id a revoke or approve decision is about.",
    )

    @model_validator(mode="after")
    def _suppression_fits(self) -> Self:
        referring = self.decision in (Decision.REVOKE, Decision.APPROVE)
        if referring != (self.refers_to is not None):
            raise ValueError("refers_to goes with a revoke or approve decision, and only with one")
        if self.decision is Decision.SUPPRESS and self.suppression is None:
            raise ValueError("a suppress decision needs a suppression")
        if self.suppression is not None and self.decision not in (
            Decision.SUPPRESS,
            Decision.BENIGN,
        ):
            raise ValueError(f"a {self.decision.value} decision cannot suppress")
        return self


MAX_FEEDBACK_BYTES = 32 * 1024
"""A decision's record at most: its reason and scope at their longest fit several times over."""
