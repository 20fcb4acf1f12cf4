"""Following the alert topic and showing alerts to a person."""

import sys
from collections.abc import Iterator
from typing import TextIO

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from pydantic import ValidationError

from alerts.display import printable
from schemas.alert import Alert, Severity
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.settings import Settings

_COLOURS = {
    Severity.CRITICAL: "\033[1;31m",
    Severity.HIGH: "\033[33m",
    Severity.MEDIUM: "\033[36m",
    Severity.LOW: "\033[2m",
}
_RESET = "\033[0m"


def format_alert(alert: Alert, colour: bool = False) -> str:
    """Two readable lines: severity, category, event time and summary; then rule, ids, subject."""
    severity = alert.severity.value.upper()
    if colour:
        severity = f"{_COLOURS[alert.severity]}{severity:<8}{_RESET}"
    when = alert.event_time.strftime("%Y-%m-%d %H:%M:%S%z")
    declarations = ", ".join(printable(d, 40) for d in alert.declaration_ids[:5])
    if len(alert.declaration_ids) > 5:
        declarations += f" (+{len(alert.declaration_ids) - 5})"
    subject = "" if alert.subject.kind == "declaration" else f" · {printable(alert.subject.label)}"
    return (
        f"{severity:<8} {alert.category.value:<17} {when}  {printable(alert.summary, 400)}\n"
        f"         rule {alert.rule_id} v{alert.rule_version}{subject}"
        f" · declarations {declarations} · id {alert.alert_id}"
    )


def consume_alerts(
    settings: Settings, *, from_beginning: bool, timeout_s: float | None
) -> Iterator[bytes]:
    """Raw alert values as they arrive; stops after timeout_s without a new one, if given."""
    announce(settings)
    try:
        consumer = KafkaConsumer(
            settings.topic_alerts,
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-alerts-cli",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            consumer_timeout_ms=int(timeout_s * 1000) if timeout_s else float("inf"),
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    try:
        for message in consumer:
            if message.value is not None:
                yield message.value
    finally:
        consumer.close()


def follow(
    settings: Settings,
    *,
    raw_json: bool,
    from_beginning: bool,
    limit: int | None,
    timeout_s: float | None,
    out: TextIO = sys.stdout,
) -> int:
    """Print alerts until interrupted, limit alerts, or timeout_s of silence; return the count."""
    shown = 0
    colour = out.isatty()
    for value in consume_alerts(settings, from_beginning=from_beginning, timeout_s=timeout_s):
        if raw_json:
            out.write(value.decode("utf-8", errors="replace") + "\n")
        else:
            try:
                out.write(format_alert(Alert.model_validate_json(value), colour) + "\n")
            except ValidationError:
                out.write(f"(unreadable alert: {printable(value.decode('utf-8', 'replace'))})\n")
        out.flush()
        shown += 1
        if limit is not None and shown >= limit:
            break
    return shown
