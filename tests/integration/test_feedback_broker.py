"""Analyst feedback through the real broker: the seed rifles make one case; a benign decision
with a suppression, sent by the CLI, silences the next shipment between the same parties (its
findings still published, marked); a decision sent before its case is counted when the case
appears; the decision metrics show both."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from alerts.cases import CaseScoring, case_id
from alerts.reference import ReferenceData
from schemas.alert import Alert
from schemas.case import Case
from schemas.feedback import Feedback
from tests.alerts.rules.helpers import party
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    metric,
    metric_sum,
    produce,
    scrape,
    wait_for_metric,
    worker_env,
)
from tests.integration.test_cli_broker import run_cli

SCORING = CaseScoring.load(ReferenceData.load())


def rifles(declaration_id: str, importer: str = "OOO Okhotnik") -> tuple[bytes, bytes]:
    value = declaration_dict(
        declaration_id=declaration_id,
        declared_at=datetime.now(UTC).isoformat(),
        hs_code="9303.20",
        goods_description="Карабины охотничьи CQ-A калибр 5,56 мм",
        exporter=party("China North Industries Corporation", "CN"),
        importer=party(importer, "RU"),
        dispatch_country="KZ",
    )
    return declaration_id.encode(), orjson.dumps(value)


def declaration_case_id(declaration_id: str) -> str:
    return case_id("declaration", "declaration", declaration_id)


def cases_by_id(broker_url: str, topic: str, until) -> dict[str, Case]:  # type: ignore[no-untyped-def]
    records = consume(broker_url, topic, until=until, timeout_s=60)
    latest: dict[str, Case] = {}
    for record in records:
        case = Case.model_validate_json(record.value)
        latest[case.case_id] = case
    return latest


@pytest.mark.broker
def test_a_benign_decision_silences_the_next_matching_finding(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    cases_topic = env["TRADEWATCH_TOPIC_CASES"]
    first = declaration_case_id("RIFLES-1")
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        # 1. The seed rifles: one case holding every finding, scored above any one of them.
        produce(broker_url, topic, [rifles("RIFLES-1")])
        cases = cases_by_id(broker_url, cases_topic, lambda rs: len(rs) >= 1)
        rifles_case = cases[first]
        assert len(rifles_case.categories) >= 3
        strongest = max(SCORING.weight(f.category, f.severity) for f in rifles_case.findings)
        assert rifles_case.risk_score > strongest

        # 2. An analyst finds it benign (a licensed importer) and suppresses it for 90 days.
        # (90 days over critical listed-party findings: a supervisor's decision.)
        supervisor = env | {"TRADEWATCH_ANALYST": "sue", "TRADEWATCH_ROLE": "supervisor"}
        done = run_cli(
            supervisor, "feedback", first, "--benign", "--reason", "licensed",
            "--suppress-days", "90",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        benign = Feedback.model_validate_json(done.stdout)
        assert benign.suppression is not None
        assert set(benign.suppression.rule_ids) == {f.rule_id for f in rifles_case.findings}
        assert benign.suppression.match == rifles_case.scope

        # 3. A decision on a case that does not exist yet (--force: it is meant), then that
        # case's shipment.
        later = declaration_case_id("RIFLES-3")
        refused = run_cli(env, "feedback", later, "--confirmed", "--reason", "seen at the border")
        assert refused.returncode == 1 and "is not on" in refused.stderr, refused.stderr
        early = run_cli(
            env, "feedback", later, "--confirmed", "--reason", "seen at the border", "--force"
        )
        assert early.returncode == 0, early.stderr
        wait_for_metric(worker.metrics_url, "tradewatch_suppressions", 1)

        # 4. The same parties again: every finding published, marked; no case, no page.
        produce(broker_url, topic, [rifles("RIFLES-2"), rifles("RIFLES-3", importer="OOO Strelok")])
        findings = len(rifles_case.findings)
        for name, labels in (
            ("tradewatch_suppressed_findings_total", {}),
            ("tradewatch_case_decisions_total", {"decision": "confirmed"}),
        ):
            rule = rifles_case.findings[0].rule_id
            wait_for_metric(worker.metrics_url, name, 1, rule=rule, **labels)
        samples = scrape(worker.metrics_url)
        alerts = [
            Alert.model_validate_json(r.value)
            for r in consume(
                broker_url,
                env["TRADEWATCH_TOPIC_ALERTS"],
                until=lambda rs: len(rs) >= 3 * findings,
            )
        ]
        cases = cases_by_id(broker_url, cases_topic, lambda rs: len(rs) >= 2)
        assert worker.stop() == 0, worker.log_tail()

    second = [a for a in alerts if a.declaration_ids == ["RIFLES-2"]]
    assert len(second) == findings
    assert {a.suppressed_by for a in second} == {benign.feedback_id}
    third = [a for a in alerts if a.declaration_ids == ["RIFLES-3"]]
    assert third and all(a.suppressed_by is None for a in third)
    assert sorted(cases) == sorted([first, later])  # RIFLES-2 opened no case
    for finding in rifles_case.findings:
        rule = finding.rule_id
        assert metric_sum(samples, "tradewatch_suppressed_findings_total", rule=rule) >= 1
        assert metric(samples, "tradewatch_case_decisions_total", rule=rule, decision="benign") == 1
    for finding in cases[later].findings:  # the early decision, counted once its case came
        labels = {"rule": finding.rule_id, "decision": "confirmed"}
        assert metric(samples, "tradewatch_case_decisions_total", **labels) == 1
    assert metric(samples, "tradewatch_feedback_records_total", outcome="applied") == 2


@pytest.mark.broker
def test_the_cli_refuses_a_suppression_of_an_unknown_case(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    subprocess.run(
        [sys.executable, "-m", "streams", "topics"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )
    done = run_cli(env, "feedback", "f" * 32, "--benign", "--reason", "x", "--suppress-days", "30")
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if "error" in line]
    assert "is not on" in error and "f" * 32 in error
    wrong = run_cli(
        env, "feedback", "f" * 32, "--confirmed", "--reason", "x", "--suppress-days", "3"
    )
    assert wrong.returncode == 2 and "--suppress-days goes with" in wrong.stderr
