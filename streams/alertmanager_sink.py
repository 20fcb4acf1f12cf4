"""Paging by case: the case topic forwarded to Alertmanager's v2 API, losing none.

One page per shipment or series, not one per finding: the sink reads the case topic in its own
consumer group and posts each case at or above a severity as one Alertmanager alert, labelled
with the case id and its severity, and annotated with what its findings say. A case that gains
a finding is posted again under the same labels, so Alertmanager updates the alert it has and
sends no new notification; only a rise in severity changes the labels, and that pages. Findings
an analyst suppressed open no case, so they page no one.

Offsets are committed only after Alertmanager accepted the batch; while it is down the sink
retries with back-off and holds its position, so a case is never skipped.
"""

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from pydantic import ValidationError

from alerts.display import printable
from schemas.alert import Severity
from schemas.case import Case
from streams.errors import StreamsError
from streams.heartbeat import Heartbeat
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.settings import Settings

log = logging.getLogger("tradewatch.alertmanager_sink")

ACTIVE_FOR = timedelta(hours=6)
MAX_BACKOFF_S = 30.0
_EVIDENCE_CHARS = 4000


class AlertmanagerUnavailable(StreamsError):
    """Alertmanager refused or did not answer; the batch must be retried."""


def case_text(case: Case) -> str:
    """A short text for the page: the score and categories, then the strongest finding."""
    lead = max(case.findings, key=lambda f: (f.severity.rank, f.event_time))
    categories = ", ".join(c.value.replace("_", " ") for c in case.categories)
    return printable(
        f"{case.severity.value.upper()} case, risk {case.risk_score:.2f} ({categories}), "
        f"{len(case.findings)} finding{'s' if len(case.findings) != 1 else ''}: {lead.summary}",
        500,
    )


def to_alertmanager(case: Case, now: datetime) -> dict[str, Any]:
    """One case as an Alertmanager v2 alert. The labels stay the same as the case grows, so
    Alertmanager deduplicates its versions; only its severity, the highest of its findings,
    can change them."""
    findings = [
        f"{f.severity.value} {f.category.value} ({f.rule_id}): {printable(f.summary, 300)}"
        for f in sorted(case.findings, key=lambda f: (-f.severity.rank, f.event_time))
    ]
    return {
        "labels": {
            "alertname": "TradewatchCase",
            "case_id": case.case_id,
            "severity": case.severity.value,
            "subject_kind": case.subject.kind,
            "source": "tradewatch",
        },
        "annotations": {
            "summary": case_text(case),
            "categories": ", ".join(c.value for c in case.categories),
            "rules": ", ".join(sorted({f.rule_id for f in case.findings})),
            "risk_score": f"{case.risk_score:.4f}",
            "case_version": str(case.version),
            "subject": printable(case.subject.label, 200),
            "declaration_ids": ", ".join(case.declaration_ids[:50]),
            "findings": "\n".join(findings)[:_EVIDENCE_CHARS],
            "first_event_time": case.first_event_time.isoformat(),
            "last_event_time": case.last_event_time.isoformat(),
            "feedback": f"tradewatch feedback {case.case_id} --confirmed|--benign|--escalate "
            '--reason "..."',
        },
        "startsAt": min(case.first_event_time, now).isoformat(),
        "endsAt": (now + ACTIVE_FOR).isoformat(),
    }


def post_alerts(url: str, alerts: list[dict[str, Any]], timeout_s: float = 5.0) -> None:
    """POST alerts to {url}/api/v2/alerts, or raise AlertmanagerUnavailable (naming the URL:
    whatever else listens on the port is not Alertmanager)."""
    endpoint = f"{url.rstrip('/')}/api/v2/alerts"
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            if response.status != 200:
                raise AlertmanagerUnavailable(
                    f"Alertmanager at {endpoint} answered {response.status}"
                )
    except urllib.error.HTTPError as exc:
        raise AlertmanagerUnavailable(
            f"Alertmanager at {endpoint} answered {exc.code}: {exc.reason}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise AlertmanagerUnavailable(f"Alertmanager at {endpoint} unreachable: {exc}") from exc


class AlertmanagerSink:
    """Reads cases from the case topic and posts those at or above `min_severity`.

    >>> AlertmanagerSink(settings, "http://alertmanager:9093", Severity.HIGH).run(stop_event)
    """

    def __init__(
        self,
        settings: Settings,
        url: str,
        min_severity: Severity,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from alerts.pipeline import utc_now

        self.settings = settings
        self.url = url
        self.min_severity = min_severity
        self.clock = clock or utc_now
        self.sleep = sleep
        self.forwarded = 0
        self.retries = 0

    def _consumer(self) -> KafkaConsumer:
        announce(self.settings)
        try:
            return KafkaConsumer(
                self.settings.topic_cases,
                **kafka_python_options(self.settings),
                group_id=f"{self.settings.app_id}-alertmanager-sink",
                client_id=f"{self.settings.app_id}-alertmanager-sink",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=200,
            )
        except KafkaError as exc:
            raise broker_error(self.settings, exc) from exc

    def select(self, values: list[bytes]) -> list[dict[str, Any]]:
        """The Alertmanager alerts for a batch of case-topic values: the latest version of each
        case at or above the severity (unreadable records skipped)."""
        now = self.clock()
        latest: dict[str, Case] = {}
        for value in values:
            try:
                case = Case.model_validate_json(value)
            except ValidationError:
                log.warning("skipping an unreadable record on the case topic")
                continue
            known = latest.get(case.case_id)
            if known is None or case.version > known.version:
                latest[case.case_id] = case
        return [
            to_alertmanager(case, now)
            for case in latest.values()
            if case.severity.rank >= self.min_severity.rank
        ]

    def deliver(self, alerts: list[dict[str, Any]], stop: threading.Event) -> bool:
        """Post until Alertmanager accepts (True) or stop is set (False)."""
        backoff = 0.5
        while not stop.is_set():
            try:
                post_alerts(self.url, alerts)
                self.forwarded += len(alerts)
                return True
            except AlertmanagerUnavailable as exc:
                self.retries += 1
                log.warning("%s; retrying %d alerts in %.1f s", exc, len(alerts), backoff)
                self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        return False

    def run(self, stop: threading.Event) -> None:
        consumer = self._consumer()
        beat = Heartbeat(self.settings.heartbeat_file)
        try:
            while not stop.is_set():
                beat()  # between deliveries only: a sink stuck retrying stops beating
                batches = consumer.poll(timeout_ms=1000)
                values = [r.value for records in batches.values() for r in records if r.value]
                if not values:
                    continue
                alerts = self.select(values)
                if alerts and not self.deliver(alerts, stop):
                    return  # stopping: nothing committed, the batch is read again next time
                consumer.commit()
        finally:
            consumer.close()
