"""The case desk against the real broker and worker.

- Its reader resumes from the offsets its store holds, and a deleted store is rebuilt from the
  topics with the same contents.
- In headless Chromium (Debian's, driven by Playwright; nothing downloaded): an analyst signs in,
  opens the queue and the seed case (the CQ-A rifles), reads its evidence and marks it benign
  with a 90-day suppression; that needs a supervisor, who approves it; the next shipment between
  the same parties arrives suppressed and opens no case. A viewer's attempt to decide is
  refused. Screenshots are kept in .local/artifacts/desk/.
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.alert import Alert
from schemas.feedback import Decision, Feedback
from streams.settings import Settings
from tests.integration.kafka_helpers import (
    WorkerProcess,
    consume,
    create_topic,
    free_port,
    produce,
    worker_env,
)
from tests.integration.test_feedback_broker import cases_by_id, declaration_case_id, rifles
from tests.tools.desk.conftest import PASSWORD, cases_of, rifles_declaration
from tools.desk.auth import DeskRole, write_user
from tools.desk.store import Filters, Store
from tools.desk.sync import DeskReader

ARTIFACTS = Path(__file__).resolve().parents[2] / ".local" / "artifacts" / "desk"
CHROMIUM = shutil.which("chromium")


def desk_settings(env: dict[str, str], database: Path) -> Settings:
    return Settings(
        broker_url=env["TRADEWATCH_BROKER_URL"],
        app_id=env["TRADEWATCH_APP_ID"],
        topic_cases=env["TRADEWATCH_TOPIC_CASES"],
        topic_feedback=env["TRADEWATCH_TOPIC_FEEDBACK"],
        topic_alerts=env["TRADEWATCH_TOPIC_ALERTS"],
        desk_database=database,
    )


def caught_up(reader: DeskReader, read: int, timeout_s: float = 60) -> None:
    assert reader.wait_for(lambda: reader.read >= read and reader.behind == 0, timeout_s), (
        f"the desk read {reader.read} of {read} records; error: {reader.error}"
    )


@pytest.mark.broker
def test_the_desk_resumes_from_its_offsets_and_rebuilds_a_deleted_store(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    env = worker_env(broker_url, unique_name, tmp_path / "state")
    settings = desk_settings(env, tmp_path / "desk.sqlite3")
    for topic in (settings.topic_cases, settings.topic_feedback, settings.decisions_topic,
                  settings.topic_alerts):  # fmt: skip
        create_topic(broker_url, topic, 3)
    cases = cases_of(*(rifles_declaration(f"CQA-{n}", f"OOO Buyer {n}") for n in range(8)))
    now = datetime.now(UTC)
    decisions = [
        Feedback(
            feedback_id=f"f{n}",
            case_id=case.case_id,
            decision=Decision.CONFIRMED,
            reason="seen",
            analyst="ann",
            decided_at=now + timedelta(seconds=n),
        )
        for n, case in enumerate(cases[:3])
    ]

    def send(first: int, last: int) -> int:
        records = [(c.case_id.encode(), c.model_dump_json().encode()) for c in cases[first:last]]
        produce(broker_url, settings.topic_cases, records)
        return last - first

    sent = send(0, 5)
    produce(broker_url, settings.topic_feedback,
            [(d.case_id.encode(), d.model_dump_json().encode()) for d in decisions])  # fmt: skip
    sent += len(decisions)
    store = Store(settings.desk_database)
    reader = DeskReader(settings, store)
    reader.start()
    try:
        caught_up(reader, sent)
    finally:
        reader.stop()
    assert store.queue(Filters()).counts == {"new": 2, "in_review": 0, "decided": 3}

    # Restarted: only what arrived since is read.
    more = send(5, 8)
    again = DeskReader(settings, Store(settings.desk_database))
    again.start()
    try:
        caught_up(again, more)
        time.sleep(1.5)  # a second poll: nothing older comes back
    finally:
        again.stop()
    assert again.read == more
    first = store.dump()
    assert len(first["cases"]) == 8 and len(first["decisions"]) == 3

    # Deleted: rebuilt from the topics, the same.
    for path in tmp_path.glob("desk.sqlite3*"):
        path.unlink()
    rebuilt = Store(settings.desk_database)
    reader = DeskReader(settings, rebuilt)
    reader.start()
    try:
        caught_up(reader, 8 + len(decisions))
    finally:
        reader.stop()
    assert rebuilt.dump() == first


@contextmanager
def desk_process(env: dict[str, str], log_path: Path) -> Iterator[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWATCH_")}
    url = f"http://localhost:{env['TRADEWATCH_DESK_PORT']}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams", "desk"], env={**clean, **env}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def until_shown(page: Any, shown: Callable[[], bool], timeout_s: float = 90) -> None:
    """Reload the page until it shows what the worker and the desk's reader bring in."""
    deadline = time.monotonic() + timeout_s
    while not shown():
        if time.monotonic() > deadline:
            main = page.locator("main").inner_text()
            raise AssertionError(f"not shown after {timeout_s:.0f} s; the page holds:\n{main}")
        time.sleep(0.5)
        page.reload()


@pytest.mark.broker
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_an_analyst_decides_the_seed_case_in_the_browser(
    broker_url: str, unique_name: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    users = tmp_path / "users.toml"
    for name, role in (("vera", "viewer"), ("ann", "analyst"), ("sue", "supervisor")):
        write_user(users, name, DeskRole(role), PASSWORD)
    env = worker_env(broker_url, unique_name, tmp_path / "state") | {
        "TRADEWATCH_DESK_PORT": str(free_port()),
        "TRADEWATCH_DESK_USERS": str(users),
        "TRADEWATCH_DESK_DATABASE": str(tmp_path / "desk.sqlite3"),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    topic = env["TRADEWATCH_TOPIC_DECLARATIONS"]
    seed = declaration_case_id("RIFLES-1")
    with (
        WorkerProcess(env, tmp_path / "worker.log"),
        desk_process(env, tmp_path / "desk.log") as url,
        sync_playwright() as playwright,
    ):
        produce(broker_url, topic, [rifles("RIFLES-1")])
        cases_by_id(broker_url, env["TRADEWATCH_TOPIC_CASES"], lambda rs: len(rs) >= 1)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def signed_in(name: str) -> Page:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{url}/")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            page.get_by_label("User").fill(name)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text(f"{name} · ")).to_be_visible()
            return page

        # The analyst: the queue, the seed case, its evidence.
        ann = signed_in("ann")
        # The desk's reader brings the case in.
        until_shown(ann, lambda: ann.get_by_role("link", name="declaration RIFLES-1").count() > 0)
        ann.screenshot(path=ARTIFACTS / "queue.png", full_page=True)
        ann.get_by_role("link", name="declaration RIFLES-1").click()
        expect(ann.locator(".goods mark").first).to_have_text("охотничьи")
        expect(ann.locator(".goods mark", has_text="CQ-A")).to_have_count(1)
        expect(
            ann.get_by_text("China North Industries Group Corporation Limited").first
        ).to_be_visible()
        expect(ann.locator("#state")).to_have_text("new")
        ann.screenshot(path=ARTIFACTS / "case.png", full_page=True)
        ann.screenshot(path=ARTIFACTS / "case-top.png")  # the README's

        # Benign, suppressed for 90 days: over critical listed-party findings and longer than
        # 30 days, it waits for a supervisor.
        ann.get_by_role("radio", name="benign").check()
        ann.get_by_label("Reason (kept with the decision for good)").fill("licensed importer")
        ann.get_by_label("also suppress what would repeat this case (benign)").check()
        ann.get_by_label("Days, 1 to 366").fill("90")
        ann.get_by_role("button", name="Record the decision").click()
        expect(ann.locator("#flash")).to_contain_text("needs a supervisor")
        expect(ann.locator("#state")).to_have_text("in review")
        ann.screenshot(path=ARTIFACTS / "decided.png", full_page=True)

        # The viewer may read but not decide, whatever they send.
        vera = signed_in("vera")
        vera.goto(f"{url}/cases/{seed}")
        expect(vera.get_by_role("button", name="Record the decision")).to_have_count(0)
        token = vera.locator('input[name="csrf"]').first.get_attribute("value")
        refused = vera.request.post(
            f"{url}/cases/{seed}/decide",
            form={"csrf": token or "", "decision": "confirmed", "reason": "mine"},
        )
        assert refused.status == 403 and "vera is a viewer" in refused.text()

        # The supervisor approves it; the worker puts it in force.
        sue = signed_in("sue")
        sue.goto(f"{url}/cases/{seed}")
        held = sue.locator(".decisions li", has_text="licensed importer")
        until_shown(sue, lambda: held.get_by_role("button", name="Approve").count() > 0)
        held.get_by_label("Reason").fill("licence seen")
        held.get_by_role("button", name="Approve").click()
        expect(sue.locator("#flash")).to_contain_text("approve of")
        until_shown(
            sue, lambda: "active: approved by sue" in sue.locator(".decisions").inner_text()
        )
        expect(sue.locator("#state")).to_have_text("decided")

        # The next shipment between the same parties: suppressed, no case; another importer's
        # shipment after it still opens one.
        produce(broker_url, topic, [rifles("RIFLES-2"), rifles("RIFLES-3", importer="OOO Strelok")])
        later = declaration_case_id("RIFLES-3")
        cases = cases_by_id(broker_url, env["TRADEWATCH_TOPIC_CASES"], lambda rs: any(
            r.key.decode() == later for r in rs))  # fmt: skip
        assert declaration_case_id("RIFLES-2") not in cases
        alerts = [
            Alert.model_validate_json(r.value)
            for r in consume(
                broker_url,
                env["TRADEWATCH_TOPIC_ALERTS"],
                until=lambda rs: any(b'"RIFLES-2"' in r.value for r in rs),
            )
        ]
        second = [a for a in alerts if a.declaration_ids == ["RIFLES-2"]]
        assert second and all(a.suppressed_by is not None for a in second)
        until_shown(sue, lambda: "silenced" in sue.locator(".decisions").inner_text())
        expect(sue.locator(".decisions")).to_contain_text(f"silenced {len(second)} findings")
        sue.screenshot(path=ARTIFACTS / "approved.png", full_page=True)
        sue.goto(f"{url}/?search=RIFLES-2")
        expect(sue.get_by_text("No case matches.")).to_be_visible()
        browser.close()
