"""The alert wire contract: one JSON object per message on the alert topic, keyed by alert_id."""

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AlertCategory(StrEnum):
    CATEGORY_MISMATCH = "category_mismatch"
    CONTROLLED_GOODS = "controlled_goods"
    RESTRICTED_PARTY = "restricted_party"
    TRANSSHIPMENT = "transshipment"
    VOLUME_ANOMALY = "volume_anomaly"
    VALUE_ANOMALY = "value_anomaly"
    SPLIT_SHIPMENTS = "split_shipments"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 3, high 2, medium 1, low 0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Subject(BaseModel):
    """What an alert is about: a declaration, a party, a route or a heading.

    `key` is the stable identity that goes into the alert id; `label` is for people.
    """

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="declaration, party, route, heading, ...")
    key: str
    label: str


class Window(BaseModel):
    """An event-time window [start, end)."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime


class Alert(BaseModel):
    """An explainable finding, published to the alert topic keyed by its deterministic id."""

    model_config = ConfigDict(frozen=True)

    alert_id: str = Field(description="Deterministic from rule, rule version, subject and window.")
    rule_id: str
    rule_version: str
    category: AlertCategory
    severity: Severity
    summary: str = Field(description="One readable line.")
    declaration_ids: list[str]
    subject: Subject
    evidence: dict[str, Any]
    window: Window | None
    event_time: AwareDatetime
    detected_at: AwareDatetime
    reference_data_version: str
    scope: dict[str, str] = Field(
        default_factory=dict,
        description="What a suppression can name: the declaration's parties (exporter, "
        "importer), or the window finding's series.",
    )
    suppressed_by: str | None = Field(
        default=None,
        description="The feedback id of the suppression that silenced this finding: it opens "
        "no case and pages no one.",
    )
