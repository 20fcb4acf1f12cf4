"""The ops surface against the real programs: the worker on the local broker, scraped by the real
Prometheus with the repo's rules, findings routed by the real Alertmanager to a webhook."""

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import WorkerProcess, produce, worker_env
from tests.ops.programs import WebhookRecorder, alertmanager, prometheus, query
from tests.ops.test_dashboard import dashboard_module


def critical(number: int) -> bytes:
    """Tier-1 chips to Russia: a critical controlled_goods finding."""
    return orjson.dumps(
        declaration_dict(
            declaration_id=f"CRIT-{number:03d}",
            hs_code="8542.31",
            goods_description="Microcontrollers",
        )
    )


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

                # 1. Every dashboard query returns data from the real Prometheus.
                for promql in dashboard_module().queries():
                    wait_for(lambda q=promql: query(prom.url, q), 90, f"data for {promql}")

                # 2. Critical findings reach the pager through the sink, with the labels.
                wait_for(
                    lambda: (
                        len(
                            {
                                a["labels"].get("alert_id")
                                for a in webhook.alerts("/pager")
                                if a["labels"]["alertname"] == "TradewatchFinding"
                            }
                        )
                        >= 3
                    ),
                    60,
                    "findings at the pager",
                )
                finding = next(
                    a
                    for a in webhook.alerts("/pager")
                    if a["labels"]["alertname"] == "TradewatchFinding"
                )
                labels = finding["labels"]
                assert labels["severity"] == "critical" and labels["source"] == "tradewatch"
                assert labels["rule"] == "controlled_goods.restricted_destination"
                assert labels["category"] == "controlled_goods"
                assert labels["subject_kind"] == "declaration"
                assert "CHPL tier 1" in finding["annotations"]["summary"]
                assert finding["annotations"]["declaration_ids"].startswith("CRIT-")

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

                # 3. Alertmanager down: findings wait in Kafka, and all arrive once it is back.
                manager.stop()
                produce(broker_url, topic, [(None, critical(n)) for n in range(100, 110)])
                time.sleep(8)  # the sink retries against a closed port meanwhile
                manager.start()
                wanted = {f"CRIT-{n:03d}" for n in range(100, 110)}
                wait_for(
                    lambda: wanted <= delivered_declarations(webhook),
                    90,
                    "every finding sent while Alertmanager was down",
                )
        finally:
            sink.terminate()
            sink.wait(timeout=30)
            manager.stop()
    sink_log = (tmp_path / "sink.log").read_text(errors="replace")
    assert "retrying" in sink_log, "the sink should have retried while Alertmanager was down"
