"""The walking skeleton end to end: a real worker process, a real broker, every output."""

from collections import Counter
from pathlib import Path

import orjson
import pytest

from alerts.cases import WINDOW_CATEGORIES, CaseBook, CaseScoring
from alerts.reference import ReferenceData
from schemas.alert import Alert, AlertCategory
from schemas.case import Case
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    metric,
    offline_alerts,
    produce,
    scrape,
    wait_for_metric,
    worker_env,
)

SIZE_LIMIT = 4096


def valid(number: int, **overrides: object) -> bytes:
    return orjson.dumps(declaration_dict(declaration_id=f"OK-{number:03d}", **overrides))


def without(field: str) -> bytes:
    document = declaration_dict(declaration_id="BAD-missing")
    del document[field]
    return orjson.dumps(document)


ALERTING: dict[str, dict[str, object]] = {
    # The 2023 case shape in Russian, Chinese and English, each to Russia under 9303.
    "CQA-RU": {"hs_code": "9303.20", "goods_description": "Карабины охотничьи CQ-A 5,56 мм"},
    "AK-ZH": {"hs_code": "9303 20 10 00", "goods_description": "狩猎步枪 56式自动步枪"},
    "M16-EN": {"hs_code": "930320", "goods_description": "Sporting rifles M16A2 pattern"},
    # Body armour from China dispatched from Turkey, as textiles.
    "ARMOUR-TR": {
        "hs_code": "6307.90",
        "goods_description": "Бронежилеты класс защиты Бр5",
        "origin_country": "CN",
        "dispatch_country": "TR",
        "exporter": {"name": "Anadolu Tekstil Ltd", "country": "TR"},
    },
    # Drone parts as data-processing parts.
    "FPV-PARTS": {"hs_code": "8473.30", "goods_description": "Полетный контроллер F405 для FPV"},
    # A civilian claim for military goods.
    "CLAIM": {"hs_code": "9005.10", "goods_description": "Бинокль охотничий, для нужд СВО"},
    # Tier 1 chips via Hong Kong to a listed importer.
    "CHIPS-HK": {
        "hs_code": "8542.31",
        "goods_description": "Microcontrollers STM32",
        "origin_country": "MY",
        "dispatch_country": "HK",
        "importer": {"name": "ООО Радиоавтоматика", "country": "RU"},
    },
}
EVERY_RULE = {
    "category_mismatch.military_firearm",
    "category_mismatch.body_armour",
    "category_mismatch.uav",
    "category_mismatch.civilian_claim",
    "controlled_goods.restricted_destination",
    "transshipment.diversion_route",
    "restricted_party.watchlist",
    # The window rule that fires here: the chips cost $500 a piece against a seed band whose
    # 95th percentile is $80. (Volume and split rules need history: tests/integration/
    # test_windows_broker.py covers them.)
    "value_anomaly.unit_value",
}

# (key, raw value, expected reason): every class of bad input the issue names.
BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("not-json", b"<declaration>not json</declaration>", "not_json"),
    ("not-object", b'["an", "array"]', "not_object"),
    ("missing-field", without("importer"), "invalid"),
    ("wrong-type", orjson.dumps(declaration_dict(quantity="many")), "invalid"),
    ("bad-hs", orjson.dumps(declaration_dict(hs_code="93O3.20")), "invalid"),
    ("bad-country", orjson.dumps(declaration_dict(origin_country="QQ")), "invalid"),
    ("negative-quantity", orjson.dumps(declaration_dict(quantity=-5)), "invalid"),
    ("naive-time", orjson.dumps(declaration_dict(declared_at="2023-03-15 10:20:00")), "invalid"),
    ("bad-utf8", b'{"declaration_id": "caf\xc3\x28"}', "invalid_utf8"),
    (
        "too-large",
        orjson.dumps(declaration_dict(goods_description="x" * SIZE_LIMIT)),
        "too_large",
    ),
]


@pytest.mark.broker
def test_mixed_batch_through_the_real_broker(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(
        broker_url, unique_name, tmp_path / "state", TRADEWATCH_MAX_MESSAGE_BYTES=str(SIZE_LIMIT)
    )
    source_topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]

    # Every bad message is followed by a valid one, which must still be processed.
    batch: list[tuple[bytes, bytes]] = []
    valid_values: list[bytes] = []
    for number, (key, raw, _reason) in enumerate(BAD_INPUTS):
        batch.append((f"bad:{key}".encode(), raw))
        value = valid(number)
        batch.append((f"OK-{number:03d}".encode(), value))
        valid_values.append(value)
    for declaration_id, fields in ALERTING.items():
        value = orjson.dumps(declaration_dict(declaration_id=declaration_id, **fields))
        batch.append((declaration_id.encode(), value))
        valid_values.append(value)

    # What the alert topic must hold: the worker's whole core, run offline in this process.
    expected_alerts = offline_alerts(value for _, value in batch)
    assert {d for a in expected_alerts.values() for d in a.declaration_ids} == set(ALERTING)
    assert {a.rule_id for a in expected_alerts.values()} == EVERY_RULE

    # What the case topic must hold: one case per alerting declaration, of its screening
    # findings (from the screening stage), and the unit-value finding's own case (from the
    # window stage), as backtest folds them.
    book = CaseBook(CaseScoring.load(ReferenceData.load()))
    for alert in expected_alerts.values():
        book.add(alert)
    expected_cases = {case.case_id: case for case in book.latest()}
    window_cases = [c for c in expected_cases.values() if set(c.categories) <= WINDOW_CATEGORIES]
    assert len(expected_cases) == len(ALERTING) + len(window_cases)
    assert [c.categories for c in window_cases] == [[AlertCategory.VALUE_ANOMALY]]

    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        sent = produce(broker_url, source_topic, batch)
        where = {key: meta for (key, _), meta in zip(batch, sent, strict=True)}

        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_declarations_total", len(valid_values), outcome="ok"
        )
        samples = wait_for_metric(
            worker.metrics_url,
            "tradewatch_declarations_total",
            len(BAD_INPUTS),
            outcome="rejected",
        )
        alerts = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_ALERTS"],
            until=lambda records: len(records) >= len(expected_alerts),
        )
        dead_letters = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_DEAD_LETTER"],
            until=lambda records: len(records) >= len(BAD_INPUTS),
        )
        cases = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_CASES"],
            until=lambda records: len(records) >= len(expected_cases),
        )
        samples = scrape(worker.metrics_url)
        assert worker.stop() == 0, worker.log_tail()

    # 1. The alert topic: exactly the expected ids, each keyed by its id, each a valid Alert.
    assert sorted(r.key.decode() for r in alerts) == sorted(expected_alerts)
    for record in alerts:
        alert = Alert.model_validate_json(record.value)
        assert record.key.decode() == alert.alert_id
        expected = expected_alerts[alert.alert_id]
        assert (alert.rule_id, alert.severity) == (expected.rule_id, expected.severity)
        if alert.window is None:  # per-declaration alerts read the same whatever the order
            assert alert.summary == expected.summary

    # 2. The case topic: each case keyed by its id, with the findings and the score offline
    # gives; the seed rifles score above any one finding.
    assert sorted(r.key.decode() for r in cases) == sorted(expected_cases)
    for record in cases:
        case = Case.model_validate_json(record.value)
        expected_case = expected_cases[case.case_id]
        assert record.key.decode() == case.case_id
        assert [f.alert_id for f in case.findings] == [f.alert_id for f in expected_case.findings]
        assert (case.version, case.risk_score) == (expected_case.version, expected_case.risk_score)
    [rifles] = [c for c in expected_cases.values() if c.declaration_ids == ["CQA-RU"]]
    assert len(rifles.categories) >= 2
    assert rifles.risk_score > max(r.weight for r in rifles.risk_reasons)

    # 3. The dead-letter topic: every reject, unchanged, with its reason and source offset.
    by_key = {r.key.decode(): r for r in dead_letters}
    assert sorted(by_key) == sorted(f"bad:{key}" for key, _, _ in BAD_INPUTS)
    assert len(dead_letters) == len(BAD_INPUTS)
    for key, raw, reason in BAD_INPUTS:
        record = by_key[f"bad:{key}"]
        headers = {name: value.decode() for name, value in record.headers}
        origin = where[f"bad:{key}".encode()]
        assert record.value == raw, key
        assert headers["tradewatch.reason"] == reason, (key, headers)
        assert headers["tradewatch.error"], key
        assert headers["tradewatch.source.topic"] == source_topic
        assert int(headers["tradewatch.source.partition"]) == origin.partition
        assert int(headers["tradewatch.source.offset"]) == origin.offset

    # 4. The metrics endpoint, read back over HTTP.
    assert metric(samples, "tradewatch_declarations_total", outcome="ok") == len(valid_values)
    assert metric(samples, "tradewatch_declarations_total", outcome="rejected") == len(BAD_INPUTS)
    for reason in {r for _, _, r in BAD_INPUTS}:
        count = sum(1 for _, _, r in BAD_INPUTS if r == reason)
        assert metric(samples, "tradewatch_dead_letters_total", reason=reason) == count, reason
    by_labels = Counter(
        (a.rule_id, a.category.value, a.severity.value) for a in expected_alerts.values()
    )
    for (rule, category, severity), count in by_labels.items():
        labels = {"rule": rule, "category": category, "severity": severity}
        assert metric(samples, "tradewatch_alerts_total", **labels) == count, labels
    for severity, count in Counter(c.severity.value for c in expected_cases.values()).items():
        assert metric(samples, "tradewatch_cases_total", severity=severity) == count, severity
    assert metric(samples, "tradewatch_declaration_processing_seconds_count") == len(
        valid_values
    ) + len(BAD_INPUTS)
    # faust's own sensors are on the same page (it counts the fetched batches it delivered).
    assert metric(samples, "faust_messages_received_total") >= 1
