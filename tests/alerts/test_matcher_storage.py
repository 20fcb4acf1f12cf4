"""The party matcher at list scale: its analysis kept between starts, reused across versions,
and a replaced core freed in a process whose heap start-up froze."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import alerts.name_analysis
import alerts.parties
from alerts.parties import PartyMatcher, WatchlistEntry
from tests.alerts.test_parties import ENTRIES, LISTED

QUERIES = [
    "Tula Cartridge Works",
    "Kalashnikov Concern",
    "ООО «Техкрим»",
    "Shenzhen Xinda Trading Co., Ltd.",
    "Hong Kong Tiles & Ceramic Trading",
    "NPO Mashinostroeniya",
]


def results(matcher: PartyMatcher) -> list[list[tuple[str, float, tuple[str, ...]]]]:
    return [
        # As the rule asks: name, tax id and country (the cache's key)
        [(m.entry.entry_id, m.score, m.reasons) for m in matcher.match(query, None, None)]
        for query in QUERIES
    ]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names analysed from here on; no earlier matcher to reuse."""
    analysed: list[str] = []
    real = alerts.name_analysis.analyse_uncached

    def counting(name: str) -> tuple[object, ...]:
        analysed.append(name)
        return real(name)

    monkeypatch.setattr(alerts.name_analysis, "analyse_uncached", counting)
    monkeypatch.setattr(alerts.parties, "_BUILT", [])
    return analysed


def test_a_restart_reads_the_kept_analysis(tmp_path: Path, counted: list[str]) -> None:
    entries = [*ENTRIES, *LISTED]
    first = PartyMatcher(entries, saved=tmp_path)
    names = sum(1 + len(e.aliases) for e in entries)
    assert len(counted) == names
    assert len(list(tmp_path.glob("*.npz"))) == 1
    expected = results(first)
    assert any(expected)

    alerts.parties._BUILT.clear()  # as in a new process: nothing in memory to reuse
    counted.clear()
    again = PartyMatcher(entries, saved=tmp_path)
    assert counted == []
    assert results(again) == expected


def test_a_kept_analysis_of_other_names_is_not_read(tmp_path: Path, counted: list[str]) -> None:
    PartyMatcher(ENTRIES, saved=tmp_path)
    alerts.parties._BUILT.clear()
    counted.clear()
    PartyMatcher(LISTED, saved=tmp_path)
    assert len(counted) == sum(1 + len(e.aliases) for e in LISTED)


def test_a_corrupt_kept_analysis_is_analysed_again(
    tmp_path: Path, counted: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    expected = results(PartyMatcher(LISTED, saved=tmp_path))
    [kept] = tmp_path.glob("*.npz")
    kept.write_bytes(kept.read_bytes()[:100])
    alerts.parties._BUILT.clear()
    counted.clear()
    matcher = PartyMatcher(LISTED, saved=tmp_path)
    assert len(counted) == sum(1 + len(e.aliases) for e in LISTED)
    assert results(matcher) == expected
    assert "unreadable" in caplog.text


def test_a_new_version_analyses_only_the_names_that_changed(counted: list[str]) -> None:
    before = PartyMatcher(LISTED)
    counted.clear()
    changed = dataclasses.replace(LISTED[0], aliases=("Tula Ammunition Plant",))
    added = WatchlistEntry("t", "new", "Sovfracht Trading House", (), "RU", (), "SDN")
    after = PartyMatcher([changed, *LISTED[1:], added])
    assert sorted(counted) == ["Sovfracht Trading House", "Tula Ammunition Plant"]
    assert after.match("Tula Ammunition Plant", None)[0].entry.entry_id == changed.entry_id
    assert after.match("Sovfracht Trading House LLC", None)[0].entry.entry_id == "new"
    assert results(after) == results(before)  # the queries do not involve what changed


def test_a_large_list_is_analysed_in_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [*ENTRIES, *LISTED]
    monkeypatch.setattr(alerts.parties, "_BUILT", [])
    here = results(PartyMatcher(entries))
    alerts.parties._BUILT.clear()
    monkeypatch.setattr(alerts.name_analysis, "PARALLEL_FROM", 1)
    monkeypatch.setattr(alerts.name_analysis.os, "cpu_count", lambda: 2)
    children: list[int] = []
    real = alerts.name_analysis._child

    def child(names: list[str]) -> bytes:
        children.append(len(names))
        return real(names)

    monkeypatch.setattr(alerts.name_analysis, "_child", child)
    assert results(PartyMatcher(entries)) == here
    assert len(children) == 2 and sum(children) == sum(1 + len(e.aliases) for e in entries)


def test_a_failed_child_falls_back_to_analysing_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(alerts.parties, "_BUILT", [])
    here = results(PartyMatcher(LISTED))
    alerts.parties._BUILT.clear()
    monkeypatch.setattr(alerts.name_analysis, "PARALLEL_FROM", 1)
    monkeypatch.setattr(alerts.name_analysis.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(alerts.name_analysis.sys, "executable", "/nonexistent/python")
    assert results(PartyMatcher(LISTED)) == here
    assert "child processes failed" in caplog.text


SWAPS = """
import gc
from alerts.pipeline import Core, CoreOptions
from streams import heap

core = Core.build(CoreOptions())
heap.settle()
frozen = []
for _ in range(3):
    core = Core.build(CoreOptions())
    heap.resettle()
    frozen.append(gc.get_freeze_count())
print(frozen)
"""


def test_a_replaced_core_is_freed_after_start_up_froze_the_heap() -> None:
    # In its own process: freezing the heap would outlive this test in pytest's.
    run = subprocess.run(
        [sys.executable, "-c", SWAPS],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    frozen = eval(run.stdout)
    assert frozen[0] == frozen[1] == frozen[2], frozen


def test_a_new_matcher_is_warmed_with_the_parties_met_last() -> None:
    old = PartyMatcher(LISTED)
    for query in QUERIES:
        old.match(query, None, None)
    old.match(QUERIES[0], None, None)  # a cache hit is not asked again
    assert [q[0] for q in old.asked] == QUERIES

    new = PartyMatcher(LISTED)
    assert new.warm(old, seconds=60) == len(QUERIES)
    assert new.match.cache_info().currsize == len(QUERIES)
    hits = new.match.cache_info().hits
    assert results(new) == results(old)
    assert new.match.cache_info().hits == hits + len(QUERIES)  # every query was warm


def test_warming_stops_at_its_time_budget() -> None:
    old = PartyMatcher(LISTED)
    for query in QUERIES:
        old.match(query, None, None)
    new = PartyMatcher(LISTED)
    assert new.warm(old, seconds=-1) == 0
    assert new.match.cache_info().currsize == 0
