"""Cases as the worker makes them (the offline pipeline over real declarations), a store holding
them, and a desk over that store with one user of each role."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from alerts.cases import CaseBook, CaseScoring, declaration_case
from alerts.reference import ReferenceData
from schemas.case import Case
from schemas.wire import decode_declaration
from streams.offline import offline_pipeline
from streams.settings import Settings
from tests.alerts.rules.helpers import party
from tests.conftest import declaration_dict
from tools.desk.auth import DeskRole, write_user
from tools.desk.store import Store

SCORING = CaseScoring.load(ReferenceData.load())
PASSWORD = "correct horse battery"


def rifles_declaration(declaration_id: str = "CQA-1", importer: str = "OOO Okhotnik") -> bytes:
    return orjson.dumps(
        declaration_dict(
            declaration_id=declaration_id,
            declared_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC).isoformat(),
            hs_code="9303.20",
            goods_description="Карабины охотничьи CQ-A калибр 5,56 мм <b>",
            exporter=party("China North Industries Corporation", "CN"),
            importer=party(importer, "RU"),
            dispatch_country="KZ",
        )
    )


def cases_of(*raw: bytes) -> list[Case]:
    """Each declaration's case, as the worker publishes it (with the declaration as declared)."""
    pipeline = offline_pipeline(Settings())
    alerts = pipeline.alerts(list(raw))
    by_declaration: dict[str, list[Any]] = {}
    for alert in alerts.values():
        for declaration_id in alert.declaration_ids:
            by_declaration.setdefault(declaration_id, []).append(alert)
    cases = []
    for message in raw:
        declaration = decode_declaration(message, max_bytes=1 << 20)
        found = declaration_case(
            by_declaration.get(declaration.declaration_id, []), SCORING, declaration
        )
        if found is not None:
            cases.append(found)
    return cases


def volume_case() -> Case:
    """A series case of three findings over hopping windows (hand-made alerts, real CaseBook)."""
    from schemas.alert import Alert, AlertCategory, Severity, Subject, Window

    book = CaseBook(SCORING)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    case = None
    for day in range(3):
        window = Window(start=start + timedelta(days=day), end=start + timedelta(days=day + 7))
        alert = Alert(
            alert_id=f"vol-{day}",
            rule_id="volume_anomaly.burst",
            rule_version="1",
            category=AlertCategory.VOLUME_ANOMALY,
            severity=Severity.HIGH,
            summary=f"Volume anomaly, day {day}",
            declaration_ids=[f"V-{day}"],
            subject=Subject(
                kind="importer_heading", key="ooo vektor|8806", label="OOO Vektor, 8806"
            ),
            evidence={
                "reasons": [
                    {
                        "reason": "above_expected",
                        "metric": "declarations",
                        "value": 20 + day,
                        "expected": 3.5,
                        "least_alerting": 9,
                    }
                ]
            },
            window=window,
            event_time=window.end - timedelta(hours=1),
            detected_at=window.end,
            reference_data_version="",
            scope={"series": "importer_heading:ooo vektor|8806"},
        )
        case = book.add(alert) or case
    assert case is not None
    return case


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "desk.sqlite3")


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    for name, role in (("vera", "viewer"), ("ann", "analyst"), ("sue", "supervisor")):
        write_user(path, name, DeskRole(role), PASSWORD)
    return path
