"""Checking a finding against the suppressions in force: the same cost at 100,000 as at 10.

    python -m benchmarks.bench_suppressions

Each suppression names the seed rifles' rules and another importer; one of them names the
finding's own parties. A finding is checked with 10, 1,000, 20,000 and 100,000 in force, and
putting 100,000 in force is timed too. The target: checking at 100,000 costs at most twice what
it costs at 10.
"""

import time
from datetime import UTC, datetime, timedelta

import orjson

from alerts.feedback import Suppressions, suppression_for
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from schemas.feedback import Decision, Feedback, Role
from tests.alerts.rules.helpers import party
from tests.conftest import declaration_dict

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def main() -> None:
    core = Core.build(CoreOptions())
    core.suppressions.judged_on = "event"
    raw = orjson.dumps(
        declaration_dict(
            declaration_id="RIFLES-1",
            declared_at=T0.isoformat(),
            hs_code="930320",
            goods_description="Карабины охотничьи CQ-A калибр 5,56 мм",
            exporter=party("China North Industries Corporation", "CN"),
            destination_country="RU",
        )
    )
    alerts = OfflinePipeline(core).feed(raw, 0)
    assert isinstance(alerts, list) and alerts
    from alerts.cases import declaration_case

    case = declaration_case(alerts, core.scoring)
    assert case is not None
    base = suppression_for(case, T0, T0 + timedelta(days=20))

    def decision(number: int, importer: str) -> Feedback:
        suppression = base.model_copy(update={"match": {**base.match, "importer": importer}})
        return Feedback(
            feedback_id=f"s{number}", case_id=case.case_id, decision=Decision.BENIGN,
            reason="bench", analyst="bench", role=Role.SUPERVISOR, decided_at=T0,
            suppression=suppression,
        )  # fmt: skip

    decisions = [decision(n, f"importer {n}") for n in range(100_000)]
    own = decision(-1, base.match["importer"])
    print(f"{'suppressions':>13} {'check, µs a finding':>20}")
    costs = {}
    for size in (10, 1_000, 20_000, 100_000):
        suppressions = Suppressions(judged_on="event")
        started = time.perf_counter()
        for item in decisions[:size]:
            suppressions.add(item)
        suppressions.add(own)
        added = time.perf_counter() - started
        rounds = 20_000
        started = time.perf_counter()
        for _ in range(rounds):
            for alert in alerts:
                suppressions.match(alert)
        costs[size] = (time.perf_counter() - started) / (rounds * len(alerts)) * 1e6
        print(f"{size:>13,} {costs[size]:>20.2f}   (put in force in {added:.1f} s)")
    ratio = costs[100_000] / costs[10]
    verdict = "yes" if ratio <= 2 else "no"
    print(f"at 100,000 ÷ at 10: {ratio:.2f} (target <= 2) {verdict}")


if __name__ == "__main__":
    main()
