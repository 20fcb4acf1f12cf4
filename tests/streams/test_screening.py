"""Screening one message (the core), and what the worker's intake sends and counts for a batch."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts.building import RuleEngine
from alerts.pipeline import Core, CoreOptions, Dataflow
from alerts.reference import ReferenceData
from alerts.retro import PARTY_INDEX
from alerts.rules import Catalogue
from alerts.rules.base import DeclarationFacts, Finding
from alerts.rules.controls import ControlMatcher
from alerts.screening import Screened, Screener
from alerts.text import Lexicon
from alerts.windows.fx import FxRates
from alerts.windows.observations import Frame
from alerts.windows.registry import DIMENSIONS
from schemas.alert import AlertCategory, Severity
from schemas.wire import Rejection, RejectReason
from streams.intake import Intake, Topics
from streams.metrics import Metrics
from streams.outbox import DeliveryError, Outbox
from streams.partitioning import partition_of
from tests.conftest import declaration_dict
from tests.streams.conftest import RecordingProducer

CLOCK = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731
CORE = Core.build(CoreOptions(max_message_bytes=8192), clock=CLOCK)
TOPICS = Topics("customs.declarations", "customs.alerts", "customs.dlq", "tw-observations", 1)


class ExplodingRule:
    rule_id = "test.exploding"
    version = "1"
    category = AlertCategory.CATEGORY_MISMATCH
    reference_data_version = "none"

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        raise KeyError("boom")


def test_a_failing_rule_rejects_the_declaration_instead_of_raising() -> None:
    reference = ReferenceData.load()
    catalogue = Catalogue([ExplodingRule()], Lexicon([]), ControlMatcher(reference))
    screener = Screener(RuleEngine(catalogue, clock=CLOCK), FxRates.from_reference(reference), 8192)
    outcome = screener.screen(orjson.dumps(declaration_dict()), 0, 1)
    assert isinstance(outcome, Rejection)
    assert outcome.reason is RejectReason.RULE_ERROR
    assert "KeyError" in outcome.detail


def test_a_declaration_gives_its_alerts_and_observations() -> None:
    rifles = orjson.dumps(declaration_dict(hs_code="930320", goods_description="CQ-A rifles"))
    outcome = CORE.screener.screen(rifles, 3, 41)
    assert isinstance(outcome, Screened)
    assert {a.rule_id for a in outcome.alerts} == {
        "category_mismatch.military_firearm",
        "controlled_goods.restricted_destination",
    }
    # Controlled goods to Russia: all four kinds of key, each knowing where it came from.
    assert {o.kind for o in outcome.observations} == set(DIMENSIONS)
    assert {(o.source_partition, o.source_offset) for o in outcome.observations} == {(3, 41)}


class Record:
    """The fields of an aiokafka ConsumerRecord the intake reads."""

    def __init__(self, offset: int, value: bytes | None, headers: Any = ()) -> None:
        self.topic = TOPICS.declarations
        self.partition = 0
        self.offset = offset
        self.timestamp = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
        self.key = b"k%d" % offset
        self.value = value
        self.headers = list(headers)


def intake(producer: RecordingProducer) -> tuple[Intake, CollectorRegistry]:
    registry = CollectorRegistry()
    return (
        Intake(
            Dataflow(CORE, TOPICS.observation_partitions, partition_of, cases=False),
            Metrics(registry),
            Outbox(lambda: producer),
            TOPICS,
            1 << 20,
        ),
        registry,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_a_batch_is_sent_then_counted_once_delivered(producer: RecordingProducer) -> None:
    stage, registry = intake(producer)
    # To Serbia: a category mismatch and military goods to a diversion hub, not also
    # controlled goods to a restricted destination.
    alerting = orjson.dumps(
        declaration_dict(
            hs_code="930320", goods_description="CQ-A rifles", destination_country="RS"
        )
    )
    records = [
        Record(0, alerting),
        Record(1, orjson.dumps(declaration_dict())),
        Record(2, b"nope", headers=[("trace", b"t-1")]),
        Record(3, b"[]"),
    ]

    async def run() -> None:
        sent = await stage.process(records)
        assert sample(registry, "tradewatch_declarations_total", outcome="ok") == 0  # not yet
        await stage.settle(sent)

    asyncio.run(run())
    alerts = producer.on(TOPICS.alerts)
    assert sorted(orjson.loads(a.value)["rule_id"] for a in alerts) == [
        "category_mismatch.military_firearm",
        "controlled_goods.diversion_destination",
    ]
    assert all(a.key == orjson.loads(a.value)["alert_id"].encode() for a in alerts)
    letters = producer.on(TOPICS.dead_letters)
    assert [dict(r.headers or [])["tradewatch.reason"] for r in letters] == [
        b"not_json",
        b"not_object",
    ]
    assert dict(letters[0].headers or [])["tradewatch.original.trace"] == b"t-1"
    assert letters[0].key == b"k2" and letters[0].value == b"nope"
    [frame] = producer.on(TOPICS.observations)  # one partition: one frame for the batch
    assert frame.partition == 0 and frame.key == b"0"
    # Rifles to a diversion-risk country are watched goods: 4 observations; the laptops 3;
    # and each declaration's exporter and importer for the party index.
    observations = Frame.decode(frame.value).observations
    assert len(observations) == 7 + 4
    assert sum(o.kind is PARTY_INDEX for o in observations) == 4
    assert sample(registry, "tradewatch_declarations_total", outcome="ok") == 2
    assert sample(registry, "tradewatch_declarations_total", outcome="rejected") == 2
    assert sample(registry, "tradewatch_dead_letters_total", reason="not_json") == 1
    assert (
        sample(
            registry,
            "tradewatch_alerts_total",
            rule="category_mismatch.military_firearm",
            category="category_mismatch",
            severity="high",
        )
        == 1
    )
    assert sample(registry, "tradewatch_declaration_processing_seconds_count") == 4


@pytest.mark.parametrize("how", ["refused", "failed"])
def test_a_batch_whose_sends_do_not_arrive_fails_and_is_not_counted(how: str) -> None:
    producer = RecordingProducer(
        refuse=TOPICS.dead_letters if how == "refused" else None,
        fail_on=TOPICS.dead_letters if how == "failed" else None,
    )
    stage, registry = intake(producer)

    async def run() -> None:
        sent = await stage.process(
            [Record(0, b"nope"), Record(1, orjson.dumps(declaration_dict()))]
        )
        await stage.settle(sent)

    with pytest.raises(DeliveryError):
        asyncio.run(run())
    assert sample(registry, "tradewatch_dead_letters_total", reason="not_json") == 0
    assert sample(registry, "tradewatch_declarations_total", outcome="ok") == 0


def test_alert_series_exist_at_zero_before_the_first_alert() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.prepare_alert_series([("controlled_goods.x", AlertCategory.CONTROLLED_GOODS)])
    labels = {"rule": "controlled_goods.x", "category": "controlled_goods", "severity": "critical"}
    assert registry.get_sample_value("tradewatch_alerts_total", labels) == 0.0
    metrics.alert("controlled_goods.x", AlertCategory.CONTROLLED_GOODS, Severity.CRITICAL)
    assert registry.get_sample_value("tradewatch_alerts_total", labels) == 1.0
