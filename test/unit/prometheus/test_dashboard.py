"""config/prometheus/dashboard.json imports into Grafana as an SRE expects: one data-source
variable every query uses, unique panel ids, panels inside the 24-column grid, a unit on each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[3] / "config" / "prometheus" / "dashboard.json"


def panels() -> list[dict[str, Any]]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    found: list[dict[str, Any]] = dashboard["panels"]
    return found


def test_every_query_uses_the_data_source_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    graphs = [p for p in panels() if p["type"] != "row"]
    assert graphs and all(p["datasource"]["uid"] == "${datasource}" for p in graphs)
    assert all(t["datasource"]["uid"] == "${datasource}" for p in graphs for t in p["targets"])


def test_panels_have_unique_ids_fit_the_grid_and_say_their_unit() -> None:
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    for panel in panels():
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            assert panel["targets"], panel["title"]


def test_the_sre_sections_are_there() -> None:
    rows = [p["title"] for p in panels() if p["type"] == "row"]
    assert rows == [
        "Throughput and outcomes",
        "Durations",
        "Skips, locks and cooldowns",
        "Queue health",
        "Reconciles and API client health",
        "Audit",
        "Process",
    ]
