"""The control plane against the real broker and worker, tried as a careless or hostile
insider would: records that used to put every worker into a crash loop, versions that would
silence a class of findings or flood the desk, and what taking a change back does.

Each attack ends the same way: the change is held or refused with one line, nothing is
silenced, and the worker is alive (and starts again on the same topic)."""

import hashlib
import json
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from alerts.reference import DEFAULT_REFERENCE_DIR
from schemas.alert import Alert
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

RIFLES_TEXT = "Карабины охотничьи CQ-A калибр 5,56 мм"


def rifles_to_ru(declaration_id: str) -> tuple[bytes, bytes]:
    value = declaration_dict(
        declaration_id=declaration_id,
        declared_at=datetime.now(UTC).isoformat(),
        hs_code="9303.20",
        goods_description=RIFLES_TEXT,
        exporter=party("Hunan Sporting Goods Export Co", "CN"),
        importer=party("OOO Okhotnik", "RU"),
        destination_country="RU",
    )
    return declaration_id.encode(), orjson.dumps(value)


def edited(name: str, version: str, keep=lambda record: True, add=()) -> bytes:  # type: ignore[no-untyped-def]
    lines = (DEFAULT_REFERENCE_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) | {"version": version}
    kept = [line for line in lines[1:] if line.strip() and keep(json.loads(line))]
    added = [json.dumps(record, ensure_ascii=False) for record in add]
    return "\n".join([json.dumps(header, ensure_ascii=False), *kept, *added]).encode() + b"\n"


def rules_for(broker_url: str, env: dict[str, str], declaration_id: str) -> set[str]:
    records = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda rs: any(declaration_id.encode() in r.value for r in rs),
        settle_s=3,
    )
    alerts = [Alert.model_validate_json(r.value) for r in records]
    return {a.rule_id for a in alerts if declaration_id in a.declaration_ids}


def in_use(url: str, name: str, version: str) -> bool:
    labels = {"file": f"{name}@{version}", "file_name": name, "file_version": version}
    return metric(scrape(url), "tradewatch_reference_data_info", **labels) == 1


def wait_in_use(worker: WorkerProcess, name: str, version: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not in_use(worker.metrics_url, name, version):
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.3)


def bomb_records(name: str, version: str) -> list[tuple[bytes, bytes]]:
    """A chunk that inflates to 256 MB under a manifest that names 2 KB."""
    blob = zlib.compress(b"\0" * (256 * 1024 * 1024), 9)
    sha = hashlib.sha256(blob).hexdigest()
    base = f"{name}@{version}#{sha[:16]}"
    head = json.dumps({"type": "chunk", "name": name, "version": version, "index": 0})
    manifest = {
        "type": "manifest", "kind": "watchlist", "name": name, "version": version,
        "sha256": sha, "size": 2048, "published_at": datetime.now(UTC).isoformat(),
        "chunks": [{"index": 0, "sha256": sha, "bytes": len(blob)}], "published_by": "mallory",
    }  # fmt: skip
    return [
        (f"{base}/0".encode(), head.encode() + b"\n" + blob),
        (base.encode(), json.dumps(manifest).encode()),
    ]


def peak_rss_mb(worker: WorkerProcess) -> float:
    assert worker.process is not None
    status = Path(f"/proc/{worker.process.pid}/status").read_text()
    [line] = [x for x in status.splitlines() if x.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


@pytest.mark.broker
def test_reference_records_that_crashed_every_worker_are_refused_and_it_starts_again(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(
        broker_url, unique_name, tmp_path / "state",
        TRADEWATCH_REFERENCE_CHUNK_TIMEOUT_SECONDS="2",
    )  # fmt: skip
    topic = env["TRADEWATCH_TOPIC_REFERENCE"]
    assert run_cli(env, "topics").returncode == 0
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_for_metric(worker.metrics_url, "tradewatch_reference_pending_versions", 0)
        before = peak_rss_mb(worker)
        # 1. A zlib bomb: refused by its size, never inflated.
        produce(broker_url, topic, bomb_records("watchlist_default", "2099.1.1"))
        # 2. Two valid manifests in one poll, one with a time without its offset.
        naive = tmp_path / "naive.jsonl"
        naive.write_bytes(edited("uav", "2099.1.1"))
        good = tmp_path / "good.jsonl"
        good.write_bytes(edited("hs_groups", "2099.1.1"))
        from streams.reference_topic import encode_file

        now = datetime.now(UTC)
        naive_records = encode_file("lexicon", "uav", "2099.1.1", naive.read_bytes(), now)
        key, value = naive_records[-1]
        document = json.loads(value) | {"published_at": "2026-12-01T10:00:00"}
        naive_records[-1] = (key, json.dumps(document).encode())
        good_records = encode_file("hs_groups", "hs_groups", "2099.1.1", good.read_bytes(), now)
        # 3. A manifest whose chunk never arrives.
        lost = encode_file("lexicon", "end_use", "2099.1.1", edited("end_use", "2099.1.1"), now)
        produce(broker_url, topic, [*naive_records, *good_records, lost[-1]])
        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_reference_updates_total", 1, outcome="incomplete"
        )
        wait_in_use(worker, "hs_groups", "2099.1.1")
        assert metric(samples, "tradewatch_control_records_refused_total",
                      topic="reference", reason="decompress") == 1  # fmt: skip
        assert metric(samples, "tradewatch_control_records_refused_total",
                      topic="reference", reason="invalid") >= 1  # fmt: skip
        assert in_use(worker.metrics_url, "uav", "2026.11.2")
        assert peak_rss_mb(worker) - before < 100, (before, peak_rss_mb(worker))
        assert worker.process is not None and worker.process.poll() is None
        assert worker.stop() == 0, worker.log_tail()
    log = (tmp_path / "worker.log").read_text()
    assert "decompresses past the 2,048 bytes its manifest names" in log
    assert "end_use@2099.1.1: chunks [0] of 1 have not arrived in 2 s" in log
    # Every start reads the same records and comes up: no crash loop.
    with WorkerProcess(env, tmp_path / "again.log") as worker:
        wait_in_use(worker, "hs_groups", "2099.1.1")
        assert worker.stop() == 0, worker.log_tail()
    # The topic lost (deleted, made anew): the worker says it screens with an older version.
    from kafka import KafkaAdminClient

    from tests.integration.kafka_helpers import bootstrap

    admin = KafkaAdminClient(bootstrap_servers=bootstrap(broker_url))
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()
    time.sleep(2)
    with WorkerProcess(env, tmp_path / "lost.log") as worker:
        samples = wait_for_metric(worker.metrics_url, "tradewatch_reference_versions_missing", 1)
        assert metric(samples, "tradewatch_reference_versions_missing") == 1
        assert in_use(worker.metrics_url, "hs_groups", "2026.11.3")
        assert worker.stop() == 0, worker.log_tail()
    assert "hs_groups@2099.1.1 (in use: hs_groups@2026.11.3)" in (tmp_path / "lost.log").read_text()


@pytest.mark.broker
def test_a_change_that_would_silence_or_flood_is_held_until_another_person_approves(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    alice = env | {"TRADEWATCH_ANALYST": "alice"}
    bob = env | {"TRADEWATCH_ANALYST": "bob"}
    declarations = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        # RU and BY off the restricted destinations: held, and the rifles still alert.
        open_borders = tmp_path / "destinations.jsonl"
        open_borders.write_bytes(
            edited(
                "destinations", "2026.12.1",
                keep=lambda r: r["country"] not in ("RU", "BY"),
                add=[{"list": "restricted_destinations", "country": "KP", "note": "only"}],
            )
        )  # fmt: skip
        held = run_cli(alice, "reference", "publish", str(open_borders))
        assert held.returncode == 0, held.stderr
        [line] = [x for x in held.stderr.splitlines() if "held" in x]
        assert "destinations@2026.12.1 is held, not applied: removes BY" in line, line
        assert "tradewatch reference approve destinations 2026.12.1" in line
        wait_for_metric(worker.metrics_url, "tradewatch_reference_held_versions", 1)
        produce(broker_url, declarations, [rifles_to_ru("RIFLES-HELD")])
        assert "controlled_goods.restricted_destination" in rules_for(
            broker_url, env, "RIFLES-HELD"
        )
        # "Alfa" as a listed name: held, it would match many ordinary companies.
        alfa = tmp_path / "watchlist_default.jsonl"
        alfa.write_bytes(
            edited("watchlist_default", "2026.12.1",
                   add=[{"id": "tw-alfa", "name": "Alfa", "program": "test"}])
        )  # fmt: skip
        flood = run_cli(alice, "reference", "publish", str(alfa))
        assert flood.returncode == 0 and "entry tw-alfa matches" in flood.stderr, flood.stderr
        # A lower version than the one in use: refused by the CLI, nothing sent.
        old = tmp_path / "old" / "watchlist_default.jsonl"
        old.parent.mkdir()
        old.write_bytes(edited("watchlist_default", "1999.1.1"))
        refused = run_cli(alice, "reference", "publish", str(old))
        assert refused.returncode == 1
        [line] = [x for x in refused.stderr.splitlines() if "error" in x]
        assert "not newer than watchlist_default@2026.11.1" in line, line
        # Approving one's own change is refused; another person's approval applies it.
        mine = run_cli(alice, "reference", "approve", "destinations", "2026.12.1")
        assert mine.returncode == 1 and "another person must approve it" in mine.stderr
        approved = run_cli(bob, "reference", "approve", "destinations", "2026.12.1")
        assert approved.returncode == 0, approved.stderr
        wait_in_use(worker, "destinations", "2026.12.1")
        produce(broker_url, declarations, [rifles_to_ru("RIFLES-APPROVED")])
        assert "controlled_goods.restricted_destination" not in rules_for(
            broker_url, env, "RIFLES-APPROVED"
        )
        # Taken back: a rollback to the shipped version. It takes KP off again, so it too
        # waits for a second person.
        back = run_cli(bob, "reference", "rollback", "destinations", "2026.11.2")
        assert back.returncode == 0 and "removes KP" in back.stderr, back.stderr
        assert run_cli(alice, "reference", "approve", "destinations", "2026.11.2").returncode == 0
        wait_in_use(worker, "destinations", "2026.11.2")
        produce(broker_url, declarations, [rifles_to_ru("RIFLES-ROLLED-BACK")])
        assert "controlled_goods.restricted_destination" in rules_for(
            broker_url, env, "RIFLES-ROLLED-BACK"
        )
        # Two contents under one label: the second is refused by the CLI.
        other = tmp_path / "other" / "destinations.jsonl"
        other.parent.mkdir()
        other.write_bytes(edited("destinations", "2026.12.1", keep=lambda r: r["country"] != "AE"))
        twice = run_cli(alice, "reference", "publish", str(other))
        assert twice.returncode == 1 and "published before with other content" in twice.stderr
        status = run_cli(env, "reference", "status")
        assert status.returncode == 0, status.stderr
        assert "in use  destinations@2026.11.2 published by bob" in status.stdout
        assert "held    watchlist_default@2026.12.1 by alice: entry tw-alfa" in status.stdout
        # The worker says the same of itself, on /readyz and through `tradewatch status`.
        worker_status = run_cli(env, "status")
        assert worker_status.returncode == 0, worker_status.stderr
        assert "ready: yes" in worker_status.stdout
        assert "reference destinations@2026.11.2 (published by bob)" in worker_status.stdout
        assert "held      watchlist_default@2026.12.1: entry tw-alfa" in worker_status.stdout
        samples = scrape(worker.metrics_url)
        assert worker.stop() == 0, worker.log_tail()
    assert metric(samples, "tradewatch_reference_held_versions") == 1  # Alfa, still held
    log = (tmp_path / "worker.log").read_text()
    assert "reference change held: file=watchlist_default@2026.12.1" in log
    assert "reference change applied: file=destinations@2026.12.1" in log
    assert "by=alice (approved by bob)" in log
    # A restart replays the topic to the same state.
    with WorkerProcess(env, tmp_path / "again.log") as worker:
        wait_in_use(worker, "destinations", "2026.11.2")
        samples = wait_for_metric(worker.metrics_url, "tradewatch_reference_held_versions", 1)
        assert in_use(worker.metrics_url, "watchlist_default", "2026.11.1")
        assert worker.stop() == 0, worker.log_tail()


def raw_decision(case_id: str, feedback_id: str, **fields: object) -> tuple[bytes, bytes]:
    document = {
        "feedback_id": feedback_id, "case_id": case_id, "decision": "escalate",
        "reason": "checked", "analyst": "mallory", "decided_at": datetime.now(UTC).isoformat(),
    } | fields  # fmt: skip
    return case_id.encode(), json.dumps(document).encode()


def rifles_from(
    declaration_id: str, exporter: str, importer: str = "OOO Okhotnik"
) -> tuple[bytes, bytes]:
    value = declaration_dict(
        declaration_id=declaration_id,
        declared_at=datetime.now(UTC).isoformat(),
        hs_code="9303.20",
        goods_description=RIFLES_TEXT,
        exporter=party(exporter, "CN"),
        importer=party(importer, "RU"),
        destination_country="RU",
    )
    return declaration_id.encode(), orjson.dumps(value)


def case_ids(broker_url: str, env: dict[str, str], until) -> set[str]:  # type: ignore[no-untyped-def]
    records = consume(broker_url, env["TRADEWATCH_TOPIC_CASES"], until=until, settle_s=3)
    return {json.loads(r.value)["case_id"] for r in records}


@pytest.mark.broker
def test_decisions_that_crashed_or_silenced_are_bounded_and_refused(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    from alerts.cases import case_id

    env = worker_env(broker_url, unique_name, tmp_path / "state")
    declarations = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    feedback = env["TRADEWATCH_TOPIC_FEEDBACK"]
    first = case_id("declaration", "declaration", "RIFLES-1")
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        produce(broker_url, declarations, [rifles_from("RIFLES-1", "Hunan Arms Export")])
        case_ids(broker_url, env, lambda rs: any(first.encode() in r.value for r in rs))
        # Two decisions with a long list of rule ids each (675 KB): refused, nothing stored.
        rules = [f"rule.r{n:06d}" for n in range(50_000)]
        suppression = {"rule_ids": rules, "match": {"importer": "ooo okhotnik"},
                       "starts_at": "2026-01-01T00:00:00Z",
                       "expires_at": "2026-12-31T00:00:00Z"}  # fmt: skip
        huge = [raw_decision(first, f"huge-{n}", decision="benign", suppression=suppression)
                for n in range(2)]  # fmt: skip
        assert all(len(value) > 600_000 for _, value in huge)
        produce(broker_url, feedback, huge)
        # 700 escalations with long reasons: 64 kept, the rest refused; the review stays small.
        produce(broker_url, feedback, [
            raw_decision(first, f"esc-{n}", reason="x" * 2000) for n in range(700)
        ])  # fmt: skip
        # A key given twice: refused (a parser would keep the second).
        key, value = raw_decision(first, "twice", decision="benign")
        produce(broker_url, feedback, [(key, value[:-1] + b', "decision": "confirmed"}')])
        # A benign decision on a case that does not exist, all rules, scoped on the importer.
        everything = {"rule_ids": ["category_mismatch.military_firearm",
                                   "controlled_goods.restricted_destination",
                                   "restricted_party.watchlist"],
                      "match": {"importer": "ooo okhotnik"},
                      "starts_at": datetime.now(UTC).isoformat(),
                      "expires_at": "2027-06-01T00:00:00Z"}  # fmt: skip
        produce(broker_url, feedback, [
            raw_decision("0" * 32, "ghost", decision="benign", suppression=everything,
                         role="supervisor")
        ])  # fmt: skip
        # 50 benign decisions under 50 names on the real case.
        produce(broker_url, feedback, [
            raw_decision(first, f"benign-{n}", decision="benign", analyst=f"a{n}")
            for n in range(50)
        ])  # fmt: skip
        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_control_records_refused_total", 2,
            topic="feedback", reason="too_large",
        )  # fmt: skip
        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_control_records_refused_total", 700 + 50 - 64,
            topic="feedback", reason="too_many",
        )  # fmt: skip
        # The rifles again, from another exporter to that importer: a case, no suppression.
        produce(broker_url, declarations, [rifles_from("RIFLES-2", "Other Arms Export")])
        second = case_id("declaration", "declaration", "RIFLES-2")
        assert second in case_ids(
            broker_url, env, lambda rs: any(second.encode() in r.value for r in rs)
        )
        samples = scrape(worker.metrics_url)
        assert worker.process is not None and worker.process.poll() is None
        assert worker.stop() == 0, worker.log_tail()
    assert metric(samples, "tradewatch_control_records_refused_total",
                  topic="feedback", reason="duplicate_key") == 1  # fmt: skip
    assert metric(samples, "tradewatch_suppressions") == 0
    assert metric_sum(samples, "tradewatch_suppressed_findings_total",
                  rule="restricted_party.watchlist") == 0  # fmt: skip
    rule = "category_mismatch.military_firearm"
    assert metric(samples, "tradewatch_case_decisions_total", rule=rule, decision="escalate") == 1
    # Every restart reads the same records and comes up.
    with WorkerProcess(env, tmp_path / "again.log") as worker:
        produce(broker_url, declarations, [rifles_from("RIFLES-3", "Third Arms Export")])
        third = case_id("declaration", "declaration", "RIFLES-3")
        assert third in case_ids(
            broker_url, env, lambda rs: any(third.encode() in r.value for r in rs)
        )
        assert worker.stop() == 0, worker.log_tail()


@pytest.mark.broker
def test_a_suppression_is_taken_back_and_losing_the_decisions_fails_closed(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    from kafka import KafkaAdminClient

    from alerts.cases import case_id
    from tests.integration.kafka_helpers import bootstrap

    env = worker_env(broker_url, unique_name, tmp_path / "state")
    sue = env | {"TRADEWATCH_ANALYST": "sue", "TRADEWATCH_ROLE": "supervisor"}
    declarations = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    shipment = 0

    def ship() -> str:
        nonlocal shipment
        shipment += 1
        produce(broker_url, declarations, [rifles_from(f"R-{shipment}", "Hunan Arms Export")])
        return case_id("declaration", "declaration", f"R-{shipment}")

    def opened(case: str) -> bool:
        return case in case_ids(
            broker_url, env, lambda rs: any(case.encode() in r.value for r in rs)
        )

    def suppressions(worker: WorkerProcess, count: int) -> None:
        deadline = time.monotonic() + 60
        while metric(scrape(worker.metrics_url), "tradewatch_suppressions") != count:
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.3)

    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        first = ship()
        assert opened(first)
        done = run_cli(sue, "feedback", first, "--benign", "--reason", "licensed",
                       "--suppress-days", "20")  # fmt: skip
        assert done.returncode == 0, done.stderr
        decided = json.loads(done.stdout)["feedback_id"]
        suppressions(worker, 1)
        silenced = ship()
        time.sleep(3)
        assert not opened(silenced)
        # Taken back by a revoke: the next shipment opens its case again.
        revoked = run_cli(env, "feedback", "revoke", decided, "--reason", "wrong case")
        assert revoked.returncode == 0, revoked.stderr
        suppressions(worker, 0)
        assert opened(ship())
        # Decided again, then the case confirmed: the confirmation takes it back too.
        again = run_cli(sue, "feedback", first, "--benign", "--reason", "licensed after all",
                        "--suppress-days", "20")  # fmt: skip
        assert again.returncode == 0, again.stderr
        suppressions(worker, 1)
        confirmed = run_cli(env, "feedback", first, "--confirmed", "--reason", "seen in court")
        assert confirmed.returncode == 0, confirmed.stderr
        suppressions(worker, 0)
        # Decided once more, then the decisions topic is lost.
        third = run_cli(sue, "feedback", first, "--benign", "--reason", "third time",
                        "--suppress-days", "20")  # fmt: skip
        assert third.returncode == 0, third.stderr
        suppressions(worker, 1)
        assert worker.stop() == 0, worker.log_tail()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(broker_url))
    try:
        admin.delete_topics([f"{unique_name}-decisions"])
    finally:
        admin.close()
    time.sleep(2)
    with WorkerProcess(env, tmp_path / "again.log") as worker:
        samples = wait_for_metric(worker.metrics_url, "tradewatch_suppressions_failed_closed", 1)
        assert metric(samples, "tradewatch_suppressions") == 0
        assert opened(ship())  # nothing suppressed: every finding opens its case
        assert worker.stop() == 0, worker.log_tail()
    assert (
        "suppressing nothing, every finding opens its case" in (tmp_path / "again.log").read_text()
    )
