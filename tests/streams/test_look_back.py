"""The worker's look back on a list change: a step at a time, its progress written with the
window table, resumed from there by a worker that starts over (nothing lost, repeats allowed)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.pipeline import Core, CoreOptions, WindowStage
from alerts.reference import parse_file
from alerts.retro import list_changes, party_observations
from alerts.windows.observations import Declared, Frame
from streams.look_back import LookBack
from streams.metrics import Metrics
from streams.window_store import TableStore
from tests.conftest import declaration_record
from tests.streams.test_reference_stream import new_watchlist
from tests.streams.test_store import MemoryData, RocksData

LISTED = ["OOO Novyi Zavod Priborov", "Tekhnoeksport Trading LLC"]
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def indexed(data: Any) -> tuple[TableStore, Core]:
    """Parties of 12 declarations on two partitions, written to the store as a checkpoint does."""
    core = Core.build(CoreOptions())
    store = TableStore(core.windows, data)
    stage = WindowStage(core.windows)
    for number in range(12):
        importer = LISTED[number % 2] if number < 8 else f"OOO Obychnaya Firma {number}"
        declaration = declaration_record(
            declaration_id=f"PAST-{number}",
            declared_at=(T0 + timedelta(days=number)).isoformat(),
            importer={"name": importer, "country": "RU"},
        )
        where = {"source_partition": 0, "source_offset": number}
        observations = party_observations(Declared(declaration, watched=False, fx=core.fx, **where))
        stage.apply(Frame(observations[0].event_time_ms, observations), number % 2, store)
    store.written(store.changes())
    return store, core


def changed(core: Core) -> Core:
    content = new_watchlist("2026.12.1", *LISTED)
    loaded = parse_file(Path("watchlist_default@2026.12.1"), content)
    return Core.build(CoreOptions(), reference=core.reference.replaced(loaded))


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_a_look_back_cut_short_resumes_from_its_marker(kind: str, tmp_path: Path) -> None:
    data = MemoryData() if kind == "memory" else RocksData(tmp_path)
    store, core = indexed(data)
    new = changed(core)
    changes = list_changes(core.reference, new.reference, 85, T0 + timedelta(days=30))
    metrics = Metrics(CollectorRegistry())

    whole = LookBack(store, lambda: new, metrics)
    whole.start(changes, {0, 1})
    everything = []
    while whole.jobs:
        everything += whole.step(max_keys=1)[0]
    assert sorted(a.declaration_ids[0] for a in everything) == [f"PAST-{n}" for n in range(8)]

    # Another run of the same: one step, written, then the worker dies.
    store, _ = indexed(MemoryData() if kind == "memory" else RocksData(tmp_path / "again"))
    first = LookBack(store, lambda: new, metrics)
    first.start(changes, {0, 1})
    before = first.step(max_keys=1)[0]
    store.written(store.changes())
    restarted = LookBack(TableStore(new.windows, store.data), lambda: new, metrics)
    for partition in (0, 1):
        restarted.resume(partition)
    after = []
    while restarted.jobs:
        after += restarted.step(max_keys=1)[0]
    assert {a.alert_id for a in before + after} == {a.alert_id for a in everything}
    restarted.store.written(restarted.store.changes())
    done = LookBack(TableStore(new.windows, store.data), lambda: new, metrics)
    done.resume(0)
    done.resume(1)
    assert not done.jobs  # finished: nothing to resume


def test_an_unreadable_marker_is_left_alone_and_the_others_resume(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from alerts.state.keys import look_back_key

    store, core = indexed(MemoryData())
    new = changed(core)
    changes = list_changes(core.reference, new.reference, 85, T0 + timedelta(days=30))
    metrics = Metrics(CollectorRegistry())
    first = LookBack(store, lambda: new, metrics)
    first.start(changes, {0, 1})
    first.step(max_keys=1)
    store.written(store.changes())
    # Partition 0's marker is overwritten by something no version wrote.
    store.written({0: [(look_back_key(0, changes[0].label), b"\x07not a marker")]})
    restarted = LookBack(TableStore(new.windows, store.data), lambda: new, metrics)
    restarted.resume(0)
    restarted.resume(1)
    assert [job.partition for job in restarted.jobs] == [1]
    assert "marker is unreadable" in caplog.text


def test_an_unreadable_review_starts_over_instead_of_stopping_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from alerts.feedback import Review
    from alerts.state.formats import REVIEW
    from streams.review_agent import stored_review

    kept = Review(rules=["controlled_goods.restricted_destination"], touched_ms=5)
    assert stored_review(REVIEW.encode(kept)) == kept
    assert stored_review(kept.encode()) == kept  # as written before format bytes
    assert stored_review(None) == Review()
    assert "unreadable" not in caplog.text
    assert stored_review(b"\x07junk") == Review()
    assert "review is unreadable" in caplog.text
