"""Hostile input through the real broker: the worker neither crashes nor stalls; every invalid
message is in the dead-letter topic with its reason; every valid neighbour is processed; raw
control and bidi characters reach neither the log nor an alert."""

import time
import unicodedata
from pathlib import Path

import orjson
import pytest

from schemas.alert import Alert
from schemas.wire import Rejection
from streams.offline import offline_pipeline
from streams.settings import Settings
from tests.conftest import declaration_dict
from tests.hostile import hostile_batch
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    create_topic,
    metric,
    produce,
    scrape,
    wait_until_drained,
    worker_env,
)


@pytest.mark.broker
def test_hostile_batch_through_the_broker(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    hostile = hostile_batch(seed=7, count=150)
    messages: list[bytes] = []
    for n, bad in enumerate(hostile):
        messages.append(bad)
        messages.append(orjson.dumps(declaration_dict(declaration_id=f"GOOD-{n:03d}")))
    env = worker_env(
        broker_url, unique_name, tmp_path / "state", TRADEWATCH_MAX_MESSAGE_BYTES="131072"
    )
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)

    offline = offline_pipeline(Settings(max_message_bytes=131072))
    now_ms = int(time.time() * 1000)
    outcomes = [offline.feed(m, i, now_ms) for i, m in enumerate(messages)]
    rejected = [o for o in outcomes if isinstance(o, Rejection)]
    wanted = {a.alert_id for o in outcomes if not isinstance(o, Rejection) for a in o}
    assert len(rejected) > 50 and wanted  # the batch really is hostile, and some of it alerts

    produce(broker_url, topic, [(None, m) for m in messages])
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until_drained(worker, len(messages), timeout_s=120)
        assert worker.process is not None and worker.process.poll() is None, "worker died"
    dead = consume(
        broker_url, env["TRADEWATCH_TOPIC_DEAD_LETTER"], until=lambda r: len(r) >= len(rejected)
    )
    alerts = consume(
        broker_url,
        env["TRADEWATCH_TOPIC_ALERTS"],
        until=lambda r: {x.key.decode() for x in r} >= wanted,
    )

    assert len(dead) == len(rejected)
    reasons = sorted(dict(r.headers)["tradewatch.reason"].decode() for r in dead)
    assert reasons == sorted(o.reason.value for o in rejected)
    assert {r.key.decode() for r in alerts} == wanted
    for record in alerts:
        summary = Alert.model_validate_json(record.value).summary
        assert not [c for c in summary if unicodedata.category(c)[0] == "C"], summary
    log = (tmp_path / "worker.log").read_text(encoding="utf-8", errors="replace")
    for raw in ("\u202e", "\u200b", "\x1b[2J"):
        assert raw not in log, f"{raw!r} reached the worker log"


@pytest.mark.broker
def test_an_oversized_dead_letter_never_stops_screening(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    # A value the broker accepts, whose dead-letter copy (value and our headers) would not fit
    # in one produce request: it once crashed the agent, lost its neighbours and left the
    # worker alive and idle.
    huge = b'{"declaration_id": "' + b"x" * 1_048_300 + b'"}'
    valid = [
        orjson.dumps(declaration_dict(declaration_id=f"N-{n}", hs_code="930320",
                                      goods_description="CQ-A rifles"))
        for n in range(25)
    ]  # fmt: skip
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    create_topic(broker_url, topic, 1)
    messages = [*valid[:12], huge, *valid[12:]]
    sent = produce(
        broker_url, topic, [(b"k%d" % n, m) for n, m in enumerate(messages)],
        headers=[("trace-id", b"t-42")], max_request_size=4 << 20,
    )  # fmt: skip
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until_drained(worker, len(messages), timeout_s=120)
        samples = scrape(worker.metrics_url)
        alive = worker.process is not None and worker.process.poll() is None
        # Still screening afterwards, not alive and idle.
        produce(broker_url, topic, [(None, orjson.dumps(declaration_dict(declaration_id="AFTER")))])
        wait_until_drained(worker, len(messages) + 1, timeout_s=60)
        after = scrape(worker.metrics_url)
    assert alive
    [letter] = consume(broker_url, env["TRADEWATCH_TOPIC_DEAD_LETTER"], until=lambda r: len(r) >= 1)
    headers = dict(letter.headers)
    assert headers["tradewatch.reason"] == b"too_large"
    assert headers["tradewatch.truncated"] == b"true"
    assert headers["tradewatch.original_size"] == str(len(huge)).encode()
    assert headers["tradewatch.source.offset"] == str(sent[12].offset).encode()
    assert headers["tradewatch.original.trace-id"] == b"t-42"
    assert huge.startswith(letter.value) and letter.key == b"k12"
    # Every message accounted for: 25 screened, one on the dead-letter topic, counted once
    # it got there; then one more screened.
    assert metric(samples, "tradewatch_declarations_total", outcome="ok") == 25
    assert metric(samples, "tradewatch_dead_letters_total", reason="too_large") == 1
    assert metric(after, "tradewatch_declarations_total", outcome="ok") == 26
    alerts = consume(
        broker_url, env["TRADEWATCH_TOPIC_ALERTS"], until=lambda r: len({x.key for x in r}) >= 25
    )
    assert {d for r in alerts for d in orjson.loads(r.value)["declaration_ids"]} >= {
        f"N-{n}" for n in range(25)
    }
