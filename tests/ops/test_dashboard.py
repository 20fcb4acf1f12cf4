import importlib.util
import json
from pathlib import Path
from types import ModuleType

OPS = Path(__file__).resolve().parents[2] / "ops"


def dashboard_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard", OPS / "grafana" / "dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboard_is_up_to_date() -> None:
    module = dashboard_module()
    committed = (OPS / "grafana" / "dashboards" / "tradewatch.json").read_text(encoding="utf-8")
    assert committed == module.render(), "run: .venv/bin/python ops/grafana/dashboard.py"


def test_every_panel_queries_prometheus_by_uid() -> None:
    dashboard = json.loads((OPS / "grafana" / "dashboards" / "tradewatch.json").read_text())
    assert len(dashboard["panels"]) == len(dashboard_module().PANELS) == 14
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "prometheus"
            assert target["expr"]


def test_no_panel_groups_by_a_high_cardinality_label() -> None:
    for query in dashboard_module().queries():
        for forbidden in ("declaration_id", "alert_id", "name", "importer", "exporter"):
            assert f"by ({forbidden}" not in query and f", {forbidden})" not in query, query
