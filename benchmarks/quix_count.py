"""The peer in bench_pipeline's comparison: Quix Streams' windowed count and sum per importer.

Run by `bench_pipeline.py --only peer` in a virtual environment of its own (Quix Streams pins
pydantic below the version tradewatch uses), never imported by tradewatch:

    .local/quix-venv/bin/python benchmarks/quix_count.py BROKER TOPIC COUNT OUT

What a user choosing between the two would write with Quix's defaults: one-day tumbling windows
in event time (the declaration's declared_at), per importer (the topic is keyed by importer
name), the count of declarations and the sum of their invoice values, each update emitted.
Writes the records a second, from its first record to its last, to OUT.
"""

import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from quixstreams import Application
from quixstreams.dataframe.windows import Count, Sum


def event_time(value: Any, headers: Any, timestamp: int, timestamp_type: Any) -> int:
    return int(datetime.fromisoformat(value["declared_at"]).timestamp() * 1000)


def main() -> None:
    broker, topic_name, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    app = Application(
        broker_address=broker,
        consumer_group=f"quix-{topic_name}",
        auto_offset_reset="earliest",
        state_dir=tempfile.mkdtemp(prefix="quix-state-"),
    )
    topic = app.topic(topic_name, value_deserializer="json", timestamp_extractor=event_time)
    sdf = app.dataframe(topic)
    seen = {"records": 0, "first": 0.0, "last": 0.0}

    def timed(value: Any) -> None:
        now = time.perf_counter()
        seen["first"] = seen["first"] or now
        seen["last"] = now
        seen["records"] += 1

    sdf = sdf.update(timed)
    sdf = sdf.apply(lambda value: {"invoice_value": value["invoice_value"]})
    sdf = (
        sdf.tumbling_window(timedelta(days=1))
        .agg(declarations=Count(), value=Sum("invoice_value"))
        .current()
    )
    # Stops once nothing new has come for a few seconds: records later than a closed window are
    # dropped by Quix and emit nothing, so a count of outputs might never be reached.
    app.run(sdf, timeout=5.0, collect=False)
    if seen["records"] < count:
        raise SystemExit(f"read {seen['records']} of {count} records")
    out.write_text(f"{round(seen['records'] / (seen['last'] - seen['first']))}\n")


if __name__ == "__main__":
    main()
