"""The window rules over hand-built streams, with expected alerts worked out by hand."""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from msgspec.structs import replace

from alerts.pipeline import Message
from alerts.retro import PARTY_INDEX
from alerts.rules.base import Finding
from alerts.rules.split_shipments import EXPORTER_IMPORTER_HEADING
from alerts.rules.value_anomaly import SUBHEADING_UNIT
from alerts.rules.volume_anomaly import IMPORTER_HEADING
from alerts.state.formats import WINDOW_STATE
from alerts.windows.config import WindowConfig
from alerts.windows.engine import WindowEngine
from alerts.windows.evidence import window_of
from alerts.windows.observations import Declared, Dimension, Frame, Observation
from alerts.windows.registry import RuleContext
from alerts.windows.state import Admission, Arrivals, KeyState, N, add_to_bucket
from alerts.windows.timing import day_of
from schemas.alert import AlertCategory, Severity, Subject
from tests.alerts.windows.helpers import REFERENCE, START, declaration, observe, run
from tests.conftest import declaration_dict

IMPORTER = IMPORTER_HEADING
# The thresholds the hand-worked expectations below were computed with.
HAND_CONFIG = WindowConfig(split_min_count=3)
START_DAY = day_of(int(START.timestamp() * 1000))


def steady_then_spike(spike: int = 45, minutes_apart: int = 5) -> list[Observation]:
    """30 days of 2 laptop declarations a day ($5k each) for one importer, then a spike."""
    declarations = []
    number = 0
    for day in range(31):
        for k in range(2):
            number += 1
            declarations.append(declaration(day + k / 24, number, invoice_value=5000))
    for k in range(spike):
        number += 1
        declarations.append(declaration(31 + k * minutes_apart / 1440, number, invoice_value=5000))
    return observe(declarations)


def test_volume_spike_alerts_once_per_window() -> None:
    alerts, states = run(steady_then_spike(), HAND_CONFIG, dimension=IMPORTER)
    windows = sorted(
        (f.evidence["window_days"], day_of(int(f.window.start.timestamp() * 1000)) - START_DAY)
        for _, f in alerts.values()
    )
    # Tumbling day 31; and every 7-day window holding day 31 (starts 25..31): each holds
    # 2 * (31 - start) + 45 declarations against exactly 14 in every past week (Poisson 14:
    # 36 or more has a chance under volume_alpha, 1e-6).
    assert windows == [(1, 31)] + [(7, start) for start in range(25, 32)]
    tumbling = next(f for _, f in alerts.values() if f.evidence["window_days"] == 1)
    assert tumbling.severity is Severity.MEDIUM  # just crossed: a chance near alpha
    [reason] = tumbling.evidence["reasons"]
    # It fires inline, on the event that crosses: against exactly 2 a day (Poisson 2), the
    # spike's 13th declaration has P(X >= 13) = 2.1e-7 <= 1e-6 < P(X >= 12) = 1.4e-6.
    assert (reason["reason"], reason["metric"]) == ("above_expected", "declarations")
    assert (reason["expected"], reason["variance"], reason["value"]) == (2, 0, 13)
    assert reason["least_alerting"] == 13 and reason["probability"] == 2.07e-07
    assert tumbling.evidence["crossed_by"] == "D-00075"  # 62 steady ones, then the 13th
    assert tumbling.evidence["window"]["value_usd"] == 13 * 5000
    [state] = states.values()
    assert sum(b[N] for b in state.buckets.values()) <= 2 * 31 + 45


def test_no_alert_without_enough_history() -> None:
    spike = observe([declaration(0, n, invoice_value=5000) for n in range(60)])
    alerts, _ = run(spike, dimension=IMPORTER)
    assert alerts == {}


def test_new_key_with_a_large_controlled_volume() -> None:
    burst = observe(
        [declaration(0.1 * n / 24, n, hs_code="854231", invoice_value=9000) for n in range(25)],
        controlled=True,
    )
    alerts, _ = run(burst, dimension=IMPORTER)
    reasons = {f.evidence["reasons"][0]["reason"] for _, f in alerts.values()}
    assert reasons == {"new_key_watched_goods"}
    assert len(alerts) == 1 + 7  # the day, and each 7-day window that holds it
    # 12 x $9,000 = $108,000 crosses new_key_controlled_value_usd ($100,000) before the
    # count reaches new_key_controlled_count (20): the 12th declaration crosses.
    assert {f.evidence["crossed_by"] for _, f in alerts.values()} == {"D-00011"}


def shuffle_within(observations: list[Observation], span_ms: int, seed: int) -> list[Observation]:
    """Shuffle inside consecutive blocks spanning at most span_ms of event time."""
    rng = random.Random(seed)
    blocks: list[list[Observation]] = []
    for obs in sorted(observations, key=lambda o: o.event_time_ms):
        if not blocks or obs.event_time_ms - blocks[-1][0].event_time_ms > span_ms:
            blocks.append([])
        blocks[-1].append(obs)
    for block in blocks:
        rng.shuffle(block)
    # Offsets rise in arrival order, as on a topic: only event time is out of order.
    arrived = [o for block in blocks for o in block]
    return [replace(o, source_offset=offset) for offset, o in enumerate(arrived)]


def test_replay_out_of_order_within_grace_gives_the_same_alerts() -> None:
    config = HAND_CONFIG
    in_order, _ = run(steady_then_spike(), config, dimension=IMPORTER)
    assert in_order
    five_hours = 5 * 3_600_000  # inside the 6-hour grace
    for seed in range(5):
        shuffled = shuffle_within(steady_then_spike(), five_hours, seed)
        assert shuffled != steady_then_spike()
        out_of_order, states = run(shuffled, config, dimension=IMPORTER)
        assert out_of_order.keys() == in_order.keys()
        assert not any(state.late for state in states.values())


def test_late_beyond_grace_is_not_counted_but_reported() -> None:
    observations = steady_then_spike(spike=12)
    late = observe([declaration(30, 9999, invoice_value=5000)])  # a day behind the watermark
    spike_later = observe(
        [declaration(33 + k / 1440, 5000 + k, invoice_value=5000) for k in range(40)]
    )
    for offset, obs in enumerate([*late, *spike_later], start=len(observations)):
        observations.append(replace(obs, source_offset=offset))  # later in the source topic
    alerts, states = run(observations, dimension=IMPORTER)
    [state] = states.values()
    assert [i for i, _ in state.late] == ["D-09999"]
    assert state.buckets[START_DAY + 30][N] == 2  # not 3
    day_33 = [
        f
        for _, f in alerts.values()
        if f.window.start == (START + timedelta(days=33)).replace(hour=0)
    ]
    assert day_33, "the later spike alerts"
    assert day_33[0].evidence["late_declarations_not_counted"][0]["declaration_id"] == "D-09999"


def test_replayed_observations_are_neither_counted_nor_judged_again() -> None:
    observations = steady_then_spike()
    once, first_states = run(observations, dimension=IMPORTER)
    twice, second_states = run(observations + observations, dimension=IMPORTER)
    assert twice.keys() == once.keys()
    [first], [second] = first_states.values(), second_states.values()
    assert first.buckets == second.buckets
    engine = WindowEngine.build(REFERENCE, WindowConfig())
    last = [o for o in observations if o.kind is IMPORTER][-1]
    stored = WINDOW_STATE.decode(WINDOW_STATE.encode(second))
    replay = engine.process([last], engine.new_entry(IMPORTER, stored))
    assert [a.duplicate for a in replay.admissions] == [True]
    # Its alerts were delivered before a state holding it was ever written (the window
    # stage's checkpoint): judging it again could only find windows it never crossed.
    assert replay.findings == []


def test_expiry_follows_event_time() -> None:
    config = WindowConfig()
    observations = observe([declaration(day, day, invoice_value=100) for day in range(0, 200, 5)])
    _, states = run(observations, config, dimension=IMPORTER)
    [state] = states.values()
    newest = max(state.buckets)
    assert min(state.buckets) >= newest - config.volume_retention_days
    assert len(state.buckets) <= config.volume_retention_days // 5 + 1


def split_run(values: list[float], days: list[float]) -> dict[str, object]:
    declarations = [
        declaration(
            day,
            n,
            hs_code="854231",
            invoice_value=value,
            exporter={"name": "Shenzhen Chips Ltd", "country": "CN"},
        )
        for n, (value, day) in enumerate(zip(values, days, strict=True))
    ]
    alerts, _ = run(
        observe(declarations, controlled=True),
        HAND_CONFIG,
        dimension=EXPORTER_IMPORTER_HEADING,
    )
    return alerts


def test_split_shipments() -> None:
    # 4 x $3,000 over two days: under $10,000 each, $12,000 together. Windows of 3 days
    # holding both days start on day -1 and day 0; the 4th declaration crosses.
    alerts = split_run([3000] * 4, [0, 0.1, 1, 1.1])
    starts = sorted(
        day_of(int(f.window.start.timestamp() * 1000)) - START_DAY for _, f in alerts.values()
    )
    assert starts == [-1, 0]
    assert {f.evidence["crossed_by"] for _, f in alerts.values()} == {"D-00003"}
    assert all(f.evidence["declarations"] == 4 for _, f in alerts.values())


def test_no_split_when_one_shipment_crosses_the_threshold_itself() -> None:
    assert split_run([3000, 3000, 12000, 3000], [0, 0.1, 1, 1.1]) == {}


def test_no_split_when_spread_wider_than_the_window() -> None:
    assert split_run([3000] * 4, [0, 4, 8, 12]) == {}


def test_value_anomaly_against_the_seed_band() -> None:
    # Rifles at $35 a piece: the seed band for 9303.20 per PCE is $250-$4,500, factor 3.
    rifles = [
        declaration(0, 1, hs_code="930320", quantity=1000, invoice_value=35_000),
        declaration(0.1, 2, hs_code="930320", quantity=10, invoice_value=8000),
    ]
    alerts, _ = run(observe(rifles, controlled=True), dimension=SUBHEADING_UNIT)
    [(rule_id, finding)] = alerts.values()
    assert rule_id == "value_anomaly.unit_value"
    assert finding.declaration_ids == ("D-00001",)
    assert finding.evidence["band"]["origin"] == "seed"
    assert finding.evidence["direction"] == "below"
    assert finding.severity is Severity.HIGH


def test_value_anomaly_against_a_learned_band() -> None:
    rng = random.Random(1)
    normal = [
        declaration(
            day / 4, n, hs_code="854239", quantity=1000, invoice_value=1000 * rng.uniform(2, 4)
        )
        for n, day in enumerate(range(40))
    ]
    odd = declaration(14, 999, hs_code="854239", quantity=1000, invoice_value=100 * 1000)
    ok = declaration(14.1, 998, hs_code="854239", quantity=1000, invoice_value=3.1 * 1000)
    alerts, _ = run(observe([*normal, odd, ok]), dimension=SUBHEADING_UNIT)
    [(_, finding)] = alerts.values()
    assert finding.declaration_ids == ("D-00999",)
    band = finding.evidence["band"]
    assert band["origin"] == "learned" and band["observations"] >= 30
    assert 1.5 < band["p05_usd"] <= band["p50_usd"] <= band["p95_usd"] < 5


def test_state_and_frame_encodings_round_trip() -> None:
    _, states = run(steady_then_spike(), dimension=IMPORTER)
    [state] = states.values()
    assert WINDOW_STATE.decode(WINDOW_STATE.encode(state)) == state
    observations = steady_then_spike()[:5]
    frame = Frame(observations[0].event_time_ms, observations)
    assert Frame.decode(frame.encode()) == frame


def test_a_rate_table_of_its_own(tmp_path: Path) -> None:
    from alerts.windows.fx import FxRates

    path = tmp_path / "treasury.jsonl"
    path.write_text(
        '{"kind": "fx_rates", "name": "treasury", "version": "2026-11-27", "source": "test"}\n'
        '{"currency": "EUR", "usd_per_unit": 2.0}\n',
        encoding="utf-8",
    )
    rates = FxRates.from_file(path)
    assert rates.to_usd(10, "EUR") == 20.0
    assert rates.to_usd(10, "USD") is None  # not in this table: no value, counts only
    engine = WindowEngine.build(REFERENCE, WindowConfig(), rates)
    assert "treasury@2026-11-27" in engine.rule_for(IMPORTER).reference_data_version


def test_grace_boundary_is_inclusive() -> None:
    from alerts.windows.state import admit

    grace_ms = 6 * 3_600_000
    state = KeyState()
    common = {"grace_ms": grace_ms, "retention_days": 60, "ids_kept": 10}
    assert admit(state, "A", 100 * 86_400_000, 0, 0, **common).counted
    on_the_limit = admit(state, "B", 100 * 86_400_000 - grace_ms, 0, 1, **common)
    past_the_limit = admit(state, "C", 100 * 86_400_000 - grace_ms - 1, 0, 2, **common)
    assert on_the_limit.counted  # exactly the grace behind the watermark still counts
    assert past_the_limit.late  # one millisecond more does not
    assert admit(state, "C", 1, 0, 2, **common).duplicate  # same source offset again
    assert [i for i, _ in state.late] == ["C"]


def random_stream(seed: int) -> list[Observation]:
    """A few importers of one heading, steady with bursts, some declarations out of order."""
    rng = random.Random(seed)
    declarations = []
    number = 0
    for day in range(45):
        for importer in range(3):
            burst = 25 if rng.random() < 0.08 else 0
            for _ in range(rng.randint(0, 3) + burst):
                number += 1
                declarations.append(
                    declaration(
                        day + rng.random() * 0.9,
                        number,
                        importer={"name": f"Importer {importer}", "country": "RU"},
                        hs_code=rng.choice(["847130", "854231"]),
                        invoice_value=rng.choice([3000, 9000, 40000]),
                    )
                )
    declarations.sort(key=lambda d: d.declared_at + timedelta(hours=rng.uniform(-3, 3)))
    return observe(declarations, controlled=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("together", [7, 60, 400])
def test_a_run_of_observations_is_judged_as_if_they_came_one_at_a_time(
    seed: int, together: int
) -> None:
    # The engine adds a run's totals at once and steps through it only when a window reaches
    # its thresholds: that shortcut must never change what is found, nor the state.
    stream = random_stream(seed)
    start = stream[0].event_time_ms - 30 * 86_400_000  # the stream is old enough: new keys count
    alone, alone_states = run(stream, HAND_CONFIG, stream_start_ms=start)
    grouped, grouped_states = run(stream, HAND_CONFIG, together=together, stream_start_ms=start)
    assert alone, "the stream has anomalies to find"
    assert grouped.keys() == alone.keys()
    for key, (_, finding) in alone.items():
        assert grouped[key][1] == finding  # evidence, declarations and summary included
    assert {k: s.buckets for k, s in grouped_states.items()} == {
        k: s.buckets for k, s in alone_states.items()
    }


def young_and_old_stream(seed: int) -> list[Observation]:
    """Keys of every age: importers that start late (new keys, watched goods in bursts), some
    that stop and come back (some history, too little), and steady ones with spikes."""
    rng = random.Random(seed)
    declarations = []
    for importer in range(8):
        first = rng.choice([0, 0, 20, 35])
        pause = range(rng.randint(5, 30), rng.randint(30, 50)) if importer % 3 == 0 else ()
        for day in range(first, 60):
            if day in pause:
                continue
            burst = rng.choice([0] * 12 + [6, 12, 30])
            for _ in range(rng.randint(0, 4) + burst):
                declarations.append(
                    declaration(
                        day + rng.random() * 0.95,
                        len(declarations),
                        importer={"name": f"Importer {importer}", "country": "RU"},
                        hs_code=rng.choice(["847130", "854231", "930200"]),
                        invoice_value=rng.choice([3000, 9000, 40000, 150000]),
                    )
                )
    declarations.sort(key=lambda d: d.declared_at + timedelta(hours=rng.uniform(-4, 4)))
    # Whether goods are watched depends on the route too: any key has some of each.
    chosen = [rng.random() < 0.4 for _ in declarations]
    watched = [d for d, w in zip(declarations, chosen, strict=True) if w]
    others = [d for d, w in zip(declarations, chosen, strict=True) if not w]
    observed = observe(watched, controlled=True) + observe(others, partition=1)
    return sorted(observed, key=lambda o: o.event_time_ms)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("together", [1, 9, 80])
def test_the_volume_filter_never_hides_a_window_the_rule_would_find(
    seed: int, together: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run is judged window by window only when the cheap test (sums of a span of days against
    # thresholds kept per window, headroom per day) says a window may have crossed: judged
    # window by window every time instead, the findings and the states must be the same.
    stream = young_and_old_stream(seed)
    start = stream[0].event_time_ms - 30 * 86_400_000
    options = {"together": together, "stream_start_ms": start, "keep_memos": True}
    filtered, filtered_states = run(stream, HAND_CONFIG, **options)  # type: ignore[arg-type]
    engine = WindowEngine.build(REFERENCE, HAND_CONFIG)
    volume = engine.rule_for(IMPORTER)
    monkeypatch.setattr(type(volume), "_may_find", lambda *_: True)
    every, every_states = run(stream, HAND_CONFIG, engine=engine, **options)  # type: ignore[arg-type]
    found = {rule for rule, _ in every.values()}
    assert "volume_anomaly.window" in found, "the stream has volume anomalies to find"
    assert filtered.keys() == every.keys()
    for key, (_, finding) in every.items():
        assert filtered[key][1] == finding
    assert {k: s.buckets for k, s in filtered_states.items()} == {
        k: s.buckets for k, s in every_states.items()
    }


def daily(counts: list[int], **overrides: object) -> list[Observation]:
    """One declaration per count unit on each day, an hour apart, then observed."""
    declarations = []
    for day, count in enumerate(counts):
        for k in range(count):
            declarations.append(
                declaration(day + k / 48, len(declarations), invoice_value=5000, **overrides)
            )
    return observe(declarations, controlled="hs_code" in overrides)


def tumbling_alerts(alerts: dict[str, object]) -> list[object]:
    return [f for _, f in alerts.values() if f.evidence["window_days"] == 1]  # type: ignore[attr-defined]


def test_a_count_is_judged_against_how_much_the_key_varies() -> None:
    # The same day of 14 declarations after 28 days of history averaging 2 a day: alone
    # against a key that always declares 2, a tail chance of 2e-8; against a key that
    # declares 0 or 4 on alternate days and now and then 8, it is ordinary.
    steady = daily([2] * 28 + [14])
    assert len(tumbling_alerts(run(steady, dimension=IMPORTER)[0])) == 1
    varied = daily([0, 4] * 12 + [8, 0, 0, 0] + [14])
    assert tumbling_alerts(run(varied, dimension=IMPORTER)[0]) == []
    [found] = tumbling_alerts(run(steady, dimension=IMPORTER)[0])
    reason = found.evidence["reasons"][0]  # type: ignore[attr-defined]
    assert reason["expected"] == 2 and reason["probability"] <= 1e-6


def test_a_key_with_some_history_is_neither_new_nor_judged() -> None:
    # Ten days of one controlled lot a day (never enough to alert as new: at most 7 a week,
    # $35,000), then a burst that a new key would alert on (straight to a large controlled
    # volume) and that ten days of history cannot judge.
    burst = daily([1] * 10 + [25], hs_code="854231")
    assert run(burst, dimension=IMPORTER, stream_start_ms=0)[0] == {}
    # The same burst from a key never seen before alerts as new.
    new = daily([0] * 10 + [25], hs_code="854231")
    reasons = {
        f.evidence["reasons"][0]["reason"]
        for _, f in run(new, dimension=IMPORTER, stream_start_ms=0)[0].values()
    }
    assert reasons == {"new_key_watched_goods"}


def pair_days(counts: list[int], value: float = 3000) -> list[Observation]:
    declarations = []
    for day, count in enumerate(counts):
        for k in range(count):
            declarations.append(
                declaration(
                    day + k / 48,
                    len(declarations),
                    hs_code="854231",
                    invoice_value=value,
                    exporter={"name": "Shenzhen Chips Ltd", "country": "CN"},
                )
            )
    return observe(declarations, controlled=True)


def split_alerts(observations: list[Observation]) -> dict[str, object]:
    return run(observations, dimension=EXPORTER_IMPORTER_HEADING, stream_start_ms=0)[0]


def test_a_pair_that_always_ships_small_lots_is_not_splitting() -> None:
    # 30 days of two $1,500 lots a day (6 in 3 days, $9,000: never a split by value), then 7
    # in 3 days ($10,500): ordinary for this pair.
    assert split_alerts(pair_days([2] * 30 + [4, 3], value=1500)) == {}
    # 20 in 3 days is not: 6 expected, a chance under split_alpha.
    found = split_alerts(pair_days([2] * 30 + [10, 10], value=1500))
    assert found
    evidence = next(iter(found.values()))[1].evidence  # type: ignore[attr-defined]
    assert evidence["expected"] == 6 and evidence["probability"] <= 1e-6


def test_a_pair_with_some_history_is_not_called_new() -> None:
    # Five small lots in two days: from a new pair, a split; from a pair seen for 10 days, not
    # judged (too little history to know its usual).
    assert split_alerts(pair_days([0] * 20 + [3, 2]))
    assert split_alerts(pair_days([0] * 10 + [1] * 10 + [3, 2])) == {}


def test_a_day_after_a_quiet_one_is_judged_by_its_own_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Day 30's windows still hold the burst of day 1 in their baselines, so they have room for
    # many more declarations; day 31's tumbling window no longer does. A run of day 31 that the
    # room of day 30 would take must still be judged against day 31's own windows.
    counts = [12] * 31 + [40]  # at least the floor every day: every window has its threshold
    counts[1] = 80
    stream = observe(
        declaration(day + k / 400, number)  # from noon, a declaration every 3.6 minutes
        for number, (day, k) in enumerate((d, k) for d, n in enumerate(counts) for k in range(n))
    )
    found, _ = run(stream, dimension=IMPORTER, keep_memos=True)
    engine = WindowEngine.build(REFERENCE, WindowConfig())
    monkeypatch.setattr(type(engine.rule_for(IMPORTER)), "_may_find", lambda *_: True)
    every, _ = run(stream, dimension=IMPORTER, keep_memos=True, engine=engine)
    crossed = [f.window.start for f in tumbling_alerts(every)]  # type: ignore[attr-defined]
    assert crossed == [START.replace(hour=0) + timedelta(days=31)]
    assert found.keys() == every.keys()


def test_every_window_dimension_has_one_rule_from_the_registry() -> None:
    # A window rule is added in one place: its module, and one entry in WINDOW_RULES.
    from alerts.windows.registry import DIMENSIONS, WINDOW_DIMENSIONS, WINDOW_RULES

    engine = WindowEngine.build(REFERENCE, WindowConfig())
    assert [type(rule) for rule in engine.rules] == list(WINDOW_RULES)
    watched = [d for rule in engine.rules for d in rule.dimensions]
    assert watched == list(WINDOW_DIMENSIONS)  # what screening observes, and no more
    assert PARTY_INDEX not in watched  # the party index is no window
    # The numbers are on the wire and in frames already written: they never change.
    assert {d.label: d.number for d in DIMENSIONS} == {
        "importer_heading": 1,
        "route_chapter": 2,
        "exporter_importer_heading": 3,
        "subheading_unit": 4,
        "party": 5,
    }
    for rule in engine.rules:
        assert rule.reference_data_version  # cited in every alert
        assert rule.retention_days > 0


def _origin_chapter(declared: Declared) -> tuple[str, str]:
    declaration = declared.declaration
    origin, chapter = declaration.origin_country, declaration.hs_code[:2]
    return f"{origin}|{chapter}", f"origin {origin} × chapter {chapter}"


ORIGIN_CHAPTER = Dimension(90, "test_origin_chapter", _origin_chapter)


@dataclass(frozen=True)
class ThreeADay:
    """A window rule as a newcomer writes one: a dimension of its own with its extract, and a
    finding when a key's day reaches three declarations."""

    reference_data_version: str
    rule_id: str = "test.three_a_day"
    version: str = "1"
    category: AlertCategory = AlertCategory.VOLUME_ANOMALY
    retention_days: int = 3
    dimensions: ClassVar[tuple[Dimension, ...]] = (ORIGIN_CHAPTER,)

    @classmethod
    def build(cls, context: RuleContext) -> "ThreeADay":
        return cls(context.version_of())

    def new_memo(self) -> None:
        return None

    def observe(
        self,
        batch: Sequence[tuple[Observation, Admission]],
        state: KeyState,
        memo: None,
        stream_start_day: int | None,
        arrivals: Arrivals,
    ) -> list[tuple[Observation, Finding]]:
        found = []
        for observation, admission in batch:
            if not admission.counted:
                continue
            day = observation.event_time_ms // 86_400_000
            add_to_bucket(state, day, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            if state.buckets[day][N] == 3:
                subject = Subject(
                    kind=observation.kind.label, key=observation.key, label=observation.label
                )
                finding = Finding(
                    Severity.LOW, "three in a day", subject, {}, (observation.declaration_id,),
                    window_of(day, 1),
                )  # fmt: skip
                found.append((observation, finding))
        return found


def test_a_window_rule_is_its_module_and_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A new rule declares its own kind of key with its extract: listed in WINDOW_RULES, screening
    # observes it, frames carry it, the table keys it by its label and the engine routes it.
    from alerts.pipeline import Core, CoreOptions, Dataflow, MemoryStore
    from alerts.windows import registry

    monkeypatch.setattr(registry, "WINDOW_RULES", (*registry.WINDOW_RULES, ThreeADay))
    core = Core.build(CoreOptions())
    assert ORIGIN_CHAPTER in core.screener.dimensions
    when = [(START + timedelta(hours=n)).isoformat() for n in range(4)]
    raw = [
        json.dumps(declaration_dict(declaration_id=f"D-{n}", declared_at=at)).encode()
        for n, at in enumerate(when)
    ]
    screening = Dataflow(core).screen([Message(value, n) for n, value in enumerate(raw)])
    (frame,) = [Frame.decode(sent.encode()) for sent in screening.frames.values()]
    ours = [o for o in frame.observations if o.kind is ORIGIN_CHAPTER]
    assert [o.dimension for o in ours] == [90] * 4
    assert {o.table_key for o in ours} == {"test_origin_chapter|CN|84"}
    store = MemoryStore(core.windows)
    alerts = core.window_stage().apply(frame, 0, store).alerts
    (three,) = [a for a in alerts if a.rule_id == "test.three_a_day"]
    assert three.subject.key == "CN|84" and three.declaration_ids == ["D-2"]
    with pytest.raises(ValueError, match="clashes"):
        Dimension(90, "another_label")
