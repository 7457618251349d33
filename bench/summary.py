"""The arithmetic of the comparison (pure): each figure's mean over repeats with half the range
between them, the Python controller's ratio to each peer, and which side of each peer it is on.

A run is the JSON-able dict ``bench.measure`` returns; a figure reads one number out of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]

REFERENCE = "reference"
SUBJECT = "python"
# within this fraction of each other, two systems are level on a figure
LEVEL = 0.05


@dataclass(frozen=True)
class Spread:
    """Mean over repeats ± half the range between the highest and lowest repeat."""

    mean: float
    half_range: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        data = [v for v in values if not math.isnan(v)]
        if not data:
            return None
        return cls(sum(data) / len(data), (max(data) - min(data)) / 2, len(data))

    @property
    def relative(self) -> float:
        """The half range as a fraction of the mean (0 for one repeat)."""
        return self.half_range / abs(self.mean) if self.mean else 0.0

    def format(self, fmt: str) -> str:
        text = fmt.format(self.mean)
        if self.n < 2:
            return text
        return f"{text} ±{100 * self.relative:.0f}%"


@dataclass(frozen=True)
class Figure:
    label: str
    read: Callable[[Run], float]
    fmt: str
    higher_is_better: bool


def _get(*path: str, scale: float = 1.0) -> Callable[[Run], float]:
    def read(run: Run) -> float:
        value: Any = run
        for key in path:
            value = value[key]
        return float(value) * scale

    return read


def _latency(phase: str, series: str, quantile: str) -> Figure:
    name = {
        "create_to_pipelinerun": "create → PipelineRun",
        "succeeded_to_completed": "Succeeded → Completed",
    }[series]
    return Figure(
        f"{phase}: {name} {quantile} (ms)",
        _get(phase, series, f"{quantile}_s", scale=1e3),
        "{:.0f}",
        higher_is_better=False,
    )


FIGURES: tuple[Figure, ...] = (
    Figure("burst throughput (workflows/s)", _get("burst", "workflows_per_s"), "{:.1f}", True),
    Figure(
        "burst throughput ÷ bare client", _get("burst", "fraction_of_reference"), "{:.2f}", True
    ),
    *(
        _latency("burst", s, q)
        for s in ("create_to_pipelinerun", "succeeded_to_completed")
        for q in ("p50", "p95", "p99")
    ),
    *(
        _latency("steady", s, q)
        for s in ("create_to_pipelinerun", "succeeded_to_completed")
        for q in ("p50", "p95", "p99")
    ),
    Figure(
        "controller CPU ms / workflow (burst)",
        _get("burst", "cpu_ms_per_workflow"),
        "{:.1f}",
        False,
    ),
    Figure(
        "controller CPU use in the burst (cores)",
        _get("burst", "controller_cpu_utilisation"),
        "{:.2f}",
        False,
    ),
    Figure("peak RSS (MiB)", _get("peak_rss_mib"), "{:.0f}", False),
    Figure("idle CPU (ms/s)", _get("idle_cpu_ms_per_s"), "{:.1f}", False),
    Figure(
        "API writes / workflow (controller)", _get("burst", "writes_per_workflow"), "{:.2f}", False
    ),
    Figure(
        "API reads / workflow (controller)", _get("burst", "reads_per_workflow"), "{:.2f}", False
    ),
    Figure("reconciles / workflow", _get("burst", "reconciles_per_workflow"), "{:.2f}", False),
    Figure("mean reconcile time (ms)", _get("burst", "mean_reconcile_ms"), "{:.1f}", False),
    Figure("mean time queued (ms)", _get("burst", "mean_queued_ms"), "{:.0f}", False),
    Figure("storm: WFEs decided / s", _get("storm", "decided_per_s"), "{:.1f}", True),
    Figure("storm: controller CPU ms / WFE", _get("storm", "cpu_ms_per_wfe"), "{:.1f}", False),
    Figure(
        "storm: violations (targets ≠ 1 PipelineRun or ≠ 1 Running)",
        _get("storm", "violations"),
        "{:.0f}",
        False,
    ),
)


def read(figure: Figure, run: Run) -> float:
    """The figure's value in ``run``; NaN when the run has none (kopf has no reconcile metrics)."""
    try:
        return figure.read(run)
    except (KeyError, TypeError, ValueError):
        return math.nan


def runs_of(runs: Sequence[Run], setting: str, system: str) -> list[Run]:
    return [r for r in runs if r["setting"] == setting and r["system"] == system]


def with_reference_fraction(runs: Sequence[Run]) -> list[Run]:
    """Each system run gets ``burst.fraction_of_reference``: its throughput over the bare client's
    in the same setting and repeat (the reference runs just before the systems of its repeat)."""
    reference = {
        (r["setting"], r["repeat"]): r["burst"]["workflows_per_s"]
        for r in runs
        if r["system"] == REFERENCE
    }
    out = []
    for run in runs:
        limit = reference.get((run["setting"], run["repeat"]))
        if run["system"] != REFERENCE and limit and "burst" in run:
            burst = {
                **run["burst"],
                "fraction_of_reference": run["burst"]["workflows_per_s"] / limit,
            }
            out.append({**run, "burst": burst})
        else:
            out.append(run)
    return out


def ratio(subject: Spread | None, peer: Spread | None) -> float | None:
    """``subject ÷ peer`` of the means; None when either is missing or the peer's is zero."""
    if subject is None or peer is None or peer.mean == 0:
        return None
    return subject.mean / peer.mean


def standing(figure: Figure, subject: Spread | None, peer: Spread | None) -> str:
    """``ahead``, ``behind`` or ``level`` (within 5 %, or within both spreads) of the peer."""
    r = ratio(subject, peer)
    if r is None or subject is None or peer is None:
        return "—"
    noise = max(LEVEL, subject.relative + peer.relative)
    if abs(r - 1.0) <= noise:
        return "level"
    better = r > 1.0 if figure.higher_is_better else r < 1.0
    return "ahead" if better else "behind"


@dataclass(frozen=True)
class Row:
    figure: Figure
    cells: dict[str, Spread | None]  # system -> figure
    ratios: dict[str, float | None]  # peer -> python ÷ peer
    standings: dict[str, str]  # peer -> ahead / behind / level


def rows(runs: Sequence[Run], setting: str, systems: Sequence[str]) -> list[Row]:
    """One row per figure that any system has, for ``systems`` in ``setting``."""
    runs = with_reference_fraction(runs)
    peers = [s for s in systems if s not in (SUBJECT, REFERENCE)]
    table = []
    for figure in FIGURES:
        cells = {s: Spread.of(read(figure, r) for r in runs_of(runs, setting, s)) for s in systems}
        if all(c is None for c in cells.values()):
            continue
        subject = cells.get(SUBJECT)
        table.append(
            Row(
                figure,
                cells,
                {p: ratio(subject, cells[p]) for p in peers},
                {p: standing(figure, subject, cells[p]) for p in peers},
            )
        )
    return table


def requests_table(
    runs: Sequence[Run], setting: str, systems: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Request kind -> system -> mean per workflow over repeats (0 where a system made none)."""
    chosen = {s: [r for r in runs_of(runs, setting, s) if "burst" in r] for s in systems}
    kinds = {k for by in chosen.values() for r in by for k in r["burst"]["requests_per_workflow"]}
    table = {
        kind: {
            system: sum(r["burst"]["requests_per_workflow"].get(kind, 0.0) for r in by) / len(by)
            for system, by in chosen.items()
            if by
        }
        for kind in kinds
    }
    return dict(
        sorted(table.items(), key=lambda item: (-max(item[1].values(), default=0.0), item[0]))
    )
