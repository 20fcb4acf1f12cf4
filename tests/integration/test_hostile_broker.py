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
    produce,
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
