"""The ops surface against the real programs: the worker on the local broker, scraped by the real
Prometheus with the repo's rules, findings routed by the real Alertmanager to a webhook."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from alerts.cases import case_id
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    produce,
    wait_for_metric,
    worker_env,
)
from tests.ops.programs import WebhookRecorder, alertmanager, prometheus, query
from tests.ops.test_dashboard import dashboard_module


def critical(number: int, now: bool = False, importer: str | None = None) -> bytes:
    """Tier-1 chips to Russia: a critical controlled_goods finding."""
    stamp = {"declared_at": datetime.now(UTC).isoformat()} if now else {}
    if importer is not None:
        stamp["importer"] = {"name": importer, "country": "RU"}  # type: ignore[assignment]
    return orjson.dumps(
        declaration_dict(
            declaration_id=f"CRIT-{number:03d}",
            hs_code="8542.31",
            goods_description="Microcontrollers",
            **stamp,
        )
    )


def declaration_case(declaration_id: str) -> str:
    return case_id("declaration", "declaration", declaration_id)


def paged_cases(webhook: WebhookRecorder) -> set[str]:
    return {
        a["labels"].get("case_id")
        for a in webhook.alerts("/pager")
        if a["labels"]["alertname"] == "TradewatchCase"
    }


def delivered_declarations(webhook: WebhookRecorder) -> set[str | None]:
    return {a["annotations"].get("declaration_ids") for a in webhook.alerts("/pager")}


def wait_for(predicate, timeout_s: float, what: str, explain=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}" + (f": {explain()}" if explain else ""))


@pytest.mark.broker
def test_prometheus_alertmanager_and_the_sink(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    # The rules watch the production topic name; this test's topic is its own.
    rules = Path(__file__).resolve().parents[2] / "ops/prometheus/rules/tradewatch.yml"
    assert "customs.declarations" in rules.read_text()

    with WebhookRecorder() as webhook, WorkerProcess(env, tmp_path / "worker.log") as worker:
        manager = alertmanager(tmp_path, webhook)
        manager.start()
        sink_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")},
            **env,
            "TRADEWATCH_ALERTMANAGER_URL": manager.url,
            "TRADEWATCH_ALERTMANAGER_MIN_SEVERITY": "critical",
            "TRADEWATCH_HEARTBEAT_FILE": str(tmp_path / "sink.heartbeat"),
        }
        sink = subprocess.Popen(
            [sys.executable, "-m", "streams", "alertmanager-sink"],
            env=sink_env,
            stdout=(tmp_path / "sink.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        worker_target = worker.metrics_url.removeprefix("http://").removesuffix("/metrics")
        try:
            with prometheus(tmp_path, worker_target, manager.url.removeprefix("http://")) as prom:
                # Prometheus must have seen the alert series at 0 before the first finding.
                zero = (
                    'tradewatch_alerts_total{rule="controlled_goods.restricted_destination"} == 0'
                )
                wait_for(lambda: query(prom.url, zero), 60, "a first scrape of the worker")
                # A mixed feed: ordinary, alerting, invalid (so every panel has something).
                produce(
                    broker_url,
                    topic,
                    [
                        (None, orjson.dumps(declaration_dict(declaration_id=f"OK-{n}")))
                        for n in range(20)
                    ]
                    + [(None, critical(n)) for n in range(3)]
                    + [(None, b"not json")],
                )

                # 2. Critical cases reach the pager through the sink, one alert per case.
                wait_for(
                    lambda: len(paged_cases(webhook)) >= 3,
                    60,
                    "cases at the pager",
                )
                case = next(
                    a
                    for a in webhook.alerts("/pager")
                    if a["labels"]["alertname"] == "TradewatchCase"
                )
                labels = case["labels"]
                assert labels["severity"] == "critical" and labels["source"] == "tradewatch"
                assert labels["subject_kind"] == "declaration"
                assert labels["case_id"] in {declaration_case(f"CRIT-{n:03d}") for n in range(3)}
                annotations = case["annotations"]
                assert "controlled_goods.restricted_destination" in annotations["rules"]
                assert "controlled_goods" in annotations["categories"]
                assert "CHPL tier 1" in annotations["summary"]
                assert annotations["declaration_ids"].startswith("CRIT-")

                # 3. A supervisor finds one benign and suppresses what would repeat it (a critical
                # controlled-goods finding: a supervisor's call); once the case reviews have put
                # it in force, the next such shipment is silenced (counted, no case) and the
                # precision panel shows it.
                first = declaration_case("CRIT-000")
                benign = ["--benign", "--reason", "licensed", "--suppress-days", "30"]
                decided = subprocess.run(
                    [sys.executable, "-m", "streams", "feedback", first, *benign],
                    env={**sink_env, "TRADEWATCH_ROLE": "supervisor"},
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert decided.returncode == 0, decided.stderr
                wait_for_metric(worker.metrics_url, "tradewatch_suppressions", 1)
                produce(broker_url, topic, [(None, critical(3, now=True))])
                precision = dashboard_module().PRECISION
                rule = "controlled_goods.restricted_destination"
                wait_for(
                    lambda: any(
                        r["metric"].get("rule") == rule and float(r["value"][1]) == 0.0
                        for r in query(prom.url, precision)
                    ),
                    90,
                    "the benign decision on the precision panel",
                    lambda: query(prom.url, "tradewatch_case_decisions_total > 0"),
                )

                # 1. Every dashboard query returns data from the real Prometheus.
                for promql in dashboard_module().queries():
                    wait_for(lambda q=promql: query(prom.url, q), 90, f"data for {promql}")
                assert declaration_case("CRIT-003") not in paged_cases(webhook)

                # ... and through Prometheus' rule.
                wait_for(
                    lambda: any(
                        a["labels"]["alertname"] == "TradewatchCriticalFinding"
                        for a in webhook.alerts("/pager")
                    ),
                    90,
                    "the Prometheus rule",
                    lambda: (
                        query(prom.url, "ALERTS"),
                        query(prom.url, 'tradewatch_alerts_total{severity="critical"} > 0'),
                        [(p, a["labels"]["alertname"]) for p, a in webhook.received],
                    ),
                )
                rule_alert = next(
                    a
                    for a in webhook.alerts("/pager")
                    if a["labels"]["alertname"] == "TradewatchCriticalFinding"
                )
                assert rule_alert["labels"]["team"] == "compliance"
                assert rule_alert["labels"]["rule"] == "controlled_goods.restricted_destination"

                # 3. Alertmanager down: findings wait in Kafka, and all arrive once it is back
                # (to another importer: the suppression above holds for the first one's).
                manager.stop()
                produce(
                    broker_url,
                    topic,
                    [(None, critical(n, importer="OOO Drugoi Import")) for n in range(100, 110)],
                )
                time.sleep(8)  # the sink retries against a closed port meanwhile
                manager.start()
                wanted = {f"CRIT-{n:03d}" for n in range(100, 110)}
                wait_for(
                    lambda: wanted <= delivered_declarations(webhook),
                    90,
                    "every finding sent while Alertmanager was down",
                )
                # 4. Its loop turns again: compose's health check passes.
                alive = subprocess.run(
                    [sys.executable, "-m", "streams", "heartbeat", "--within", "15"],
                    env=sink_env, capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                assert alive.returncode == 0, alive.stderr
        finally:
            sink.terminate()
            sink.wait(timeout=30)
            manager.stop()
    sink_log = (tmp_path / "sink.log").read_text(errors="replace")
    assert "retrying" in sink_log, "the sink should have retried while Alertmanager was down"
