"""Event-time windows through the real broker: out-of-order replay, a second replay, recovery."""

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.case import Case
from tests.integration.kafka_helpers import (
    WorkerProcess,
    changelog_states,
    consume,
    create_topic,
    metric,
    offline_alerts,
    offline_buckets,
    offline_run,
    produce,
    scrape,
    wait_until_drained,
    worker_env,
)
from tests.integration.scenarios import shuffle_within, window_scenario

GRACE = timedelta(hours=6)


def expected(messages: list[bytes], topic: str, tmp_path: Path) -> dict[str, object]:
    return offline_alerts(messages, topic_partitions=1)


@pytest.mark.broker
def test_out_of_order_replay_gives_the_offline_alerts_twice(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    messages = shuffle_within(window_scenario(), GRACE - timedelta(hours=1))
    first = worker_env(broker_url, f"{unique_name}a", tmp_path / "a")
    topic = first["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)  # one partition: the permutation is exactly this one
    produce(broker_url, topic, [(None, m) for m in messages])
    wanted = expected(messages, topic, tmp_path)
    rules = {a.rule_id for a in wanted.values()}  # type: ignore[attr-defined]
    assert {"volume_anomaly.window", "split_shipments.window", "value_anomaly.unit_value"} <= rules

    # The live run, then a replay of the same topic by a new consumer group.
    second = {
        **worker_env(broker_url, f"{unique_name}b", tmp_path / "b"),
        "TRADEWATCH_TOPIC_DECLARATIONS": topic,
    }
    found = []
    for env in (first, second):
        with WorkerProcess(env, tmp_path / f"{env['TRADEWATCH_APP_ID']}.log") as worker:
            wait_until_drained(worker, len(messages))
        records = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_ALERTS"],
            until=lambda r: len({x.key for x in r}) >= len(wanted),
        )
        found.append({r.key.decode() for r in records})
    assert found[0] == set(wanted)
    assert found[1] == found[0]


@pytest.mark.broker
def test_kill_and_restart_keeps_window_counts_and_loses_no_alert(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    scenario = window_scenario(seed=5, background_per_day=60, days=24)
    messages = shuffle_within(scenario, GRACE - timedelta(hours=1))
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)
    # Half the stream before the kill, the rest after: a worker drains the whole of it in
    # about a second, faster than the metrics can be read.
    half = len(messages) // 2
    produce(broker_url, topic, [(None, m) for m in messages[:half]])

    wanted, offline = offline_run(messages, topic_partitions=1)

    with WorkerProcess(env, tmp_path / "first.log") as worker:
        deadline = time.monotonic() + 60
        screened = 0.0
        while time.monotonic() < deadline:
            samples = scrape(worker.metrics_url)
            screened = metric(samples, "tradewatch_declarations_total", outcome="ok")
            if screened >= len(messages) // 3:
                break
            time.sleep(0.05)
        assert worker.process is not None
        worker.process.kill()  # SIGKILL: no flush, no commit
        worker.process.wait(timeout=10)
    assert len(messages) // 3 <= screened < len(messages), "the kill must land mid-stream"
    produce(broker_url, topic, [(None, m) for m in messages[half:]])

    with WorkerProcess(env, tmp_path / "second.log") as worker:
        deadline = time.monotonic() + 90
        while True:
            states = changelog_states(broker_url, env["TRADEWATCH_APP_ID"])
            counts = {k: s.buckets for k, s in states.items()}
            want = offline_buckets(offline)
            if counts == want or time.monotonic() > deadline:
                break
            time.sleep(1)
        resumed = scrape(worker.metrics_url)
    # The restarted worker picked up where the commit was, not where the kill was.
    assert metric(resumed, "tradewatch_declarations_total", outcome="ok") > 0
    assert counts == want, "window counts differ from a run without the crash"
    records = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda r: {x.key.decode() for x in r} >= set(wanted),
    )
    assert {r.key.decode() for r in records} == set(wanted)
    # The window cases end as a run without the crash ends them: same ids, same last versions
    # with the same findings, although the kill landed while they were being built.
    want_cases = {c.case_id: c for c in offline.cases}
    assert want_cases, "the scenario gives window cases"

    def final(records: list[Any]) -> dict[str, Case]:
        last: dict[str, Case] = {}
        for record in records:
            case = Case.model_validate_json(record.value)
            if case.case_id in want_cases and (
                case.case_id not in last or case.version >= last[case.case_id].version
            ):
                last[case.case_id] = case
        return last

    cases = final(
        consume(
            broker_url,
            env["TRADEWATCH_TOPIC_CASES"],
            until=lambda r: (
                {k: c.version for k, c in final(r).items()}
                == {k: c.version for k, c in want_cases.items()}
            ),
        )
    )
    assert sorted(cases) == sorted(want_cases)
    for case_id, case in cases.items():
        assert [f.alert_id for f in case.findings] == [
            f.alert_id for f in want_cases[case_id].findings
        ], (
            case_id,
            [(f.rule_id, f.window, f.alert_id) for f in case.findings],
            [(f.rule_id, f.window, f.alert_id) for f in want_cases[case_id].findings],
        )
        assert case.risk_score == want_cases[case_id].risk_score
