"""Every tradewatch metric, in one place, registered in a registry the caller owns.

Labels are low-cardinality by design: never a declaration id or a party name.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from alerts.windows.observations import Dimension
from schemas.alert import AlertCategory, Severity
from streams.decoding import RejectReason

# The *_created series double the exposition for no use on dashboards or in alert rules.
disable_created_metrics()

# Screening one declaration takes tens of microseconds; the tail matters for the latency target.
_PROCESSING_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip


class Metrics:
    """The worker's metrics.

    >>> registry = CollectorRegistry()
    >>> metrics = Metrics(registry)
    >>> metrics.declarations_ok.inc()
    >>> registry.get_sample_value("tradewatch_declarations_total", {"outcome": "ok"})
    1.0
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.declarations = Counter(
            "tradewatch_declarations",
            "Declarations read from the input topic, by outcome (ok or rejected).",
            ["outcome"],
            registry=registry,
        )
        self.declarations_ok = self.declarations.labels(outcome="ok")
        self.declarations_rejected = self.declarations.labels(outcome="rejected")
        self.alerts = Counter(
            "tradewatch_alerts",
            "Alerts published, by rule, category and severity.",
            ["rule", "category", "severity"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "tradewatch_dead_letters",
            "Messages sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self._dead_letters_by_reason = {
            reason: self.dead_letters.labels(reason=reason.value) for reason in RejectReason
        }
        self.processing_seconds = Histogram(
            "tradewatch_declaration_processing_seconds",
            "Time to decode, validate and screen one declaration.",
            buckets=_PROCESSING_BUCKETS,
            registry=registry,
        )
        self.reference_data = Gauge(
            "tradewatch_reference_data_info",
            "The reference data files loaded, as name@version (always 1).",
            ["file"],
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
            dimension: self.late_declarations.labels(dimension=dimension.value)
            for dimension in Dimension
        }
        self._observed = {
            (dimension, outcome): self.observations.labels(
                dimension=dimension.value, outcome=outcome
            )
            for dimension in Dimension
            for outcome in ("counted", "late", "replayed")
        }
        self.window_seconds = Histogram(
            "tradewatch_window_processing_seconds",
            "Time to apply one observation frame: update its keys' window states and evaluate "
            "their rules.",
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

    def dead_letter(self, reason: RejectReason) -> None:
        self.declarations_rejected.inc()
        self._dead_letters_by_reason[reason].inc()

    def observed(self, dimension: Dimension, outcome: str) -> None:
        self._observed[(dimension, outcome)].inc()

    def late(self, dimension: Dimension) -> None:
        self._late_by_dimension[dimension].inc()

    def alert(self, rule_id: str, category: AlertCategory, severity: Severity) -> None:
        key = (rule_id, category, severity)
        child = self._alert_children.get(key)
        if child is None:
            child = self.alerts.labels(
                rule=rule_id, category=category.value, severity=severity.value
            )
            self._alert_children[key] = child
        child.inc()
