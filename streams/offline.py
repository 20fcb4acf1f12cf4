"""The worker's core run offline, from settings: what `tradewatch backtest` feeds.

    pipeline = offline_pipeline(Settings())
    pipeline.feed(raw, source_offset=41)     # alerts, or the Rejection

The pipeline itself (alerts/pipeline.py) knows nothing of Kafka or faust.
"""

from alerts.feedback import Suppressions
from alerts.pipeline import Core, OfflinePipeline
from streams.app import core_options
from streams.settings import Settings


def offline_pipeline(
    settings: Settings, suppressions: Suppressions | None = None
) -> OfflinePipeline:
    """The same Core as the worker's, built from the same settings. A replay takes each finding
    as made when it was declared, so that suppressions give the same results at every run."""
    if suppressions is None:
        suppressions = Suppressions(judged_on="event")
    return OfflinePipeline(Core.build(core_options(settings), suppressions=suppressions))
