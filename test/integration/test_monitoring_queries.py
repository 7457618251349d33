"""config/prometheus queries only what the controller exports: every metric a dashboard panel or an
alert reads is in a live controller's scrape (a renamed metric would leave a panel blank and an
alert silent forever)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from support.controller_binary import controller_binary
from support.promql import exported_sample_names, metric_names

from wfe.runtime.envtest import ControlPlane

PROMETHEUS_CONFIG = Path(__file__).resolve().parents[2] / "config" / "prometheus"


def dashboard_queries() -> dict[str, str]:
    """Panel title (and query letter) → expression, rows' nested panels included."""
    dashboard: dict[str, Any] = json.loads((PROMETHEUS_CONFIG / "dashboard.json").read_text())
    queries = {}
    panels = list(dashboard["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels") or [])
        for target in panel.get("targets") or []:
            queries[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    return queries


def alert_queries() -> dict[str, str]:
    rule: dict[str, Any] = yaml.safe_load((PROMETHEUS_CONFIG / "alerts.yaml").read_text())
    return {f"alert {r['alert']}": r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


def test_every_dashboard_panel_and_alert_reads_metrics_the_controller_exports(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    with controller_binary(
        control_plane.kubeconfig, namespace, tmp_path, control_plane.admin.token
    ) as controller:
        exported = exported_sample_names(controller.scrape_as_leader())

    queries = {**dashboard_queries(), **alert_queries()}
    assert len(queries) > 40
    unknown = {
        where: sorted(names - exported)
        for where, expression in queries.items()
        if (names := metric_names(expression)) - exported
    }
    assert unknown == {}
    reads_nothing = [where for where, expression in queries.items() if not metric_names(expression)]
    assert reads_nothing == []
