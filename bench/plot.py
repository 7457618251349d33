"""Draws the latency distributions as CDFs into a PNG, when matplotlib happens to be installed.

matplotlib is deliberately not a dependency of the project; without it the report says so.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from bench.run import Results
from bench.stats import Distribution

PLOT_FILE = "latency.png"


def draw(r: Results, out: Path) -> str:
    """Writes ``out/latency.png``; returns the line the report carries about it."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")  # files only, never a display
        pyplot: Any = importlib.import_module("matplotlib.pyplot")
        ticker: Any = importlib.import_module("matplotlib.ticker")
    except ImportError:
        return "No plot: matplotlib is not installed (it is not a dependency; `pip install matplotlib` to get one)."
    panels: list[tuple[str, dict[str, Distribution]]] = [
        (
            "PipelineRun created after WFE create",
            {
                "one at a time": r.sequential.pipeline_run_created,
                f"steady {r.steady.arrivals_per_s:.1f}/s": r.steady.latencies.pipeline_run_created,
                f"burst of {r.burst.workflows}": r.burst.latencies.pipeline_run_created,
            },
        ),
        (
            "WFE status synced after Succeeded=True",
            {
                "one at a time": r.sequential.status_synced,
                f"steady {r.steady.arrivals_per_s:.1f}/s": r.steady.latencies.status_synced,
                f"burst of {r.burst.workflows}": r.burst.latencies.status_synced,
            },
        ),
        (
            "storm: create → Running or Skipped",
            {f"{r.storm.workflows} over {r.storm.targets} targets": r.storm.decided},
        ),
        (
            f"lock check over {r.lock_check.cached_wfes} cached WFEs",
            {"direct": r.lock_check.latency},
        ),
    ]
    figure, axes = pyplot.subplots(2, 2, figsize=(11, 7))
    for axis, (title, series) in zip(axes.flat, panels, strict=True):
        for label, distribution in series.items():
            samples = [s * 1e3 for s in distribution.samples]
            fractions = [(i + 1) / len(samples) for i in range(len(samples))]
            axis.step(samples, fractions, where="post", label=label)
        axis.set_title(title, fontsize=10)
        axis.set_xscale("log")  # latencies span orders of magnitude
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xlabel("milliseconds (log scale)")
        axis.set_ylabel("fraction ≤ x")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"WorkflowExecution controller latencies ({r.size.name})")
    figure.tight_layout()
    figure.savefig(out / PLOT_FILE, dpi=110)
    pyplot.close(figure)
    return f"![latency distributions]({PLOT_FILE})"
