"""Draws the latency CDFs per system and the throughput per system, when matplotlib happens to be
installed (it is deliberately not a dependency; without it the report says so)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from bench.run import Results
from bench.summary import REFERENCE, Spread, runs_of

LATENCY_FILE = "latency.png"
THROUGHPUT_FILE = "throughput.png"
PANELS = (
    ("burst", "create_to_pipelinerun", "burst: create → PipelineRun"),
    ("burst", "succeeded_to_completed", "burst: Succeeded → Completed"),
    ("steady", "create_to_pipelinerun", "steady: create → PipelineRun"),
    ("steady", "succeeded_to_completed", "steady: Succeeded → Completed"),
)


def draw(r: Results, out: Path) -> str:
    """Writes the PNGs into ``out``; returns the lines the report carries about them."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")  # files only, never a display
        pyplot: Any = importlib.import_module("matplotlib.pyplot")
        ticker: Any = importlib.import_module("matplotlib.ticker")
    except ImportError:
        return "No plots: matplotlib is not installed (not a dependency; `pip install matplotlib`)."
    _latencies(r, out, pyplot, ticker)
    _throughput(r, out, pyplot)
    return (
        f"![latency CDFs per system]({LATENCY_FILE})\n\n![throughput per system]({THROUGHPUT_FILE})"
    )


def _samples(runs: list[dict[str, Any]], phase: str, series: str) -> list[float]:
    """Every repeat's samples together, in milliseconds, sorted."""
    found = [
        1e3 * s for run in runs for s in run.get(phase, {}).get(series, {}).get("samples_s", [])
    ]
    return sorted(found)


def _latencies(r: Results, out: Path, pyplot: Any, ticker: Any) -> None:
    rows = len(r.settings)
    figure, axes = pyplot.subplots(
        rows, len(PANELS), figsize=(4 * len(PANELS), 3.4 * rows), squeeze=False
    )
    for row, s in enumerate(r.settings):
        for column, (phase, series, title) in enumerate(PANELS):
            axis = axes[row][column]
            for system in r.systems:
                samples = _samples(runs_of(r.runs, s.name, system), phase, series)
                if samples:
                    fractions = [(i + 1) / len(samples) for i in range(len(samples))]
                    axis.step(samples, fractions, where="post", label=system)
            axis.set_title(f"{s.name} — {title}", fontsize=9)
            axis.set_xscale("log")  # latencies span orders of magnitude
            axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            axis.xaxis.set_minor_formatter(ticker.NullFormatter())
            axis.set_xlabel("ms (log)")
            axis.set_ylabel("fraction ≤ x")
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    figure.suptitle(f"Latency CDFs, every repeat pooled (size {r.size.name})")
    figure.tight_layout()
    figure.savefig(out / LATENCY_FILE, dpi=100)
    pyplot.close(figure)


def _throughput(r: Results, out: Path, pyplot: Any) -> None:
    shown = [REFERENCE, *r.systems]
    figure, axis = pyplot.subplots(figsize=(2.2 + 1.6 * len(shown) * len(r.settings), 4))
    width = 0.8 / len(r.settings)
    for index, s in enumerate(r.settings):
        spreads = [
            Spread.of(run["burst"]["workflows_per_s"] for run in runs_of(r.runs, s.name, system))
            for system in shown
        ]
        positions = [i + index * width for i in range(len(shown))]
        axis.bar(
            positions,
            [x.mean if x else 0.0 for x in spreads],
            width,
            yerr=[x.half_range if x else 0.0 for x in spreads],
            capsize=4,
            label=s.name,
        )
    axis.set_xticks([i + width * (len(r.settings) - 1) / 2 for i in range(len(shown))])
    axis.set_xticklabels(["bare client" if s == REFERENCE else s for s in shown])
    axis.set_ylabel("workflows/s (burst)")
    axis.set_title(f"Burst throughput of {r.size.burst} workflows (mean ± half range)")
    axis.grid(axis="y", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / THROUGHPUT_FILE, dpi=100)
    pyplot.close(figure)
