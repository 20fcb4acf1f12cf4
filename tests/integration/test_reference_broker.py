"""Reference data that changes while the worker runs, through the real broker: a worker
screening a steady feed picks up a new watchlist version from the reference topic without a
restart and alerts on the newly listed party's next declaration; a corrupt record leaves it on
the version in use, with the failure counted; a broken file is refused before anything is sent."""

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.alert import Alert
from schemas.case import Case
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    metric,
    produce,
    scrape,
    wait_for_metric,
    worker_env,
)
from tests.integration.test_cli_broker import run_cli
from tests.streams.test_reference_stream import new_watchlist

LISTED = "OOO Novyi Zavod Priborov"


def declaration(declaration_id: str, importer: str = "OOO Obychnyi Import") -> tuple[None, bytes]:
    value = declaration_dict(
        declaration_id=declaration_id,
        declared_at=datetime.now(UTC).isoformat(),
        importer={"name": importer, "country": "RU"},
        hs_code="8471.30",
        goods_description="Laptops",
    )
    return None, orjson.dumps(value)


def in_use(samples: dict, version: str) -> bool:  # type: ignore[type-arg]
    labels = {
        "file": f"watchlist_default@{version}",
        "file_name": "watchlist_default",
        "file_version": version,
    }
    return metric(samples, "tradewatch_reference_data_info", **labels) == 1


@pytest.mark.broker
def test_a_new_watchlist_version_is_picked_up_live_and_a_corrupt_record_changes_nothing(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    stop = threading.Event()
    sent = [0]

    def steady_feed() -> None:  # an ordinary declaration every 50 ms, all along
        while not stop.is_set():
            produce(broker_url, topic, [declaration(f"STEADY-{sent[0]}")])
            sent[0] += 1
            time.sleep(0.05)

    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        feeder = threading.Thread(target=steady_feed, daemon=True)
        feeder.start()
        produce(broker_url, topic, [declaration("BEFORE", importer=LISTED)])
        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_declarations_total", 5, outcome="ok"
        )
        assert in_use(samples, "2026.11.1"), worker.log_tail()

        # A new version, published while the worker screens.
        listing = tmp_path / "watchlist_default.jsonl"
        listing.write_bytes(new_watchlist("2026.12.1", LISTED))
        published = run_cli(env, "reference", "publish", str(listing))
        assert published.returncode == 0, published.stderr
        assert "published watchlist_default@2026.12.1" in published.stdout
        deadline = time.monotonic() + 60
        while not in_use(scrape(worker.metrics_url), "2026.12.1"):
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.3)
        produce(broker_url, topic, [declaration("AFTER", importer=LISTED)])

        # A corrupt record on the topic: the version in use stays, the failure is counted.
        produce(
            broker_url, env["TRADEWATCH_TOPIC_REFERENCE"], [(b"watchlist_default", b"\x00 garbage")]
        )
        wait_for_metric(
            worker.metrics_url, "tradewatch_reference_updates_total", 1, outcome="rejected"
        )
        alerts = [
            Alert.model_validate_json(r.value)
            for r in consume(
                broker_url,
                env["TRADEWATCH_TOPIC_ALERTS"],
                until=lambda rs: any(b"AFTER" in r.value for r in rs),
            )
        ]
        stop.set()
        feeder.join(timeout=10)
        samples = wait_for_metric(
            worker.metrics_url, "tradewatch_declarations_total", sent[0] + 2, outcome="ok"
        )
        assert worker.stop() == 0, worker.log_tail()

    assert in_use(samples, "2026.12.1") and not in_use(samples, "2026.11.1")
    assert metric(samples, "tradewatch_reference_updates_total", outcome="applied") == 1
    # Every declaration of the steady feed was screened, across the swap.
    assert metric(samples, "tradewatch_declarations_total", outcome="ok") == sent[0] + 2
    listed = [a for a in alerts if a.rule_id == "restricted_party.watchlist"]
    assert [a.declaration_ids for a in listed] == [["AFTER"]]  # screened live on the new list
    assert "watchlist_default@2026.12.1" in listed[0].reference_data_version
    retro = [a for a in alerts if a.rule_id == "restricted_party.retro"]
    assert [a.declaration_ids for a in retro] == [["BEFORE"]]  # looked back for


@pytest.mark.broker
def test_a_broken_file_is_refused_with_its_line_and_nothing_is_sent(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    assert run_cli(env, "topics").returncode == 0
    good = tmp_path / "watchlist_default.jsonl"
    good.write_bytes(new_watchlist("2026.12.1", LISTED))
    broken = tmp_path / "uav.jsonl"
    broken.write_bytes(
        b'{"kind": "lexicon", "name": "uav", "version": "2", "source": "test"}\n'
        b'{"group": "uav", "language": "xx", "term": "drone"}\n'
    )
    refused = run_cli(env, "reference", "publish", str(good), str(broken))
    assert refused.returncode == 1
    [line] = [x for x in refused.stderr.splitlines() if "error" in x]
    assert f"{broken}:2: invalid lexicon record: language" in line, line
    records = consume(
        broker_url, env["TRADEWATCH_TOPIC_REFERENCE"], until=lambda rs: False, timeout_s=3
    )
    assert records == []


def past(number: int, days_ago: int) -> bytes:
    value = declaration_dict(
        declaration_id=f"PAST-{number}",
        declared_at=(datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
        importer={"name": LISTED, "country": "RU"},
        hs_code="8471.30",
        goods_description="Laptops",
    )
    return orjson.dumps(value)


@pytest.mark.broker
def test_a_newly_listed_party_is_looked_back_for_and_backtest_gives_the_same_ids(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    history = [past(n, days_ago) for n, days_ago in enumerate([30, 20, 10])]
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        produce(broker_url, topic, [(None, raw) for raw in history])
        wait_for_metric(
            worker.metrics_url,
            "tradewatch_window_observations_total",
            2 * len(history),
            dimension="party",
            outcome="counted",
        )
        listing = tmp_path / "watchlist_default.jsonl"
        listing.write_bytes(new_watchlist("2026.12.1", LISTED))
        published_at = datetime.now(UTC)
        published = run_cli(env, "reference", "publish", str(listing))
        assert published.returncode == 0, published.stderr
        records = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_ALERTS"],
            until=lambda rs: sum(b"restricted_party.retro" in r.value for r in rs) >= 3,
        )
        cases = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_CASES"],
            until=lambda rs: any(b'"kind":"listing"' in r.value for r in rs),
        )
        samples = scrape(worker.metrics_url)
        assert worker.stop() == 0, worker.log_tail()

    retro = [
        a
        for a in (Alert.model_validate_json(r.value) for r in records)
        if a.rule_id == "restricted_party.retro"
    ]
    assert sorted(a.declaration_ids[0] for a in retro) == ["PAST-0", "PAST-1", "PAST-2"]
    assert {a.evidence["list_version"] for a in retro} == {"watchlist_default@2026.12.1"}
    [case] = [Case.model_validate_json(r.value) for r in cases if b'"kind":"listing"' in r.value]
    assert case.declaration_ids == ["PAST-0", "PAST-1", "PAST-2"]
    assert metric(samples, "tradewatch_retro_parties_total") >= 1
    assert metric(samples, "tradewatch_retro_pending_parties") == 0
    # The same feed and list change through backtest: the same ids.
    replayed = backtest_retro_ids(env, tmp_path, history, listing, published_at)
    assert replayed == {a.alert_id for a in retro}


def backtest_retro_ids(
    env: dict[str, str],
    folder: Path,
    feed: list[bytes],
    listing: Path,
    published_at: datetime,
) -> set[str]:
    """The retro alert ids `tradewatch backtest --list-change` gives for this feed and list."""
    path = folder / "history.jsonl"
    path.write_bytes(b"\n".join(feed) + b"\n")
    out = folder / "replayed.jsonl"
    replay = run_cli(
        env,
        "backtest",
        str(path),
        "--quiet",
        "--out",
        str(out),
        "--list-change",
        f"{listing}@{published_at.isoformat()}",
    )
    assert replay.returncode == 0, replay.stderr
    alerts = map(Alert.model_validate_json, out.read_text().splitlines())
    return {a.alert_id for a in alerts if a.rule_id == "restricted_party.retro"}


@pytest.mark.broker
def test_a_version_published_while_no_worker_runs_is_looked_back_for_at_start(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        produce(broker_url, topic, [(None, past(7, 12))])
        wait_for_metric(
            worker.metrics_url, "tradewatch_window_observations_total", 2,
            dimension="party", outcome="counted",
        )  # fmt: skip
        time.sleep(3)  # a checkpoint or two: the party index is in the changelog
        assert worker.stop() == 0, worker.log_tail()
    listing = tmp_path / "watchlist_default.jsonl"
    listing.write_bytes(new_watchlist("2026.12.5", LISTED))
    published = run_cli(env, "reference", "publish", str(listing))  # no worker runs now
    assert published.returncode == 0, published.stderr
    with WorkerProcess(env, tmp_path / "again.log") as worker:
        produce(broker_url, topic, [declaration("WAKE-UP")])  # the window stage's first frame
        records = consume(
            broker_url,
            env["TRADEWATCH_TOPIC_ALERTS"],
            until=lambda rs: any(b"restricted_party.retro" in r.value for r in rs),
        )
        assert worker.stop() == 0, worker.log_tail()
    retro = [
        a
        for a in (Alert.model_validate_json(r.value) for r in records)
        if a.rule_id == "restricted_party.retro"
    ]
    assert [a.declaration_ids for a in retro] == [["PAST-7"]]
    assert retro[0].evidence["list_version"] == "watchlist_default@2026.12.5"
    assert "came while this worker was not running" in (tmp_path / "again.log").read_text()
