"""The case desk without a broker: its store, its users, its evidence and its pages' refusals.
(Decisions sent through the real broker, and the browser, are in tests/integration/test_desk.py.)"""

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from alerts.feedback import Ruling, Status, suppression_for
from schemas.feedback import Decision, Feedback, Role
from streams.settings import Settings
from tests.tools.desk.conftest import PASSWORD, cases_of, rifles_declaration, volume_case
from tools.desk.app import Desk
from tools.desk.auth import (
    MAX_FAILURES,
    DeskRole,
    Throttle,
    UsersFileError,
    check_password,
    hash_password,
    load_users,
    write_user,
)
from tools.desk.evidence import chart, decided_words, listed_matches, marked, series
from tools.desk.store import SCHEMA_VERSION, CaseState, Filters, Store

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def decision(case_id: str, kind: Decision, n: int, **fields: object) -> Feedback:
    return Feedback(
        feedback_id=f"f{n}",
        case_id=case_id,
        decision=kind,
        reason="why",
        analyst="ann",
        decided_at=NOW + timedelta(minutes=n),
        **fields,  # type: ignore[arg-type]
    )


# -- the store ------------------------------------------------------------------------------


def test_the_newest_version_of_a_case_stands_whatever_order_it_is_read_in(store: Store) -> None:
    rifles = cases_of(rifles_declaration())[0]
    older = rifles.model_copy(update={"version": 1, "risk_score": 0.1})
    store.apply([rifles], [], [], [], {("customs.cases", 0): 5})
    store.apply([older], [], [], [], {("customs.cases", 0): 6})
    found = store.case(rifles.case_id)
    assert found is not None and found[0].version == rifles.version
    assert store.offsets() == {("customs.cases", 0): 6}


def test_a_case_moves_from_new_to_decided_and_back_when_its_decision_is_revoked(
    store: Store,
) -> None:
    rifles = cases_of(rifles_declaration())[0]
    cid = rifles.case_id
    store.apply([rifles], [], [], [], {})
    assert store.case(cid)[1] == CaseState.NEW  # type: ignore[index]
    suppression = suppression_for(rifles, NOW, NOW + timedelta(days=90))
    benign = decision(cid, Decision.BENIGN, 1, suppression=suppression)
    store.apply([], [benign], [], [], {})  # not ruled on yet
    assert store.case(cid)[1] == CaseState.IN_REVIEW  # type: ignore[index]
    store.apply([], [], [Ruling(benign, Status.HELD, "needs a supervisor", "ann")], [], {})
    assert store.case(cid)[1] == CaseState.IN_REVIEW  # type: ignore[index]
    store.apply([], [], [Ruling(benign, Status.ACTIVE, "approved by sue", "sue")], [], {})
    assert store.case(cid)[1] == CaseState.DECIDED  # type: ignore[index]
    revoke = decision(cid, Decision.REVOKE, 2, refers_to="f1")
    store.apply([], [revoke], [], [], {})
    assert store.case(cid)[1] == CaseState.NEW  # type: ignore[index]
    escalate = decision(cid, Decision.ESCALATE, 3)
    store.apply([], [escalate], [], [], {})
    assert store.case(cid)[1] == CaseState.IN_REVIEW  # type: ignore[index]
    # A decision read before its case: the case arrives decided.
    later = cases_of(rifles_declaration("CQA-2"))[0]
    store.apply([], [decision(later.case_id, Decision.CONFIRMED, 4)], [], [], {})
    store.apply([later], [], [], [], {})
    assert store.case(later.case_id)[1] == CaseState.DECIDED  # type: ignore[index]


def test_the_queue_filters_searches_counts_and_pages(store: Store) -> None:
    cases = cases_of(*(rifles_declaration(f"CQA-{n}", f"OOO Importer {n}") for n in range(7)))
    cases.append(volume_case())
    store.apply(cases, [decision(cases[0].case_id, Decision.CONFIRMED, 1)], [], [], {})
    queue = store.queue(Filters(), page=1, size=3)
    assert (queue.total, queue.pages, len(queue.rows)) == (8, 3, 3)
    assert queue.counts == {"new": 7, "in_review": 0, "decided": 1}
    assert [r.risk_score for r in queue.rows] == sorted(
        (r.risk_score for r in queue.rows), reverse=True
    )
    assert store.queue(Filters(state="decided")).total == 1
    assert store.queue(Filters(category="volume_anomaly")).total == 1
    assert store.queue(Filters(rule="restricted_party.watchlist")).total == 7
    assert store.queue(Filters(rule="restricted_party.")).total == 7  # a family of rules
    assert store.queue(Filters(rule="volume_anomaly")).total == 1
    assert store.queue(Filters(rule="restricted_party.watch")).total == 7
    assert store.queue(Filters(rule="nothing.of_the_kind")).total == 0
    assert store.queue(Filters(severity="high")).total == 1
    assert store.queue(Filters(route="kz>ru")).total == 7
    assert store.queue(Filters(reporting_country="ru")).total == 7
    assert store.queue(Filters(party="importer 3")).total == 1
    found = store.queue(Filters(search="CQA-5")).rows
    assert [r.case_id for r in found] == [cases[5].case_id]
    assert store.queue(Filters(search="OOO Importer 6")).total == 1
    assert store.queue(Filters(since="2026-11-10")).total == 7  # the series ended on the 9th
    assert store.queue(Filters(until="2026-11-10")).total == 1
    assert store.queue(Filters(until="2026-11-01")).total == 0


def test_precision_counts_each_kind_of_decision_once_a_case_by_its_rules(store: Store) -> None:
    one, two = cases_of(rifles_declaration("CQA-1"), rifles_declaration("CQA-2", "OOO Two"))
    store.apply(
        [one, two],
        [
            decision(one.case_id, Decision.CONFIRMED, 1),
            decision(one.case_id, Decision.CONFIRMED, 2),
            decision(two.case_id, Decision.BENIGN, 3),
        ],
        [],
        [("a1", "restricted_party.watchlist", "2026-11-21", "f3")],
        {},
    )
    rows = {r.rule_id: r for r in store.precision(NOW, NOW + timedelta(days=1))}
    watch = rows["restricted_party.watchlist"]
    assert (watch.confirmed, watch.benign, watch.suppressed, watch.precision) == (1, 1, 1, 0.5)
    assert store.precision(NOW + timedelta(days=2), NOW + timedelta(days=3)) == []


def test_a_rebuilt_store_equals_the_first(tmp_path: Path) -> None:
    cases = cases_of(rifles_declaration("CQA-1"), rifles_declaration("CQA-2", "OOO Two"))
    batch = ([*cases, volume_case()], [decision(cases[0].case_id, Decision.BENIGN, 1)], [], [])
    first, second = Store(tmp_path / "a.sqlite3"), Store(tmp_path / "b.sqlite3")
    first.apply(*batch, {})
    for case in batch[0]:  # the same records, one at a time, as a rebuild reads them
        second.apply([case], [], [], [], {})
    second.apply([], batch[1], [], [], {})
    assert first.dump() == second.dump()
    assert first.dump()["cases"]


# -- users ----------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes_that_check_only_the_right_password() -> None:
    one, two = hash_password("pass phrase 1"), hash_password("pass phrase 1")
    assert one != two and one.startswith("scrypt$")
    assert check_password("pass phrase 1", one) and not check_password("pass phrase 2", one)
    assert not check_password("pass phrase 1", "scrypt$garbage")


def test_a_bad_users_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users.ann]\nrole = "admin"\n')
    with pytest.raises(UsersFileError, match="role must be viewer, analyst or supervisor"):
        load_users(path)
    path.write_text('[users.ann]\nrole = "analyst"\npassword = "plain"\n')
    with pytest.raises(UsersFileError, match="must be a scrypt hash"):
        load_users(path)
    with pytest.raises(UsersFileError, match="no such file"):
        load_users(tmp_path / "missing.toml")


def test_sign_ins_are_refused_for_a_while_after_repeated_wrong_passwords() -> None:
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        assert not throttle.locked("ann")
        throttle.failed("ann")
    assert throttle.locked("ann") and not throttle.locked("sue")
    now[0] += 301
    assert not throttle.locked("ann")


def test_the_users_file_keeps_roles_and_is_readable_by_its_owner_only(users: Path) -> None:
    loaded = load_users(users)
    assert {n: u.role for n, u in loaded.items()} == {
        "vera": DeskRole.VIEWER, "ann": DeskRole.ANALYST, "sue": DeskRole.SUPERVISOR,
    }  # fmt: skip
    assert users.stat().st_mode & 0o777 == 0o600


# -- evidence -------------------------------------------------------------------------------


def test_the_goods_text_marks_the_words_that_decided_and_escapes_the_rest() -> None:
    rifles = cases_of(rifles_declaration())[0]
    words = decided_words(rifles)
    assert "CQ-A" in words
    text = str(marked(rifles.declarations[0].goods_description, words))
    assert "<mark>CQ-A</mark>" in text
    assert "<mark>охотничьи</mark>" in text  # the civilian claim, found by its stem
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert str(marked("nothing here", words)) == "nothing here"


def test_a_listed_match_names_its_entry_list_and_list_version() -> None:
    rifles = cases_of(rifles_declaration())[0]
    [match] = listed_matches(rifles)
    assert (match.role, match.entry_id, match.list_name) == (
        "exporter",
        "tw-norinco",
        "watchlist_default",
    )
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", match.list_version)


def test_a_window_series_is_drawn_against_its_baseline() -> None:
    metric, points = series(volume_case())
    assert metric == "declarations"
    assert [(p.value, p.expected, p.threshold) for p in points] == [
        (20, 3.5, 9), (21, 3.5, 9), (22, 3.5, 9),
    ]  # fmt: skip
    svg = str(chart(points))
    assert svg.count("<rect") == 3 and 'class="expected"' in svg and 'class="threshold"' in svg
    assert series(cases_of(rifles_declaration())[0]) == ("", [])


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def client(store: Store, users: Path, tmp_path: Path) -> TestClient:
    settings = Settings(desk_users=users, desk_database=tmp_path / "desk.sqlite3")
    cases = cases_of(rifles_declaration("CQA-1"))
    store.apply([*cases, volume_case()], [], [], [], {})
    desk = Desk(settings, store)
    return TestClient(desk.app(start_reader=False), base_url="https://testserver")


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"csrf": token[1], "username": name, "password": password})


def shown(response: Any) -> str:
    """The page's text as a person reads it (entities decoded)."""
    return html.unescape(response.text)


def csrf_of(page_text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_text)
    assert found is not None
    return found[1]


def test_every_page_but_sign_in_needs_a_signed_in_user(client: TestClient) -> None:
    for path in ("/", "/precision", "/cases/x"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    sign_in(client, "ann", "wrong password!")
    assert client.get("/", follow_redirects=False).status_code == 303
    sign_in(client, "ann")
    page = client.get("/")
    assert page.status_code == 200 and "OOO Okhotnik".casefold() in page.text.casefold()
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    cookie = next(c for c in client.cookies.jar if c.name == "tradewatch_desk")
    assert cookie.secure


def test_the_case_page_shows_the_evidence_for_a_person(client: TestClient, store: Store) -> None:
    sign_in(client, "vera")
    [row] = store.queue(Filters(search="CQA-1")).rows
    page = client.get(f"/cases/{row.case_id}")
    assert page.status_code == 200
    assert "<mark>CQ-A</mark>" in page.text
    assert "China North Industries Group Corporation Limited" in page.text
    assert "watchlist_default</b> version" in page.text
    assert f"tradewatch feedback {row.case_id} --benign" in page.text
    assert 'action="/cases/' not in page.text  # a viewer gets no decision form
    [series_row] = store.queue(Filters(category="volume_anomaly")).rows
    assert "<svg" in client.get(f"/cases/{series_row.case_id}").text


def test_a_viewer_may_not_decide(client: TestClient, store: Store) -> None:
    sign_in(client, "vera")
    [row] = store.queue(Filters(search="CQA-1")).rows
    token = csrf_of(client.get("/").text)
    response = client.post(
        f"/cases/{row.case_id}/decide",
        data={"csrf": token, "decision": "benign", "reason": "licensed"},
    )
    assert response.status_code == 403 and "vera is a viewer" in response.text
    assert store.decisions(row.case_id) == []


def test_forms_without_the_sessions_token_are_refused(client: TestClient, store: Store) -> None:
    sign_in(client, "ann")
    [row] = store.queue(Filters(search="CQA-1")).rows
    response = client.post(
        f"/cases/{row.case_id}/decide",
        data={"csrf": "forged", "decision": "confirmed", "reason": "x"},
    )
    assert response.status_code == 403 and "did not come from this desk" in response.text


def test_a_decision_on_a_case_that_does_not_exist_or_that_makes_no_sense_is_refused(
    client: TestClient, store: Store
) -> None:
    sign_in(client, "ann")
    token = csrf_of(client.get("/").text)
    missing = client.post(
        "/cases/0123456789abcdef/decide",
        data={"csrf": token, "decision": "confirmed", "reason": "seen"},
    )
    assert missing.status_code == 404 and "is not in the desk's store" in shown(missing)
    [row] = store.queue(Filters(search="CQA-1")).rows
    for data, said in (
        ({"decision": "benign", "reason": " "}, "say why"),
        ({"decision": "approve", "reason": "x"}, "choose a decision"),
        ({"decision": "suppress", "reason": "x", "days": "400", "rule": "x"}, "1 to 366 days"),
        ({"decision": "suppress", "reason": "x", "days": "30"}, "at least one of the case's rules"),
        (
            {"decision": "suppress", "reason": "x", "days": "30",
             "rule": "restricted_party.watchlist"},
            "at least one key of the case's scope",
        ),
    ):  # fmt: skip
        response = client.post(f"/cases/{row.case_id}/decide", data={"csrf": token, **data})
        assert response.status_code == 400 and said in shown(response), data
    assert store.decisions(row.case_id) == []


def test_only_a_supervisor_approves_and_never_their_own_decision(
    client: TestClient, store: Store
) -> None:
    [row] = store.queue(Filters(search="CQA-1")).rows
    case = store.case(row.case_id)[0]  # type: ignore[index]
    held = Feedback(
        feedback_id="held-1", case_id=case.case_id, decision=Decision.BENIGN, reason="licensed",
        analyst="sue", role=Role.SUPERVISOR, decided_at=NOW,
        suppression=suppression_for(case, NOW, NOW + timedelta(days=90)),
    )  # fmt: skip
    store.apply([], [held], [Ruling(held, Status.HELD, "needs a supervisor", "sue")], [], {})
    sign_in(client, "ann")
    token = csrf_of(client.get("/").text)
    refused = client.post("/decisions/held-1/approve", data={"csrf": token, "reason": "ok"})
    assert refused.status_code == 403 and "only a supervisor approves" in refused.text
    client.post("/logout", data={"csrf": token})
    sign_in(client, "sue")
    token = csrf_of(client.get("/").text)
    own = client.post("/decisions/held-1/approve", data={"csrf": token, "reason": "ok"})
    assert own.status_code == 403 and "not their own" in own.text


def test_a_proxy_header_signs_users_in_with_the_files_roles(
    users: Path, store: Store, tmp_path: Path
) -> None:
    settings = Settings(desk_users=users, desk_auth_header="X-Forwarded-User")
    client = TestClient(
        Desk(settings, store).app(start_reader=False), base_url="https://testserver"
    )
    assert client.get("/", follow_redirects=False).status_code == 303
    page = client.get("/", headers={"X-Forwarded-User": "ann"})
    assert "ann · analyst" in page.text
    page = client.get("/", headers={"X-Forwarded-User": "stranger"})
    assert "stranger · viewer" in page.text
    assert client.post("/login", headers={"X-Forwarded-User": "ann"}).status_code == 403


def test_a_desk_without_users_or_header_does_not_start(store: Store) -> None:
    with pytest.raises(ValueError, match="the desk has no users"):
        Desk(Settings(), store)


# -- the commands ---------------------------------------------------------------------------


def test_desk_user_writes_a_user_the_desk_signs_in(tmp_path: Path) -> None:
    from tests.streams.test_cli import tradewatch

    users = tmp_path / "users.toml"
    made = tradewatch("desk-user", "j.doe", "--role", "supervisor", "--users", str(users),
                      input_text="a long pass phrase\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    [user] = load_users(users).values()
    assert (user.name, user.role) == ("j.doe", DeskRole.SUPERVISOR)
    assert user.password and check_password("a long pass phrase", user.password)
    assert "a long pass phrase" not in users.read_text()


@pytest.mark.parametrize(
    ("args", "password", "said"),
    [
        (["desk-user", "ann", "--role", "analyst"], "a long pass phrase", "say which users file"),
        (["desk-user", "ann", "--role", "analyst", "--users", "{users}"], "short", "12 characters"),
        (
            ["desk-user", "a n", "--role", "analyst", "--users", "{users}"],
            "x" * 12,
            "a user name is",
        ),
        (["desk-user", "ann", "--role", "admin", "--users", "{users}"], "x" * 12, "invalid choice"),
        (["desk"], "", "the desk has no users"),
    ],
)
def test_the_desk_commands_refuse_bad_input_in_one_line(
    tmp_path: Path, args: list[str], password: str, said: str
) -> None:
    from tests.streams.test_cli import one_error_line, tradewatch

    users = tmp_path / "users.toml"
    result = tradewatch(
        *(a.replace("{users}", str(users)) for a in args),
        env={"TRADEWATCH_DESK_DATABASE": str(tmp_path / "desk.sqlite3")},
        input_text=password + "\n",
    )
    assert result.returncode != 0
    assert said in one_error_line(result)
    assert not users.exists()


def test_a_changed_users_file_takes_effect_at_the_next_request(
    client: TestClient, users: Path
) -> None:
    sign_in(client, "ann")
    assert "ann · analyst" in client.get("/").text
    write_user(users, "ann", DeskRole.VIEWER, PASSWORD)
    assert "ann · viewer" in client.get("/").text
    text = users.read_text()
    users.write_text(text.replace("[users.ann]", "[users.ann"))  # broken: the last users stand
    assert "ann · viewer" in client.get("/").text
    users.write_text(text.replace("[users.ann]", "[users.former]"))
    assert client.get("/", follow_redirects=False).status_code == 303  # ann is gone


def test_a_store_of_another_layout_is_started_again_for_the_reader_to_rebuild(
    tmp_path: Path,
) -> None:
    path = tmp_path / "desk.sqlite3"
    store = Store(path)
    store.apply(cases_of(rifles_declaration()), [], [], [], {("customs.cases", 0): 1})
    with store.connect() as db:
        db.execute("UPDATE meta SET value = 'old' WHERE key = 'schema'")
    again = Store(path)
    assert again.offsets() == {} and again.queue(Filters()).total == 0
    assert again.meta("schema") == SCHEMA_VERSION
    kept = Store(path)  # the same layout: kept as it is
    kept.apply(cases_of(rifles_declaration()), [], [], [], {})
    assert Store(path).queue(Filters()).total == 1
