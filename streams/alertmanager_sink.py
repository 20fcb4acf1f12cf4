"""Forwarding findings from the alert topic to Alertmanager's v2 API, losing none.

Metrics alone lose a finding's detail; the on-call person needs the summary, the declarations and
the evidence. The sink reads the alert topic in its own consumer group and posts each finding at
or above a severity to Alertmanager. Offsets are committed only after Alertmanager accepted the
batch; while it is down the sink retries with back-off and holds its position, so a finding is
never skipped. A repeat is harmless: the labels, and so Alertmanager's fingerprint, come from the
deterministic alert id.
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
from schemas.alert import Alert, Severity
from streams.errors import StreamsError
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.settings import Settings

log = logging.getLogger("tradewatch.alertmanager_sink")

ACTIVE_FOR = timedelta(hours=6)
MAX_BACKOFF_S = 30.0
_EVIDENCE_CHARS = 4000


class AlertmanagerUnavailable(StreamsError):
    """Alertmanager refused or did not answer; the batch must be retried."""


def to_alertmanager(alert: Alert, now: datetime) -> dict[str, Any]:
    """One finding as an Alertmanager v2 alert: low-cardinality labels plus the alert id."""
    ends = max(alert.detected_at, now) + ACTIVE_FOR
    return {
        "labels": {
            "alertname": "TradewatchFinding",
            "alert_id": alert.alert_id,
            "rule": alert.rule_id,
            "category": alert.category.value,
            "severity": alert.severity.value,
            "subject_kind": alert.subject.kind,
            "source": "tradewatch",
        },
        "annotations": {
            "summary": printable(alert.summary, 500),
            "subject": printable(alert.subject.label, 200),
            "declaration_ids": ", ".join(alert.declaration_ids[:50]),
            "evidence": json.dumps(alert.evidence, ensure_ascii=False)[:_EVIDENCE_CHARS],
            "event_time": alert.event_time.isoformat(),
            "reference_data_version": alert.reference_data_version,
        },
        "startsAt": alert.detected_at.isoformat(),
        "endsAt": ends.isoformat(),
    }


def post_alerts(url: str, alerts: list[dict[str, Any]], timeout_s: float = 5.0) -> None:
    """POST alerts to {url}/api/v2/alerts, or raise AlertmanagerUnavailable."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            if response.status != 200:
                raise AlertmanagerUnavailable(f"Alertmanager answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise AlertmanagerUnavailable(f"Alertmanager answered {exc.code}: {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise AlertmanagerUnavailable(f"Alertmanager unreachable: {exc}") from exc


class AlertmanagerSink:
    """Reads findings from the alert topic and posts those at or above `min_severity`.

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
                self.settings.topic_alerts,
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
        """The Alertmanager alerts for a batch of alert-topic values (unreadable ones skipped)."""
        now = self.clock()
        selected = []
        for value in values:
            try:
                alert = Alert.model_validate_json(value)
            except ValidationError:
                log.warning("skipping an unreadable record on the alert topic")
                continue
            if alert.severity.rank >= self.min_severity.rank:
                selected.append(to_alertmanager(alert, now))
        return selected

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
        try:
            while not stop.is_set():
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
