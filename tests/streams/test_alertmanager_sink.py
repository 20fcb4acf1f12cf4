"""Paging by case: one Alertmanager alert per case, whose labels stay put as the case grows
(Alertmanager deduplicates it) and change only when its severity rises (that pages)."""

from datetime import UTC, datetime, timedelta

from alerts.cases import CaseBook, CaseScoring
from alerts.reference import ReferenceData
from schemas.alert import Alert, AlertCategory, Severity, Subject, Window
from schemas.case import Case
from streams.alertmanager_sink import AlertmanagerSink, to_alertmanager
from streams.settings import Settings

SCORING = CaseScoring.load(ReferenceData.load())
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def burst(day: int, severity: Severity = Severity.MEDIUM) -> Alert:
    start = NOW - timedelta(days=20 - day)
    return Alert(
        alert_id=f"volume-{day}",
        rule_id="volume_anomaly.window",
        rule_version="2",
        category=AlertCategory.VOLUME_ANOMALY,
        severity=severity,
        summary=f"Volume anomaly on day {day}",
        declaration_ids=[f"D-{day}"],
        subject=Subject(kind="importer_heading", key="ru:promtekh|8471", label="Promtekh × 8471"),
        evidence={},
        window=Window(start=start, end=start + timedelta(days=7)),
        event_time=start + timedelta(days=6),
        detected_at=start + timedelta(days=6),
        reference_data_version="x@1",
    )


def versions(*alerts: Alert) -> list[Case]:
    book = CaseBook(SCORING)
    return [c for c in (book.add(a) for a in alerts) if c is not None]


def test_a_growing_case_keeps_its_labels_and_a_rise_in_severity_changes_only_that() -> None:
    first, second, risen = versions(burst(0), burst(1), burst(2, Severity.HIGH))
    posted = [to_alertmanager(case, NOW) for case in (first, second, risen)]
    assert posted[0]["labels"] == posted[1]["labels"]
    assert posted[0]["annotations"] != posted[1]["annotations"]  # the new finding is shown
    changed = {k for k, v in posted[2]["labels"].items() if posted[1]["labels"][k] != v}
    assert changed == {"severity"}
    assert posted[2]["labels"]["case_id"] == first.case_id
    annotations = posted[2]["annotations"]
    assert annotations["case_version"] == "3"
    assert "Volume anomaly on day 2" in annotations["summary"]
    assert annotations["categories"] == "volume_anomaly"
    assert len(annotations["findings"].splitlines()) == 3


def test_the_sink_posts_the_latest_version_of_each_case_at_or_above_its_severity() -> None:
    medium = versions(burst(0), burst(1))
    high = versions(burst(0, Severity.HIGH))[0].model_copy(update={"case_id": "other"})
    sink = AlertmanagerSink(Settings(), "http://unused", Severity.HIGH, clock=lambda: NOW)
    values = [c.model_dump_json().encode() for c in [*medium, high]] + [b"not a case"]
    assert [a["labels"]["case_id"] for a in sink.select(values)] == ["other"]
    everything = AlertmanagerSink(Settings(), "http://unused", Severity.LOW, clock=lambda: NOW)
    selected = everything.select(list(reversed(values)))
    latest = {a["labels"]["case_id"]: a["annotations"]["case_version"] for a in selected}
    assert latest == {medium[0].case_id: "2", "other": "1"}


def test_a_sink_that_cannot_post_names_the_url_it_tried() -> None:
    import socket
    import threading

    import pytest

    from streams.alertmanager_sink import AlertmanagerUnavailable, post_alerts

    # Something that is not Alertmanager on the port: it accepts and hangs up at once.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def hang_up() -> None:
        connection, _ = server.accept()
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    with pytest.raises(AlertmanagerUnavailable) as raised:
        post_alerts(f"http://127.0.0.1:{port}", [{"labels": {}}], timeout_s=5)
    server.close()
    assert f"http://127.0.0.1:{port}/api/v2/alerts" in str(raised.value)
