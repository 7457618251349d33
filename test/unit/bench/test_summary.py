"""The comparison's arithmetic: mean ± half range over repeats, ratios to the peers, standings."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.run import rotate
from bench.settings import CONTROLLER_BOUND, SHARED, setting
from bench.summary import (
    FIGURES,
    Spread,
    ratio,
    requests_table,
    rows,
    standing,
    with_reference_fraction,
)

THROUGHPUT = next(f for f in FIGURES if f.label == "burst throughput (workflows/s)")
CPU = next(f for f in FIGURES if f.label.startswith("controller CPU ms"))


def run(
    system: str, repeat: int, wf_s: float, cpu_ms: float | None = None, **extra: Any
) -> dict[str, Any]:
    burst: dict[str, Any] = {
        "workflows_per_s": wf_s,
        "requests_per_workflow": extra.pop("requests", {}),
    }
    if cpu_ms is not None:
        burst["cpu_ms_per_workflow"] = cpu_ms
    return {"system": system, "setting": SHARED, "repeat": repeat, "burst": burst, **extra}


def test_spread_is_the_mean_and_half_the_range() -> None:
    spread = Spread.of([20.0, 30.0])
    assert spread is not None
    assert (spread.mean, spread.half_range, spread.n) == (25.0, 5.0, 2)
    assert spread.relative == pytest.approx(0.2)
    assert spread.format("{:.1f}") == "25.0 ±20%"


def test_one_repeat_shows_no_spread_and_no_values_show_nothing() -> None:
    one = Spread.of([7.0])
    assert one is not None
    assert one.format("{:.1f}") == "7.0"
    assert Spread.of([]) is None
    assert Spread.of([math.nan]) is None


def test_ratio_is_python_over_the_peer() -> None:
    assert ratio(Spread.of([30.0]), Spread.of([20.0])) == pytest.approx(1.5)
    assert ratio(Spread.of([30.0]), None) is None
    assert ratio(Spread.of([30.0]), Spread.of([0.0])) is None


def test_standing_reads_the_direction_of_each_figure() -> None:
    fast, slow = Spread.of([30.0]), Spread.of([20.0])
    assert standing(THROUGHPUT, fast, slow) == "ahead"  # more workflows/s is better
    assert standing(CPU, fast, slow) == "behind"  # more CPU per workflow is worse
    assert standing(THROUGHPUT, Spread.of([20.5]), slow) == "level"  # within 5 %


def test_a_difference_inside_the_spreads_is_level() -> None:
    noisy_python = Spread.of([20.0, 30.0])  # 25 ± 20 %
    peer = Spread.of([21.0])
    assert standing(THROUGHPUT, noisy_python, peer) == "level"


def test_throughput_is_also_a_fraction_of_the_bare_client_of_the_same_repeat() -> None:
    runs = [run("reference", 0, 100.0), run("python", 0, 25.0), run("reference", 1, 50.0),
            run("python", 1, 25.0)]  # fmt: skip
    fractions = [
        r["burst"]["fraction_of_reference"]
        for r in with_reference_fraction(runs)
        if r["system"] == "python"
    ]
    assert fractions == [0.25, 0.5]


def test_rows_carry_every_system_and_the_ratio_to_each_peer() -> None:
    runs = [
        run("reference", 0, 80.0),
        run("python", 0, 20.0, cpu_ms=15.0),
        run("go", 0, 25.0, cpu_ms=10.0),
        run("kopf", 0, 10.0, cpu_ms=30.0),
        run("reference", 1, 80.0),
        run("python", 1, 30.0, cpu_ms=15.0),
        run("go", 1, 25.0, cpu_ms=10.0),
        run("kopf", 1, 10.0, cpu_ms=30.0),
    ]
    table = {
        row.figure.label: row for row in rows(runs, SHARED, ["reference", "python", "go", "kopf"])
    }
    throughput = table["burst throughput (workflows/s)"]
    assert throughput.cells["python"] == Spread(25.0, 5.0, 2)
    assert throughput.ratios == {"go": pytest.approx(1.0), "kopf": pytest.approx(2.5)}
    assert throughput.standings == {"go": "level", "kopf": "ahead"}
    cpu = table["controller CPU ms / workflow (burst)"]
    assert cpu.cells["reference"] is None
    assert cpu.ratios["go"] == pytest.approx(1.5)
    assert cpu.standings == {"go": "behind", "kopf": "ahead"}
    assert "mean reconcile time (ms)" not in table  # no system has it: no row


def test_requests_table_is_the_mean_per_kind_with_zero_where_a_system_made_none() -> None:
    runs = [
        run("python", 0, 1.0, requests={"POST events": 2.0, "GET pipelineruns": 0.2}),
        run("python", 1, 1.0, requests={"POST events": 2.0}),
        run("go", 0, 1.0, requests={"POST events": 2.0, "PATCH workflowexecutions": 1.0}),
    ]
    table = requests_table(runs, SHARED, ["python", "go"])
    assert list(table) == ["POST events", "PATCH workflowexecutions", "GET pipelineruns"]
    assert table["GET pipelineruns"] == {"python": pytest.approx(0.1), "go": 0.0}
    assert table["PATCH workflowexecutions"] == {"python": 0.0, "go": 1.0}


def test_each_repeat_leads_with_another_system() -> None:
    systems = ["python", "go", "kopf"]
    assert [rotate(systems, r)[0] for r in range(4)] == ["python", "go", "kopf", "python"]


def test_the_controller_bound_setting_splits_two_cpus() -> None:
    bound = setting(CONTROLLER_BOUND, [0, 1])
    assert bound.workers == 16
    assert bound.control_plane_cpus == bound.harness_cpus == frozenset({0})
    assert bound.controller_cpus == frozenset({1})
    assert setting(SHARED, [0, 1]).controller_cpus is None
    with pytest.raises(ValueError, match="needs two CPUs"):
        setting(CONTROLLER_BOUND, [0])
