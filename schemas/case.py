"""The case contract: one JSON object per message on the case topic, keyed by case_id.

A case is what an analyst works: one shipment (a declaration), or one series of shipments (a
party pair and heading, a route), with every finding about it, a risk score and the reasons
for it. A case that gains a finding or rises in score is published again under the same key
with the next version; the topic is compacted, so the latest version of each case wins.
"""

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.alert import AlertCategory, Severity, Subject, Window
from schemas.declaration import Declaration


class CaseFinding(BaseModel):
    """One finding of the case: an alert, as it was published to the alert topic."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    rule_id: str
    category: AlertCategory
    severity: Severity
    summary: str
    window: Window | None
    event_time: AwareDatetime
    evidence: dict[str, Any]
    reference_data_version: str = Field(
        default="", description="The reference files the finding was made with: 'a@1,b@2'."
    )


class RiskReason(BaseModel):
    """What one category adds to the score: its strongest finding's weight."""

    model_config = ConfigDict(frozen=True)

    category: AlertCategory
    severity: Severity
    weight: float = Field(ge=0, le=1, description="The category's weight at that severity.")
    contribution: float = Field(ge=0, le=1, description="How much the score rose with it.")


class Case(BaseModel):
    """Everything known about one shipment or one series of shipments."""

    model_config = ConfigDict(frozen=True)

    case_id: str = Field(
        description="Deterministic from the subject (and, for a series, its start)."
    )
    version: int = Field(ge=1, description="Rises each time the case gains a finding or score.")
    subject: Subject
    severity: Severity = Field(description="The highest severity among the findings.")
    categories: list[AlertCategory]
    risk_score: float = Field(ge=0, le=1)
    risk_reasons: list[RiskReason]
    scoring_version: str = Field(description="name@version of the weights the score used.")
    findings: list[CaseFinding]
    declaration_ids: list[str]
    declarations: list[Declaration] = Field(
        default_factory=list,
        description="A declaration case's declaration, as declared (its goods text, parties and "
        "route); empty for a series case and for a look back's finding: see declaration_ids.",
    )
    first_event_time: AwareDatetime
    last_event_time: AwareDatetime
    scope: dict[str, str] = Field(
        default_factory=dict,
        description="What a suppression of this case names (its findings' scope): the parties "
        "of a declaration, or the series.",
    )
