"""Every tradewatch metric, in one place, registered in a registry the caller owns.

Labels are low-cardinality by design: never a declaration id or a party name.
"""

import contextlib
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from alerts.pipeline import FrameResult, Screening
from alerts.screening import Screened
from alerts.windows.registry import DIMENSIONS
from schemas.alert import Alert, AlertCategory, Severity
from schemas.case import Case
from schemas.feedback import Decision
from schemas.wire import DeclarationRecord, RejectReason
from streams.sensors import Sensor

# The *_created series double the exposition for no use on dashboards or in alert rules.
disable_created_metrics()

# Screening one declaration takes tens of microseconds; the tail matters for the latency target.
_PROCESSING_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip


_CONTROL_REFUSALS = {
    "feedback": ("empty", "too_large", "not_json", "not_object", "duplicate_key", "invalid",
                 "too_many"),
    "reference": ("invalid", "too_large", "duplicate_key", "checksum", "decompress", "incomplete",
                  "policy", "build", "error"),
    "decisions": ("invalid",),
}  # fmt: skip


class Metrics(Sensor):
    """The worker's metrics, and the sensor that counts them (streams/sensors.py).

    >>> registry = CollectorRegistry()
    >>> metrics = Metrics(registry)
    >>> metrics.declarations_ok.inc()
    >>> registry.get_sample_value("tradewatch_declarations_total", {"outcome": "ok"})
    1.0
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.declarations = Counter(
            "tradewatch_declarations",
            "Declarations read from the input topic and done with, by outcome (ok: screened; "
            "rejected: delivered to the dead-letter topic).",
            ["outcome"],
            registry=registry,
        )
        self.declarations_ok = self.declarations.labels(outcome="ok")
        self.declarations_rejected = self.declarations.labels(outcome="rejected")
        self.alerts = Counter(
            "tradewatch_alerts",
            "Alerts delivered to the alert topic, by rule, category and severity.",
            ["rule", "category", "severity"],
            registry=registry,
        )
        self.cases = Counter(
            "tradewatch_cases",
            "Case versions delivered to the case topic, by the case's severity.",
            ["severity"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "tradewatch_dead_letters",
            "Messages delivered to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self._dead_letters_by_reason = {
            reason: self.dead_letters.labels(reason=reason.value) for reason in RejectReason
        }
        self.processing_seconds = Histogram(
            "tradewatch_declaration_processing_seconds",
            "Time to decode, validate and screen one declaration (each batch's mean, observed "
            "once per declaration of the batch).",
            buckets=_PROCESSING_BUCKETS,
            registry=registry,
        )
        self.reference_data = Gauge(
            "tradewatch_reference_data_info",
            "The reference data files in use, as name@version, name and version (always 1).",
            ["file", "file_name", "file_version"],
            registry=registry,
        )
        self.rules = Gauge(
            "tradewatch_rules_loaded",
            "Rules the worker runs.",
            registry=registry,
        )
        self.observations = Counter(
            "tradewatch_window_observations",
            "Observations the window stage read, by dimension and outcome "
            "(counted, late, replayed).",
            ["dimension", "outcome"],
            registry=registry,
        )
        self.late_declarations = Counter(
            "tradewatch_late_declarations",
            "Declarations older than their key's watermark by more than the grace period: not "
            "counted in windows, named in the evidence of the key's next alerts.",
            ["dimension"],
            registry=registry,
        )
        # Children made once (labels() costs more than inc()), and zero series from the start:
        # dashboards show 0, not nothing.
        self._late_by_dimension = {
            dimension: self.late_declarations.labels(dimension=dimension.label)
            for dimension in DIMENSIONS
        }
        self._observed = {
            (dimension, outcome): self.observations.labels(
                dimension=dimension.label, outcome=outcome
            )
            for dimension in DIMENSIONS
            for outcome in ("counted", "late", "replayed")
        }
        self.window_frame_seconds = Histogram(
            "tradewatch_window_processing_seconds",
            "Time to apply one observation frame: update its keys' window states and evaluate "
            "their rules (each batch's mean, observed once per frame).",
            buckets=_PROCESSING_BUCKETS,
            registry=registry,
        )
        self.window_errors = Counter(
            "tradewatch_window_errors",
            "Observations the window stage failed on (logged; the stream goes on).",
            registry=registry,
        )
        self.window_keys = Gauge(
            "tradewatch_window_keys",
            "Aggregation keys held in the window table by this worker.",
            registry=registry,
        )
        self.alerting_routes = Counter(
            "tradewatch_alerting_routes",
            "Declarations that raised at least one alert, by dispatch and destination country.",
            ["dispatch_country", "destination_country"],
            registry=registry,
        )
        self.alerting_parties = Counter(
            "tradewatch_alerting_parties",
            "Parties to declarations that raised at least one alert, by role and country "
            "(names would be unbounded labels; the alert topic has them).",
            ["role", "country"],
            registry=registry,
        )
        self.checkpoints = Counter(
            "tradewatch_window_checkpoints",
            "Checkpoints of the window state: alerts delivered, changed keys written to the "
            "changelog, frames acked.",
            registry=registry,
        )
        self.checkpoint_keys = Counter(
            "tradewatch_window_checkpoint_keys",
            "Changed keys written to the changelog by checkpoints.",
            registry=registry,
        )
        self.checkpoint_duration = Histogram(
            "tradewatch_window_checkpoint_seconds",
            "Time a checkpoint takes, delivery waits included.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=registry,
        )
        self.partition_progress = Gauge(
            "tradewatch_partition_last_progress_timestamp_seconds",
            "When this worker last finished a batch of the partition (Unix time).",
            ["topic", "partition"],
            registry=registry,
        )
        self.partition_position = Gauge(
            "tradewatch_partition_position",
            "The offset after the last record of the partition this worker finished (its "
            "position): a reader knows the partition is done up to an offset once this reaches "
            "it.",
            ["topic", "partition"],
            registry=registry,
        )
        self.partition_lag_records = Gauge(
            "tradewatch_partition_lag",
            "Records of the partition this worker has not finished yet (its end offset minus "
            "its position), as the watchdog last saw them.",
            ["topic", "partition"],
            registry=registry,
        )
        self.suppressed = Counter(
            "tradewatch_suppressed_findings",
            "Findings an analyst's suppression silenced, by rule and severity: published to the "
            "alert topic with suppressed_by, but opening no case and paging no one. Against "
            "tradewatch_alerts_total it is the share suppressed (an ops alert when it jumps).",
            ["rule", "severity"],
            registry=registry,
        )
        self.decisions = Counter(
            "tradewatch_case_decisions",
            "Analysts' decisions on cases, counted once against each rule of the case (when both "
            "the case and the decision are known), by rule and decision. Precision as the "
            "analysts judge it: confirmed / (confirmed + benign).",
            ["rule", "decision"],
            registry=registry,
        )
        self.feedback_read = Counter(
            "tradewatch_feedback_records",
            "Records of the feedback topic this worker's case reviews read, by outcome "
            "(applied: a valid decision; invalid: refused, logged).",
            ["outcome"],
            registry=registry,
        )
        self.suppressions_failed_closed = Gauge(
            "tradewatch_suppressions_failed_closed",
            "1 when this worker found fewer decisions on the decisions topic than it had read "
            "before, and so suppresses nothing (every finding opens its case) until restarted "
            "with the topic restored.",
            registry=registry,
        )
        self.broad_suppressions = Gauge(
            "tradewatch_broad_suppressions",
            "Suppressions that silenced more findings in their first day than "
            "TRADEWATCH_BROAD_SUPPRESSION_FINDINGS: worth a second look.",
            registry=registry,
        )
        self.rulings = Counter(
            "tradewatch_suppression_rulings",
            "Rulings this worker's case reviews made on suppressions, by status (active: in "
            "force; held: waits for a supervisor; revoked; refused: out of its case).",
            ["status"],
            registry=registry,
        )
        self.control_refused = Counter(
            "tradewatch_control_records_refused",
            "Records of a control topic (feedback, reference) this worker refused, by topic kind "
            "and reason; the version or decision in force stays as it was.",
            ["topic", "reason"],
            registry=registry,
        )
        for topic, reasons in _CONTROL_REFUSALS.items():
            for reason in reasons:  # at 0 from the start: the first refusal shows in increase()
                self.control_refused.labels(topic=topic, reason=reason)
        self.reference_pending = Gauge(
            "tradewatch_reference_pending_versions",
            "Reference versions whose manifest arrived but not yet every chunk it names.",
            registry=registry,
        )
        self.reference_held = Gauge(
            "tradewatch_reference_held_versions",
            "Reference versions held for approval: they take protection away or list a name "
            "that matches many ordinary companies, and wait for another person's approval.",
            registry=registry,
        )
        self.reference_missing = Gauge(
            "tradewatch_reference_versions_missing",
            "Reference files whose version this worker applied before is no longer on the "
            "reference topic: it screens with an older version (the topic lost it).",
            registry=registry,
        )
        self.suppressions = Gauge(
            "tradewatch_suppressions",
            "Suppressions this worker knows of (expired ones included: they expire in event time).",
            registry=registry,
        )
        self.reference_updates = Counter(
            "tradewatch_reference_updates",
            "File versions read from the reference topic, by outcome (applied: swapped in; "
            "rejected: broken or invalid, the version in use kept).",
            ["outcome"],
            registry=registry,
        )
        self.reference_build_seconds = Gauge(
            "tradewatch_reference_build_seconds",
            "Time the last reference update took to validate and build (screening goes on).",
            registry=registry,
        )
        self.retro_parties = Counter(
            "tradewatch_retro_parties",
            "Parties of the index looked back over for new or changed watchlist entries.",
            registry=registry,
        )
        self.retro_pending = Gauge(
            "tradewatch_retro_pending_parties",
            "Parties still to look back over on this worker (0: no look back under way).",
            registry=registry,
        )
        self.registry = registry
        self._alert_children: dict[tuple[str, AlertCategory, Severity], Counter] = {}

    def prepare_alert_series(self, rules: list[tuple[str, AlertCategory]]) -> None:
        """Create every rule's alert series at 0 before the first alert.

        Prometheus' increase() cannot see the first alerts of a series that appears already at
        1: without these, the first critical finding after a start would never page anyone.
        """
        for rule_id, category in rules:
            for severity in Severity:
                self._alert_children[(rule_id, category, severity)] = self.alerts.labels(
                    rule=rule_id, category=category.value, severity=severity.value
                )

    def prepare_feedback_series(self, rule_ids: list[str]) -> None:
        """Every rule's decision and suppression series at 0, so that the first decision or
        suppressed finding shows in increase() (as prepare_alert_series)."""
        for rule_id in rule_ids:
            for severity in Severity:
                self.suppressed.labels(rule=rule_id, severity=severity.value)
            for decision in Decision:
                self.decisions.labels(rule=rule_id, decision=decision.value)

    def alerting(self, declaration: DeclarationRecord) -> None:
        """A declaration that raised at least one alert: its route and parties, by country."""
        self.alerting_routes.labels(
            dispatch_country=declaration.dispatch_country,
            destination_country=declaration.destination_country,
        ).inc()
        for role, party in (("exporter", declaration.exporter), ("importer", declaration.importer)):
            self.alerting_parties.labels(role=role, country=party.country or "unknown").inc()

    def alert(
        self,
        rule_id: str,
        category: AlertCategory,
        severity: Severity,
        suppressed: bool = False,
    ) -> None:
        if suppressed:
            self.suppressed.labels(rule=rule_id, severity=severity.value).inc()
        key = (rule_id, category, severity)
        child = self._alert_children.get(key)
        if child is None:
            child = self.alerts.labels(
                rule=rule_id, category=category.value, severity=severity.value
            )
            self._alert_children[key] = child
        child.inc()

    # The sensor's hooks (streams/sensors.py)

    def on_batch_delivered(self, read: int, screening: Screening, seconds: float) -> None:
        rejected = Tally(rejection.reason for _, rejection in screening.rejections())
        self.declarations_ok.inc(read - sum(rejected.values()))
        for reason, count in rejected.items():
            self.declarations_rejected.inc(count)
            self._dead_letters_by_reason[reason].inc(count)
        self.on_findings_delivered(screening.alerts, screening.cases)
        for outcome in screening.outcomes:
            if isinstance(outcome, Screened) and outcome.alerts:
                self.alerting(outcome.declaration)
        if read:
            mean = seconds / read
            for _ in range(read):
                self.processing_seconds.observe(mean)

    def on_frame_unreadable(self) -> None:
        self.window_errors.inc()

    def on_frame_applied(self, result: FrameResult) -> None:
        for (dimension, outcome), count in result.outcomes.items():
            self._observed[(dimension, outcome)].inc(count)
            if outcome == "late":
                self._late_by_dimension[dimension].inc(count)
        if result.errors:
            self.window_errors.inc(result.errors)

    def on_frames_applied(self, frames: int, seconds: float) -> None:
        if frames:
            mean = seconds / frames
            for _ in range(frames):
                self.window_frame_seconds.observe(mean)

    def on_findings_delivered(self, alerts: list[Alert], cases: list[Case]) -> None:
        for alert in alerts:
            self.alert(
                alert.rule_id, alert.category, alert.severity, alert.suppressed_by is not None
            )
        for case in cases:
            self.cases.labels(severity=case.severity.value).inc()

    def on_checkpoint(self, seconds: float, keys: int) -> None:
        self.checkpoints.inc()
        self.checkpoint_keys.inc(keys)
        self.checkpoint_duration.observe(seconds)

    def on_window_keys(self, keys: int, broad_suppressions: int) -> None:
        self.window_keys.set(keys)
        self.broad_suppressions.set(broad_suppressions)

    def on_look_back(self, pending: int, parties: int = 0) -> None:
        if parties:
            self.retro_parties.inc(parties)
        self.retro_pending.set(pending)

    def on_reference_in_use(self, files: Iterable[Any], rules: int) -> None:
        """The files in use replace those of before (a swap)."""
        self.reference_data.clear()
        for loaded in files:
            header = loaded.header
            self.reference_data.labels(
                file=loaded.label, file_name=header.name, file_version=header.version
            ).set(1)
        self.rules.set(rules)

    def on_reference_waiting(self, parts: int) -> None:
        self.reference_pending.set(parts)

    def on_reference_missing(self, files: int) -> None:
        self.reference_missing.set(files)

    def on_reference_update(self, outcome: str, files: int = 1) -> None:
        self.reference_updates.labels(outcome=outcome).inc(files)

    def on_reference_held(self, versions: int) -> None:
        self.reference_held.set(versions)

    def on_control_refused(self, topic: str, reason: str) -> None:
        self.control_refused.labels(topic=topic, reason=reason).inc()

    def on_suppressions(self, count: int, failed_closed: bool = False) -> None:
        self.suppressions.set(count)
        if failed_closed:
            self.suppressions_failed_closed.set(1)

    def on_feedback_read(self, outcome: str) -> None:
        self.feedback_read.labels(outcome=outcome).inc()

    def on_ruling(self, status: str) -> None:
        self.rulings.labels(status=status).inc()

    def on_decision(self, rule: str, decision: str) -> None:
        self.decisions.labels(rule=rule, decision=decision).inc()

    def on_progress(self, topic: str, partition: int, timestamp: float, position: int) -> None:
        self.partition_progress.labels(topic=topic, partition=str(partition)).set(timestamp)
        self.partition_position.labels(topic=topic, partition=str(partition)).set(position)

    def on_partition_lag(self, topic: str, partition: int, lag: int) -> None:
        self.partition_lag_records.labels(topic=topic, partition=str(partition)).set(lag)

    def on_partition_gone(self, topic: str, partition: int) -> None:
        for gauge in (self.partition_progress, self.partition_position, self.partition_lag_records):
            with contextlib.suppress(KeyError):
                gauge.remove(topic, str(partition))

    def watch_text_cache(self, lexicon: Any) -> None:
        """Expose the goods-text cache's hits and misses, read at scrape time."""
        self.registry.register(_TextCacheCollector(lexicon))


class _TextCacheCollector(Collector):
    def __init__(self, lexicon: Any) -> None:
        self.lexicon = lexicon

    def collect(self) -> Iterator[CounterMetricFamily]:
        hits, misses = self.lexicon.cache_info()
        family = CounterMetricFamily(
            "tradewatch_text_cache_lookups",
            "Goods texts looked up in the cache of normalised, matched texts, by result: a "
            "feed repeats its descriptions, and each distinct one is matched once.",
            labels=["result"],
        )
        family.add_metric(["hit"], hits)
        family.add_metric(["miss"], misses)
        yield family
