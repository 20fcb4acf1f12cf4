"""The worker's core run offline, from settings: what `tradewatch backtest` feeds.

    pipeline = offline_pipeline(Settings())
    pipeline.feed(raw, source_offset=41)     # alerts, or the Rejection

The pipeline itself (alerts/pipeline.py) knows nothing of Kafka or faust, and neither does this
module: the backtest and the reference CLI build the worker's core from here without loading
faust (streams/app.py imports core_options from here).
"""

from alerts.feedback import Suppressions
from alerts.pipeline import Core, CoreOptions, OfflinePipeline
from alerts.reference import DEFAULT_REFERENCE_DIR
from alerts.rules import CatalogueOptions
from streams.settings import Settings


def catalogue_options(settings: Settings) -> CatalogueOptions:
    return CatalogueOptions(
        restricted_destinations=frozenset(settings.restricted_destinations) or None,
        extra_watchlists=settings.watchlists,
        party_match_threshold=settings.party_match_threshold,
        name_analysis_dir=settings.data_dir / "listed-names",
    )


def core_options(settings: Settings) -> CoreOptions:
    return CoreOptions(
        reference_dir=settings.reference_dir or DEFAULT_REFERENCE_DIR,
        catalogue=catalogue_options(settings),
        windows=settings.window_config(),
        fx_rates_file=settings.fx_rates_file,
        max_message_bytes=settings.max_message_bytes,
        max_future_ms=settings.max_future_seconds * 1000,
        retro_days=settings.retro_days,
    )


def offline_pipeline(
    settings: Settings, suppressions: Suppressions | None = None, cases: bool = True
) -> OfflinePipeline:
    """The same Core as the worker's, built from the same settings. A replay takes each finding
    as made when it was declared, so that suppressions give the same results at every run."""
    if suppressions is None:
        suppressions = Suppressions(judged_on="event")
    core = Core.build(core_options(settings), suppressions=suppressions)
    return OfflinePipeline(core, cases=cases)
