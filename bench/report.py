"""Turns a run's results into the report: per setting, one table of every figure for every system
with the Python controller's ratio to each peer, the API requests per workflow, where the Python
controller is ahead or behind, and the SPEC §12 floors."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.controller_metrics import buckets_between
from bench.run import Results
from bench.settings import Setting
from bench.stats import histogram_quantile_bound, seconds
from bench.summary import REFERENCE, SUBJECT, Row, Spread, requests_table, rows, runs_of

PIPELINE_RUN_CREATED_FLOOR_S = 5.0  # p95
STATUS_SYNC_FLOOR_S = 10.0  # p99
STATUS_SYNC_AIM_S = 1.0
LOCK_CHECK_FLOOR_S = 0.050  # p99
MEMORY_FLOOR_MIB = 256e6 / 2**20  # SPEC: 256 MB (decimal), i.e. 244 MiB
RECONCILES_PER_MIN_FLOOR = 100.0

LABELS = {REFERENCE: "bare client", "python": "Python", "go": "Go", "kopf": "kopf"}
NONE = "—"

Run = dict[str, Any]


def cell(spread: Spread | None, fmt: str) -> str:
    return spread.format(fmt) if spread is not None else NONE


def ratio_cell(value: float | None, standing: str) -> str:
    if value is None:
        return NONE
    return f"{value:.2f} ({standing})"


def columns(systems: Sequence[str]) -> list[str]:
    return [REFERENCE, *systems]


def peers_of(systems: Sequence[str]) -> list[str]:
    return [s for s in systems if s not in (SUBJECT, REFERENCE)]


def figures_table(table: list[Row], systems: Sequence[str]) -> str:
    shown, peers = columns(systems), peers_of(systems)
    head = ["figure", *(LABELS.get(s, s) for s in shown), *(f"Python ÷ {LABELS[p]}" for p in peers)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table:
        values = [cell(row.cells.get(s), row.figure.fmt) for s in shown]
        ratios = [ratio_cell(row.ratios.get(p), row.standings.get(p, NONE)) for p in peers]
        lines.append("| " + " | ".join([row.figure.label, *values, *ratios]) + " |")
    return "\n".join(lines)


def requests_markdown(runs: Sequence[Run], setting: str, systems: Sequence[str]) -> str:
    shown = columns(systems)
    table = requests_table(runs, setting, shown)
    head = ["request", *(LABELS.get(s, s) for s in shown)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, by_system in table.items():
        values = [f"{by_system[s]:.2f}" if s in by_system else NONE for s in shown]
        lines.append("| " + " | ".join([kind, *values]) + " |")
    return "\n".join(lines)


def standings_markdown(table: list[Row], systems: Sequence[str]) -> str:
    """Per peer: the figures the Python controller is ahead on, behind on, level on."""
    lines = []
    for peer in peers_of(systems):
        by: dict[str, list[str]] = {"ahead": [], "behind": [], "level": []}
        for row in table:
            standing = row.standings.get(peer)
            if standing in by and "violations" not in row.figure.label:
                by[standing].append(f"{row.figure.label} ({row.ratios[peer]:.2f}x)")
        lines.append(f"* against {LABELS[peer]}:")
        for word in ("ahead", "behind", "level"):
            if by[word]:
                lines.append(f"  * **{word}** on " + "; ".join(by[word]))
    return "\n".join(lines)


def _worst(runs: Sequence[Run], *path: str) -> float | None:
    values = []
    for run in runs:
        value: Any = run
        try:
            for key in path:
                value = value[key]
        except (KeyError, TypeError):
            continue
        values.append(float(value))
    return max(values) if values else None


def _live_lock_bound(runs: Sequence[Run]) -> tuple[int, float | None]:
    total: dict[float, float] = {}
    for run in runs:
        buckets = {float(k): v for k, v in (run.get("lock_check_buckets") or {}).items()}
        for bound, count in buckets_between({}, buckets).items():
            total[bound] = total.get(bound, 0.0) + count
    return int(total.get(math.inf, 0.0)), histogram_quantile_bound(total, 0.99)


def floors_markdown(r: Results) -> str:
    """SPEC §12, judged on the worst Python run of every setting."""
    python = [run for run in r.runs if run["system"] == SUBJECT]
    if not python:
        return "No Python controller run: SPEC §12 not judged."
    rows_: list[tuple[str, str, str, str]] = []
    created = _worst(python, "steady", "create_to_pipelinerun", "p95_s")
    if created is not None:
        ok = created < PIPELINE_RUN_CREATED_FLOOR_S
        rows_.append(
            (
                "steady: create → PipelineRun p95",
                seconds(created),
                f"< {PIPELINE_RUN_CREATED_FLOOR_S:g} s",
                "yes" if ok else "**no**",
            )
        )
    synced = _worst(python, "steady", "succeeded_to_completed", "p99_s")
    if synced is not None:
        aim = "aim met" if synced < STATUS_SYNC_AIM_S else "aim missed"
        ok = synced < STATUS_SYNC_FLOOR_S
        rows_.append(
            (
                "steady: Succeeded → Completed p99",
                seconds(synced),
                f"< {STATUS_SYNC_FLOOR_S:g} s (aim < {STATUS_SYNC_AIM_S:g} s)",
                f"{'yes' if ok else '**no**'} ({aim})",
            )
        )
    burst_synced = _worst(python, "burst", "succeeded_to_completed", "p99_s")
    if burst_synced is not None:
        aim = "aim met" if burst_synced < STATUS_SYNC_AIM_S else "aim missed"
        rows_.append(
            (
                "burst (overload): Succeeded → Completed p99",
                seconds(burst_synced),
                f"< {STATUS_SYNC_FLOOR_S:g} s (aim < {STATUS_SYNC_AIM_S:g} s)",
                f"{'yes' if burst_synced < STATUS_SYNC_FLOOR_S else '**no**'} ({aim})",
            )
        )
    if r.lock_check is not None:
        lock = r.lock_check
        rows_.append(
            (
                f"lock check over {lock.cached_wfes} cached WFEs, timed directly, p99 "
                f"(n={lock.latency.count})",
                seconds(lock.latency.p99),
                f"< {LOCK_CHECK_FLOOR_S * 1e3:g} ms",
                "yes" if lock.latency.p99 < LOCK_CHECK_FLOOR_S else "**no**",
            )
        )
    checks, bound = _live_lock_bound(python)
    if bound is not None:
        rows_.append(
            (
                f"lock check in the live controller, its histogram (n={checks})",
                f"p99 ≤ {seconds(bound)} (bucket bound)",
                f"< {LOCK_CHECK_FLOOR_S * 1e3:g} ms",
                "yes" if bound <= LOCK_CHECK_FLOOR_S else "not shown by the buckets",
            )
        )
    per_min = [
        60 * run["burst"]["workflows_per_s"] * run["burst"]["reconciles_per_workflow"]
        for run in python
        if "reconciles_per_workflow" in run.get("burst", {})
    ]
    if per_min:
        least = min(per_min)
        rows_.append(
            (
                "reconciles/min in the burst (least)",
                f"{least:.0f}",
                f"> {RECONCILES_PER_MIN_FLOOR:g}",
                "yes" if least > RECONCILES_PER_MIN_FLOOR else "**no**",
            )
        )
    peak = _worst(python, "peak_rss_mib")
    if peak is not None:
        rows_.append(
            (
                "peak RSS of the controller process",
                f"{peak:.0f} MiB",
                f"< 256 MB ({MEMORY_FLOOR_MIB:.0f} MiB)",
                "yes" if peak < MEMORY_FLOOR_MIB else "**no**",
            )
        )
    lines = ["| figure (worst Python run) | value | SPEC §12 floor | meets |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows_]
    return "\n".join(lines)


def setting_section(r: Results, s: Setting) -> str:
    table = rows(r.runs, s.name, columns(r.systems))
    repeats = {len(runs_of(r.runs, s.name, x)) for x in r.systems}
    reference = runs_of(r.runs, s.name, REFERENCE)
    writes = (
        f"{reference[0]['burst']['writes_per_workflow']:.0f} writes" if reference else "the writes"
    )
    return f"""## Setting `{s.name}`

{s.describe()}. Repeats per system: {", ".join(str(n) for n in sorted(repeats))}. The bare client
does {writes} per workflow (the load's create and verdict, and the Python controller's six) from
{s.workers} threads in a process of its own{" on the controller's CPU" if s.pinned else ""}, with
no controller running: the physical limit of this API server for this work.

{figures_table(table, r.systems)}

### API requests per workflow (burst; the controller's, the load's own subtracted)

{requests_markdown(r.runs, s.name, r.systems)}

### Where the Python controller stands

{standings_markdown(table, r.systems) or "No peer in this run."}
"""


def markdown(r: Results, plot_note: str) -> str:
    env, size = r.environment, r.size
    sections = "\n".join(setting_section(r, s) for s in r.settings)
    return f"""# WorkflowExecution controller benchmark — size `{size.name}`

Run {env.started} on {env.cpus} CPU(s) (host: {env.host_cpus}), {env.python}, {env.platform};
kube-apiserver {env.api_server} + etcd (local control plane, up in {r.control_plane_start_s:.1f} s);
controller {env.controller} as its own process (`wfe-controller` from {env.controller_venv}, audit sink `none`). Systems:
{", ".join(LABELS.get(s, s) for s in r.systems)}. Wall time {r.wall_s:.0f} s.
Machine load (`uptime`): {"; ".join(f"{when}: `{text}`" for when, text in r.machine_load.items())}.

Sizes: a burst of {size.burst} on distinct targets, {size.steady} arriving at {size.steady_rate:g}/s
(steady), a storm of {size.storm} ({size.storm_per_target} per target), {size.repeats} repeat(s);
{size.cached_wfes} cached WFEs for {size.lock_checks} direct lock checks.

Each cell: mean over the repeats ± half the range between them (in % of the mean). "Python ÷ X":
the Python controller's mean over X's (throughput > 1: Python faster; CPU, memory, latency, requests
> 1: Python higher), then whether Python is ahead, behind or level (within 5 % or the two spreads).
Latencies run from the load process's clock reading before its write to the harness's watch seeing
the answer (upper bounds). Burst latencies are mostly time queued behind the burst; steady ones are
at a rate every system keeps up with.

{sections}
## SPEC §12 floors

{floors_markdown(r)}

{plot_note}
"""


def write(r: Results, out: Path, plot_note: str) -> str:
    """Writes report.md and report.json into ``out``; returns the report's markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(r, plot_note)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(r.as_dict(), indent=1) + "\n")
    return text
