"""`tradewatch feedback`: an analyst's decision on a case, sent to the feedback topic.

    tradewatch feedback 9a1e… --benign --reason "licensed importer" --suppress-days 90
    tradewatch feedback 9a1e… --confirmed --reason "matches the OFAC entry, tax id agrees"

    tradewatch feedback revoke 5f0c… --reason "decided on the wrong case"
    TRADEWATCH_ROLE=supervisor tradewatch feedback approve 5f0c… --reason "licence seen"

A suppression silences what the case found: its rules, for findings in its scope (the parties
of a declaration case, the series of a window case) and on the listed entries it matched, from
now until it expires. The command reads the case from the case topic (only the case's
partition) and refuses a decision on a case that is not there, unless `--force` says it is
meant (the workers rule on no suppression until its case exists). A revoke or approve names
the decision it is about; the command finds it on the feedback topic.
"""

import contextlib
import getpass
import os
import uuid
from datetime import datetime, timedelta

from kafka.errors import KafkaError

from alerts.feedback import suppression_for
from alerts.pipeline import utc_now
from schemas.case import Case
from schemas.control import InvalidControlRecord, decode_control
from schemas.feedback import MAX_FEEDBACK_BYTES, Decision, Feedback, Role, Suppression
from streams.errors import BrokerError, StreamsError
from streams.kafka_security import announce
from streams.produce import make_producer
from streams.settings import Settings
from streams.topics import records_from_start, require_topic


class CaseNotFound(StreamsError):
    """The case a decision names is not on the case topic."""


class DecisionNotFound(StreamsError):
    """The decision a revoke or approve names is not on the feedback topic."""


def find_case(settings: Settings, case_id: str, timeout_s: float = 30.0) -> Case | None:
    """The latest version of a case, read from its partition of the case topic."""
    announce(settings)
    key = case_id.encode()
    found: bytes | None = None
    records = records_from_start(settings, settings.topic_cases, "feedback", timeout_s, key=key)
    for record in records:
        if record.key == key and record.value is not None:
            found = record.value
    return Case.model_validate_json(found) if found is not None else None


def find_decision(settings: Settings, feedback_id: str, timeout_s: float = 60.0) -> Feedback:
    """A decision read from the feedback topic by its id (DecisionNotFound if it is not there)."""
    needle = feedback_id.encode()
    records = records_from_start(settings, settings.topic_feedback, "feedback", timeout_s)
    with contextlib.closing(records):
        for record in records:
            if record.value and needle in record.value:
                with contextlib.suppress(InvalidControlRecord):
                    found = decode_control(record.value, Feedback, MAX_FEEDBACK_BYTES)
                    if found.feedback_id == feedback_id:
                        return found
    raise DecisionNotFound(f"decision {feedback_id} is not on {settings.topic_feedback}")


def decide(
    case_id: str,
    decision: Decision,
    reason: str,
    analyst: str | None = None,
    case: Case | None = None,
    suppress_days: int | None = None,
    now: datetime | None = None,
    role: Role = Role.ANALYST,
    refers_to: str | None = None,
    suppression: Suppression | None = None,
) -> Feedback:
    """The decision as the feedback topic carries it (ValidationError if it makes no sense).
    Its suppression is the one given (the desk's, as edited), or else the case's own for
    `suppress_days`."""
    now = now or utc_now()
    if suppression is None and case is not None and suppress_days is not None:
        suppression = suppression_for(case, now, now + timedelta(days=suppress_days))
    return Feedback(
        feedback_id=uuid.uuid4().hex,
        case_id=case_id,
        decision=decision,
        reason=reason,
        analyst=analyst or os.environ.get("TRADEWATCH_ANALYST") or getpass.getuser(),
        role=role,
        decided_at=now,
        suppression=suppression,
        refers_to=refers_to,
    )


def send_feedback(
    settings: Settings,
    case_id: str,
    decision: Decision,
    reason: str,
    analyst: str | None = None,
    suppress_days: int | None = None,
    force: bool = False,
) -> Feedback:
    """Build the decision (reading its case), send it, wait until it arrived. `case_id` is the
    decision's id for a revoke or approve."""
    if decision is Decision.SUPPRESS and suppress_days is None:
        suppress_days = 90
    require_topic(settings, settings.topic_feedback)
    refers_to = None
    if decision in (Decision.REVOKE, Decision.APPROVE):
        referred = find_decision(settings, case_id)
        refers_to, case_id = referred.feedback_id, referred.case_id
    case = find_case(settings, case_id)
    if case is None and (suppress_days is not None or not force):
        why = (
            "a suppression is built from the case's rules and scope"
            if suppress_days is not None
            else "give --force if the decision is meant for a case still to come"
        )
        raise CaseNotFound(f"case {case_id} is not on {settings.topic_cases}: {why}")
    feedback = decide(
        case_id, decision, reason, analyst or settings.analyst, case, suppress_days,
        role=Role(settings.role), refers_to=refers_to,
    )  # fmt: skip
    producer = make_producer(settings)
    try:
        producer.send(
            settings.topic_feedback, key=case_id.encode(), value=feedback.model_dump_json().encode()
        ).get(timeout=30)
    except KafkaError as exc:
        raise BrokerError(f"could not send to {settings.topic_feedback}: {exc}") from exc
    finally:
        producer.close(timeout=10)
    return feedback
