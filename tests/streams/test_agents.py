"""The faust agents in faust's test context: an in-memory channel, outbound sends captured.

Serialisation through Kafka is not exercised here (tests/integration does that); this checks what
each agent sends where, and that the window agent keeps its table.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest

from alerts.windows.observations import Dimension, Frame, Observation
from alerts.windows.state import KeyState, N
from streams.app import Outbox, Tradewatch, create_app
from streams.settings import Settings
from streams.window_stage import frames
from tests.alerts.windows.helpers import declaration, observe
from tests.conftest import declaration_dict

Sent = list[tuple[str, bytes | None, bytes, Any]]


@pytest.fixture
def tradewatch(tmp_path: Path) -> Tradewatch:
    worker = create_app(Settings(data_dir=tmp_path, app_id="agenttest", topic_partitions=1))
    worker.app.finalize()
    worker.app.conf.store = "memory://"
    worker.app.flow_control.resume()
    return worker


@pytest.fixture
def sent() -> Iterator[Sent]:
    captured: Sent = []

    async def capture(
        self: Outbox,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Any = None,
        partition: int | None = None,
    ) -> None:
        captured.append((topic, key, value, headers))

    with mock.patch.object(Outbox, "send", capture):
        yield captured


async def feed(tradewatch: Tradewatch, agent_name: str, values: list[bytes]) -> None:
    async with tradewatch.app.agents[agent_name].test_context() as agent:
        for value in values:
            await agent.put(value)


def test_screening_agent_routes_alerts_observations_and_rejects(
    tradewatch: Tradewatch, sent: Sent
) -> None:
    rifles = orjson.dumps(declaration_dict(hs_code="930320", goods_description="CQ-A rifles"))
    asyncio.run(feed(tradewatch, "screen_declarations", [rifles, b"not json"]))
    by_topic: dict[str, list[tuple[bytes | None, bytes, Any]]] = {}
    for topic, key, value, headers in sent:
        by_topic.setdefault(topic, []).append((key, value, headers))

    alert_rules = {orjson.loads(v)["rule_id"] for _, v, _ in by_topic["customs.alerts"]}
    assert alert_rules == {
        "category_mismatch.military_firearm",
        "controlled_goods.restricted_destination",
    }
    assert all(k == orjson.loads(v)["alert_id"].encode() for k, v, _ in by_topic["customs.alerts"])
    [(key, value, _)] = by_topic["agenttest-observations"]  # one partition: one frame
    assert key == b"0"
    dimensions = {o.dimension for o in Frame.decode(value).observations}
    assert dimensions == set(Dimension)  # controlled goods to Russia: all four
    [(_, value, headers)] = by_topic["customs.declarations.dlq"]
    assert value == b"not json"
    assert dict(headers)["tradewatch.reason"] == b"not_json"


def steady_then_spike() -> list[Observation]:
    """One importer's heading: two declarations a day for 20 days, then 12 within minutes."""
    steady = [
        declaration(day + k / 24, day * 10 + k, invoice_value=5000)
        for day in range(20)
        for k in range(2)
    ]
    spike = [declaration(20 + k / 1440, 1000 + k, invoice_value=5000) for k in range(12)]
    return [o for o in observe([*steady, *spike]) if o.dimension is Dimension.IMPORTER_HEADING]


def test_window_agent_keeps_state_and_alerts_on_crossing(
    tradewatch: Tradewatch, sent: Sent
) -> None:
    observations = steady_then_spike()
    # One frame per observation, as a worker screening one declaration per batch would send.
    messages = [Frame(o.event_time_ms, [o]).encode() for o in observations]
    asyncio.run(feed(tradewatch, "update_windows", messages))

    alerts = [orjson.loads(v) for topic, _, v, _ in sent if topic == "customs.alerts"]
    assert {a["rule_id"] for a in alerts} == {"volume_anomaly.window"}
    assert {a["evidence"]["crossed_by"] for a in alerts} == {"D-01009"}  # the 10th of the spike
    stored = tradewatch.window_table[observations[0].table_key.encode()]
    state = KeyState.decode(stored)
    assert sum(bucket[N] for bucket in state.buckets.values()) == len(observations)
    # The agent writes the changelog itself: its last record of the key is the table's value.
    changelog = [(k, v) for topic, k, v, _ in sent if topic == "agenttest-window-state-changelog"]
    last = {k: v for k, v in changelog}
    assert last[observations[0].table_key.encode()] == stored
    assert len(changelog) == len(observations) + 1  # one per frame, and the stream start


def test_window_agent_gives_one_frame_the_alerts_of_its_observations_one_by_one(
    tradewatch: Tradewatch, sent: Sent
) -> None:
    observations = steady_then_spike()
    one_by_one = [Frame(o.event_time_ms, [o]).encode() for o in observations]
    asyncio.run(feed(tradewatch, "update_windows", one_by_one))
    expected = sorted(v for topic, _, v, _ in sent if topic == "customs.alerts")
    sent.clear()
    tradewatch.window_table.data.clear()

    [(_, frame)] = frames(observations, 1).items()
    asyncio.run(feed(tradewatch, "update_windows", [frame.encode()]))
    got = sorted(v for topic, _, v, _ in sent if topic == "customs.alerts")
    assert [_without_clock(v) for v in got] == [_without_clock(v) for v in expected]
    assert expected


def _without_clock(raw: bytes) -> dict[str, Any]:
    return {k: v for k, v in orjson.loads(raw).items() if k != "detected_at"}
