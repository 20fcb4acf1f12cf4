"""The tradewatch Grafana dashboard, built with grafanalib.

    .venv/bin/python ops/grafana/dashboard.py    # writes ops/grafana/dashboards/tradewatch.json

PANELS is also what the ops test asks the real Prometheus for: every query must return data.
"""

import json
from pathlib import Path

from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    BarGauge,
    Dashboard,
    GridPos,
    Stat,
    Target,
    Templating,
    TimeSeries,
)

OUTPUT = Path(__file__).resolve().parent / "dashboards" / "tradewatch.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

_DECIDED = 'sum by (rule) (increase(tradewatch_case_decisions_total{decision="%s"}[30d]))'
PRECISION = (
    f"{_DECIDED % 'confirmed'} / ({_DECIDED % 'confirmed'} + {_DECIDED % 'benign'}) "
    f"and on (rule) ({_DECIDED % 'confirmed'} + {_DECIDED % 'benign'}) > 0"
)
"""Only rules with a judged case: the others would show 0 / 0."""

# (title, kind, unit, [(query, legend)]): one entry per panel.
PANELS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "Declarations per second, by outcome",
        "timeseries",
        "reqps",
        [
            ("sum by (outcome) (rate(tradewatch_declarations_total[5m]))", "{{outcome}}"),
        ],
    ),
    (
        "Alerts per hour, by category and severity",
        "timeseries",
        "short",
        [
            (
                "sum by (category, severity) (increase(tradewatch_alerts_total[1h]))",
                "{{category}} {{severity}}",
            ),
        ],
    ),
    (
        "Cases per hour, by severity (what analysts and on-call get)",
        "timeseries",
        "short",
        [
            ("sum by (severity) (increase(tradewatch_cases_total[1h]))", "{{severity}}"),
        ],
    ),
    (
        "Precision as analysts judge it, by rule (30 d): confirmed / (confirmed + benign)",
        "bargauge",
        "percentunit",
        [(PRECISION, "{{rule}}")],
    ),
    (
        "Analysts' decisions and suppressed findings, by rule (30 d)",
        "bargauge",
        "short",
        [
            (
                "sum by (rule, decision) (increase(tradewatch_case_decisions_total[30d])) > 0",
                "{{rule}} {{decision}}",
            ),
            (
                "sum by (rule) (increase(tradewatch_suppressed_findings_total[30d])) > 0",
                "{{rule}} suppressed findings",
            ),
        ],
    ),
    (
        "Share of findings suppressed, by rule and severity (1 h)",
        "timeseries",
        "percentunit",
        [
            (
                "sum by (rule, severity) (increase(tradewatch_suppressed_findings_total[1h]))"
                " / clamp_min(sum by (rule, severity)"
                " (increase(tradewatch_alerts_total[1h])), 1)",
                "{{rule}} {{severity}}",
            ),
        ],
    ),
    (
        "Control plane: suppressions in force, broad ones, versions held, records refused",
        "timeseries",
        "short",
        [
            ("max(tradewatch_suppressions)", "suppressions in force"),
            ("max(tradewatch_broad_suppressions)", "broad in their first day (look at them)"),
            ("max(tradewatch_reference_held_versions)", "reference versions held for approval"),
            ("max(tradewatch_suppressions_failed_closed)", "failed closed (suppressing nothing)"),
            (
                "sum by (topic, reason) (increase(tradewatch_control_records_refused_total[1h]))",
                "refused {{topic}} {{reason}} (1 h)",
            ),
        ],
    ),
    (
        "Dead letters per second, by reason",
        "timeseries",
        "reqps",
        [
            ("sum by (reason) (rate(tradewatch_dead_letters_total[5m]))", "{{reason}}"),
        ],
    ),
    (
        "Consumer lag, by topic",
        "timeseries",
        "short",
        [
            (
                "sum by (topic) "
                "(faust_topic_partition_end_offset - faust_topic_partition_offset_commited)",
                "{{topic}}",
            ),
        ],
    ),
    (
        "Screening latency",
        "timeseries",
        "s",
        [
            (
                "histogram_quantile(0.5, sum by (le) "
                "(rate(tradewatch_declaration_processing_seconds_bucket[5m])))",
                "p50",
            ),
            (
                "histogram_quantile(0.99, sum by (le) "
                "(rate(tradewatch_declaration_processing_seconds_bucket[5m])))",
                "p99",
            ),
            (
                "histogram_quantile(0.99, sum by (le) "
                "(rate(tradewatch_window_processing_seconds_bucket[5m])))",
                "window stage p99",
            ),
        ],
    ),
    (
        "Window state",
        "stat",
        "short",
        [
            ("sum(tradewatch_window_keys)", "keys held"),
            ("sum(rate(tradewatch_window_observations_total[5m]))", "observations/s"),
        ],
    ),
    (
        "Late declarations (not counted in windows), per hour",
        "timeseries",
        "short",
        [
            (
                "sum by (dimension) (increase(tradewatch_late_declarations_total[1h]))",
                "{{dimension}}",
            ),
        ],
    ),
    (
        "Most frequent alerting routes (24 h)",
        "bargauge",
        "short",
        [
            (
                "topk(10, sum by (dispatch_country, destination_country) "
                "(increase(tradewatch_alerting_routes_total[24h])))",
                "{{dispatch_country}} → {{destination_country}}",
            ),
        ],
    ),
    (
        "Most frequent alerting parties, by role and country (24 h)",
        "bargauge",
        "short",
        [
            (
                "topk(10, sum by (role, country) "
                "(increase(tradewatch_alerting_parties_total[24h])))",
                "{{role}} {{country}}",
            ),
        ],
    ),
]


def queries() -> list[str]:
    return [query for _, _, _, targets in PANELS for query, _ in targets]


def build() -> Dashboard:
    panels = []
    for index, (title, kind, unit, targets) in enumerate(PANELS):
        position = GridPos(h=8, w=12, x=(index % 2) * 12, y=(index // 2) * 8)
        common = {
            "title": title,
            "dataSource": DATASOURCE,
            "targets": [
                Target(
                    expr=query, legendFormat=legend, refId=chr(ord("A") + n), datasource=DATASOURCE
                )
                for n, (query, legend) in enumerate(targets)
            ],
            "gridPos": position,
        }
        if kind == "timeseries":
            panels.append(TimeSeries(unit=unit, **common))
        elif kind == "stat":
            panels.append(Stat(format=unit, **common))
        else:
            panels.append(BarGauge(orientation="horizontal", format=unit, **common))
    return Dashboard(
        title="tradewatch",
        uid="tradewatch",
        description="Screening throughput, findings and cases, analysts' precision, dead letters, "
        "lag, latency and window state.",
        tags=["tradewatch"],
        timezone="utc",
        refresh="30s",
        panels=panels,
        templating=Templating(list=[]),
    ).auto_panel_ids()


def render() -> str:
    return json.dumps(build().to_json_data(), cls=DashboardEncoder, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
