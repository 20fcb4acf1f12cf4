"""A worker started on a new group and new topics screens and windows everything it is given.

Once, 2 fresh starts in 9 subscribed before faust had created the observations topic, and the
window stage never ran. The worker now creates and checks every topic before its agents
subscribe. CI starts TRADEWATCH_FRESH_STARTS workers (default 3); the closing note's 20 ran
with TRADEWATCH_FRESH_STARTS=20.
"""

import os
import uuid
from pathlib import Path

import orjson
import pytest

from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import (
    WorkerProcess,
    metric,
    produce,
    scrape,
    wait_until_drained,
    worker_env,
)

STARTS = int(os.environ.get("TRADEWATCH_FRESH_STARTS", "3"))


@pytest.mark.broker
@pytest.mark.timeout(120 + 60 * STARTS)
def test_fresh_workers_never_leave_the_window_stage_idle(broker_url: str, tmp_path: Path) -> None:
    declarations = [
        orjson.dumps(declaration_dict(declaration_id=f"F-{n}", hs_code="854231")) for n in range(50)
    ]
    idle = []
    for start in range(STARTS):
        name = f"fresh{uuid.uuid4().hex[:10]}"
        env = worker_env(broker_url, name, tmp_path / name)
        with WorkerProcess(env, tmp_path / f"{name}.log") as worker:
            # The worker made its topics: nothing was created beforehand.
            produce(
                broker_url, env["TRADEWATCH_TOPIC_DECLARATIONS"], [(None, d) for d in declarations]
            )
            wait_until_drained(worker, len(declarations), timeout_s=60)
            samples = scrape(worker.metrics_url)
        counted = metric(
            samples,
            "tradewatch_window_observations_total",
            dimension="subheading_unit",
            outcome="counted",
        )
        if counted != len(declarations):
            idle.append((start, counted))
    assert not idle, f"window stage idle or short after fresh starts: {idle}"
