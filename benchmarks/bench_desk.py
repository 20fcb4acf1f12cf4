"""The case desk's pages with 100,000 cases in its store: p95 of each page against 200 ms.

    python -m benchmarks.bench_desk [--cases 100000]

The store is filled with copies of real cases (the seed rifles' declaration case and a
three-window volume series, as the worker makes them), each with its own id, declaration,
parties, route, score and time, and a decision on one in ten. Every page is then requested
through the application (routing, the store's queries, the templates; not the network), 50
times each, signed in as an analyst.
"""

import argparse
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from schemas.case import Case
from schemas.feedback import Decision, Feedback
from streams.settings import Settings
from tests.tools.desk.conftest import PASSWORD, cases_of, rifles_declaration, volume_case
from tools.desk.app import Desk
from tools.desk.auth import DeskRole, write_user
from tools.desk.store import Store

TARGET_MS = 200.0
REQUESTS = 50
COUNTRIES = ("KZ", "KG", "AM", "GE", "TR", "AE", "UZ", "CN")


def copies(count: int) -> tuple[list[Case], list[Feedback]]:
    [rifles], series = cases_of(rifles_declaration("SEED")), volume_case()
    cases, decisions = [], []
    for n in range(count):
        base = series if n % 5 == 0 else rifles
        update: dict[str, object] = {
            "case_id": f"{n:032x}",
            "risk_score": round((n * 7919 % 10_000) / 10_000, 4),
            "declaration_ids": [f"D-{n}"],
            "first_event_time": base.first_event_time - timedelta(minutes=n),
            "last_event_time": base.last_event_time - timedelta(minutes=n),
            "scope": {k: f"{v} {n}" for k, v in base.scope.items()},
        }
        if base.declarations:
            declared = base.declarations[0]
            importer = declared.importer.model_copy(update={"name": f"OOO Importer {n}"})
            update["declarations"] = [
                declared.model_copy(
                    update={
                        "declaration_id": f"D-{n}",
                        "importer": importer,
                        "dispatch_country": COUNTRIES[n % len(COUNTRIES)],
                    }
                )
            ]
        case = base.model_copy(update=update)
        cases.append(case)
        if n % 10 == 0:
            decisions.append(
                Feedback(
                    feedback_id=f"f{n}",
                    case_id=case.case_id,
                    decision=Decision.CONFIRMED if n % 20 else Decision.BENIGN,
                    reason="bench",
                    analyst="ann",
                    decided_at=case.last_event_time,
                )
            )
    return cases, decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        users = root / "users.toml"
        write_user(users, "ann", DeskRole.ANALYST, PASSWORD)
        store = Store(root / "desk.sqlite3")
        started = time.perf_counter()
        cases, decisions = copies(args.cases)
        for at in range(0, len(cases), 10_000):
            store.apply(cases[at : at + 10_000], [], [], [], {})
        store.apply([], decisions, [], [], {})
        filled = time.perf_counter() - started
        size = (root / "desk.sqlite3").stat().st_size
        rate = args.cases / filled
        print(f"store: {args.cases:,} cases and {len(decisions):,} decisions written in "
              f"{filled:.1f} s ({rate:,.0f} cases/s), {size / 1e6:.0f} MB")  # fmt: skip
        settings = Settings(desk_users=users, desk_database=root / "desk.sqlite3")
        client = TestClient(Desk(settings, store).app(start_reader=False), base_url="https://t")
        login = client.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', login)
        assert token is not None
        client.post("/login", data={"csrf": token[1], "username": "ann", "password": PASSWORD})
        middle = cases[len(cases) // 2]
        pages = {
            "queue, first page": "/",
            "queue, page 1,000": "/?page=1000",
            "queue, state new": "/?state=new",
            "queue, severity and category": "/?severity=high&category=volume_anomaly",
            "queue, rule": "/?rule=transshipment.diversion_route",
            "queue, route": "/?route=AM>RU",
            "queue, dates": "/?since=2026-10-01&until=2026-10-15",
            "queue, party (rare)": f"/?party=OOO+Importer+{len(cases) - 3}",
            "search, declaration id": f"/?search=D-{len(cases) // 2}",
            "search, party name": "/?search=OOO+Importer+77777",
            "case page": f"/cases/{middle.case_id}",
            "precision, 30 days": "/precision?days=30",
            "precision, 3 years": "/precision?days=1100",
        }
        print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'target':>8}")
        worst = 0.0
        for name, path in pages.items():
            times = []
            for _ in range(REQUESTS):
                began = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            p95 = statistics.quantiles(times, n=20)[18]
            worst = max(worst, p95)
            target = f"≤ {TARGET_MS:.0f}"
            print(f"{name:<32} {statistics.median(times):>8.1f} {p95:>8.1f} {target:>8}")
        verdict = "met" if worst <= TARGET_MS else "MISSED"
        print(f"worst p95 {worst:.1f} ms: target ≤ {TARGET_MS:.0f} ms {verdict}")


if __name__ == "__main__":
    main()
