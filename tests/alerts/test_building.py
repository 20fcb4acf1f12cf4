from datetime import UTC, datetime

import pytest

from alerts.building import alert_id
from schemas.alert import Subject, Window

SUBJECT = Subject(kind="party", key="ru:7701234567", label="OOO Tekhkrim")
WINDOW = Window(start=datetime(2023, 3, 1, tzinfo=UTC), end=datetime(2023, 3, 2, tzinfo=UTC))
BASE = alert_id("rule.a", "1", SUBJECT, WINDOW)


def test_alert_id_is_stable() -> None:
    assert alert_id("rule.a", "1", SUBJECT, WINDOW) == BASE
    assert len(BASE) == 32


@pytest.mark.parametrize(
    ("rule", "version", "subject", "window"),
    [
        ("rule.b", "1", SUBJECT, WINDOW),  # another rule
        ("rule.a", "2", SUBJECT, WINDOW),  # a new rule version re-alerts
        ("rule.a", "1", SUBJECT.model_copy(update={"key": "ru:1"}), WINDOW),  # another subject
        ("rule.a", "1", SUBJECT.model_copy(update={"kind": "route"}), WINDOW),  # another kind
        ("rule.a", "1", SUBJECT, None),  # no window
        (
            "rule.a",
            "1",
            SUBJECT,
            Window(start=WINDOW.end, end=datetime(2023, 3, 3, tzinfo=UTC)),
        ),  # the next window
    ],
)
def test_each_identity_part_changes_the_id(
    rule: str, version: str, subject: Subject, window: Window | None
) -> None:
    assert alert_id(rule, version, subject, window) != BASE


def test_label_is_not_part_of_identity() -> None:
    relabelled = SUBJECT.model_copy(update={"label": "Tekhkrim LLC"})
    assert alert_id("rule.a", "1", relabelled, WINDOW) == BASE


def test_same_instant_in_another_offset_is_the_same_window() -> None:
    from datetime import timedelta, timezone

    moscow = timezone(timedelta(hours=3))
    shifted = Window(start=WINDOW.start.astimezone(moscow), end=WINDOW.end.astimezone(moscow))
    assert alert_id("rule.a", "1", SUBJECT, shifted) == BASE
