"""faust's delivery ceiling: an agent that does nothing, on the worker's own faust settings.

    TRADEWATCH_* settings as for a worker; NOOP_COUNT=200000 NOOP_OUT=rate.txt
    .venv/bin/python benchmarks/noop_agent.py [batch|plain]

`batch` runs on exactly the App the worker builds (streams.app.faust_app: whole fetched batches
per event); `plain` on faust's own per-message delivery with the same fetch settings, for
comparison. Writes "<records>/s" to NOOP_OUT once NOOP_COUNT records were taken, then exits.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faust

from streams.app import batch_topic, faust_app
from streams.settings import Settings


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "batch"
    settings = Settings()
    count = int(os.environ["NOOP_COUNT"])
    out = Path(os.environ["NOOP_OUT"])
    topic_name = settings.topic_declarations
    app = faust_app(settings, {topic_name} if mode == "batch" else set())
    if mode == "batch":
        topic: Any = batch_topic(app, topic_name, settings, internal=False)
    else:
        topic = app.topic(
            topic_name, key_type=bytes, value_type=bytes, key_serializer="raw",
            value_serializer="raw",
        )  # fmt: skip
    seen = {"records": 0, "started": 0.0}

    def done() -> None:
        rate = count / (time.perf_counter() - seen["started"])
        out.write_text(f"{rate:.0f}\n")
        os._exit(0)

    async def noop(stream: Any) -> None:
        if mode == "batch":
            async for event in stream.noack().events():
                if not seen["started"]:
                    seen["started"] = time.perf_counter()
                seen["records"] += len(event.value)
                event.ack()
                if seen["records"] >= count:
                    done()
        else:
            async for _ in stream.events():
                if not seen["started"]:
                    seen["started"] = time.perf_counter()
                seen["records"] += 1
                if seen["records"] >= count:
                    done()

    app.agent(topic, name="noop")(noop)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
