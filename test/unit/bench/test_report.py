"""How the comparison reads: one column per system, the ratio and standing to each peer."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import figures_table, requests_markdown, seconds, standings_markdown
from bench.settings import SHARED
from bench.summary import rows

SYSTEMS = ["python", "go"]


def run(system: str, repeat: int, wf_s: float, cpu_ms: float) -> dict[str, Any]:
    return {
        "system": system,
        "setting": SHARED,
        "repeat": repeat,
        "burst": {
            "workflows_per_s": wf_s,
            "cpu_ms_per_workflow": cpu_ms,
            "requests_per_workflow": {"POST events": 2.0},
        },
    }


RUNS = [
    {"system": "reference", "setting": SHARED, "repeat": 0,
     "burst": {"workflows_per_s": 100.0, "requests_per_workflow": {"POST events": 2.0}}},
    run("python", 0, 40.0, 15.0),
    run("go", 0, 20.0, 10.0),
]  # fmt: skip


def test_the_figures_table_has_a_column_per_system_and_a_ratio_per_peer() -> None:
    text = figures_table(rows(RUNS, SHARED, ["reference", *SYSTEMS]), SYSTEMS)
    lines = text.splitlines()
    assert lines[0] == "| figure | bare client | Python | Go | Python ÷ Go |"
    assert "| burst throughput (workflows/s) | 100.0 | 40.0 | 20.0 | 2.00 (ahead) |" in lines
    assert "| burst throughput ÷ bare client | — | 0.40 | 0.20 | 2.00 (ahead) |" in lines
    assert "| controller CPU ms / workflow (burst) | — | 15.0 | 10.0 | 1.50 (behind) |" in lines


def test_standings_list_what_python_is_ahead_and_behind_on() -> None:
    text = standings_markdown(rows(RUNS, SHARED, ["reference", *SYSTEMS]), SYSTEMS)
    assert "* against Go:" in text
    assert "**ahead** on burst throughput (workflows/s) (2.00x)" in text
    assert "**behind** on controller CPU ms / workflow (burst) (1.50x)" in text


def test_requests_per_workflow_by_kind_and_system() -> None:
    text = requests_markdown(RUNS, SHARED, SYSTEMS)
    assert "| POST events | 2.00 | 2.00 | 2.00 |" in text.splitlines()


@pytest.mark.parametrize(
    ("value", "text"), [(0.0002, "200 µs"), (0.0351, "35.1 ms"), (2.5, "2.50 s")]
)
def test_durations_read_in_the_unit_that_fits(value: float, text: str) -> None:
    assert seconds(value) == text
