"""Turns a run's results into the report: one table of figures against SPEC §12 and against the
reference points, the API requests per workflow, memory, and the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.run import Results
from bench.sizes import LOAD_THREADS
from bench.stats import Distribution

PIPELINE_RUN_CREATED_FLOOR_S = 5.0  # p95
STATUS_SYNC_FLOOR_S = 10.0
STATUS_SYNC_AIM_S = 1.0
LOCK_CHECK_FLOOR_S = 0.050  # p99
MEMORY_FLOOR_MIB = 256.0
RECONCILES_PER_MIN_FLOOR = 100.0
MINIMAL_WRITES_PER_WORKFLOW = 3  # WFE create, PipelineRun create, one status write

NOT_APPLICABLE = "—"


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    floor: str = NOT_APPLICABLE
    meets: str = NOT_APPLICABLE
    reference: str = NOT_APPLICABLE

    def as_dict(self) -> dict[str, str]:
        return {
            "figure": self.figure,
            "value": self.value,
            "spec_floor": self.floor,
            "meets_floor": self.meets,
            "against_reference": self.reference,
        }


def seconds(value: float) -> str:
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def percentiles(d: Distribution) -> str:
    return f"{seconds(d.p50)} / {seconds(d.p95)} / {seconds(d.p99)}"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rows(r: Results) -> list[Row]:
    ref = r.reference
    write = ref.write_latency.p50  # the unit latencies are compared with

    def in_writes(value: float, label: str) -> str:
        return f"{label} = {value / write:.1f} raw creates"

    def pipeline_run_row(figure: str, d: Distribution) -> Row:
        return Row(
            figure,
            percentiles(d),
            f"p95 < {PIPELINE_RUN_CREATED_FLOOR_S:g} s",
            verdict(d.p95 < PIPELINE_RUN_CREATED_FLOOR_S),
            in_writes(d.p50, "p50"),
        )

    def status_sync_row(figure: str, d: Distribution) -> Row:
        met = d.p99 < STATUS_SYNC_FLOOR_S
        aim = "aim met" if d.p99 < STATUS_SYNC_AIM_S else "aim missed"
        return Row(
            figure,
            percentiles(d),
            f"p99 < {STATUS_SYNC_FLOOR_S:g} s (aim < {STATUS_SYNC_AIM_S:g} s)",
            f"{verdict(met)} ({aim})",
            in_writes(d.p50, "p50"),
        )

    burst, storm, lock, live = r.burst, r.storm, r.lock_check, r.live_lock_checks
    peak = r.memory["after scenarios"].peak_mib
    baseline = r.memory["baseline"].rss_mib
    minimal_rate = ref.workflows_threaded_per_s
    writes = sum(burst.writes_per_workflow.values())
    headroom = (MEMORY_FLOOR_MIB - peak) * 1024 * 1024 / lock.cache_bytes_per_wfe
    storm_rate = storm.workflows / storm.seconds
    return [
        Row(
            "raw API writes, sequential (reference a)",
            f"{ref.writes_sequential_per_s:.0f} creates/s",
            reference=f"one create: p50 {seconds(write)}",
        ),
        Row(
            f"raw API writes, {LOAD_THREADS} threads (reference a)",
            f"{ref.writes_threaded_per_s:.0f} creates/s",
        ),
        Row(
            "raw minimal workflow work, sequential (reference b)",
            f"{ref.workflows_sequential_per_s:.1f} workflows/s",
            reference="WFE create + PipelineRun create + 1 status write, by hand",
        ),
        Row(
            f"raw minimal workflow work, {LOAD_THREADS} threads (reference b)",
            f"{minimal_rate:.1f} workflows/s",
        ),
        pipeline_run_row(
            f"PipelineRun created after WFE create, one at a time (p50/p95/p99, n={r.sequential.workflows})",
            r.sequential.pipeline_run_created,
        ),
        pipeline_run_row(
            f"PipelineRun created after WFE create, burst of {burst.workflows}",
            burst.pipeline_run_created,
        ),
        status_sync_row(
            "status synced after Succeeded=True, one at a time (p50/p95/p99)",
            r.sequential.status_synced,
        ),
        status_sync_row(
            f"status synced after Succeeded=True, burst of {burst.workflows}",
            burst.status_synced,
        ),
        Row(
            f"lock check over {lock.cached_wfes} cached WFEs, timed directly (p50/p95/p99, n={lock.latency.count})",
            percentiles(lock.latency),
            f"p99 < {LOCK_CHECK_FLOOR_S * 1e3:g} ms",
            verdict(lock.latency.p99 < LOCK_CHECK_FLOOR_S),
            in_writes(lock.latency.p99, "p99"),
        ),
        _live_lock_row(live.checks, live.p99_bound_s),
        Row(
            f"reconciles/min, burst of {burst.workflows}",
            f"{burst.reconciles_per_min:.0f}",
            f"> {RECONCILES_PER_MIN_FLOOR:g}",
            verdict(burst.reconciles_per_min > RECONCILES_PER_MIN_FLOOR),
            f"{burst.reconciles / burst.workflows:.1f} reconciles per workflow",
        ),
        Row(
            f"workflows/s, burst of {burst.workflows} on distinct targets (create → all Completed)",
            f"{burst.workflows_per_s:.1f} ({seconds(burst.seconds)})",
            reference=f"{burst.workflows_per_s / minimal_rate:.2f} x raw minimal work ({LOAD_THREADS} threads)",
        ),
        Row(
            f"storm: {storm.workflows} WFEs over {storm.targets} targets, all Completed or Skipped",
            f"{seconds(storm.seconds)} (decided p95 {seconds(storm.decided.p95)})",
            reference=f"{storm_rate / minimal_rate:.2f} x raw minimal work ({LOAD_THREADS} threads)",
        ),
        Row(
            "API writes per workflow, burst (controller + load + Tekton)",
            f"{writes:.1f}",
            reference=f"{writes / MINIMAL_WRITES_PER_WORKFLOW:.1f} x the {MINIMAL_WRITES_PER_WORKFLOW} of the raw minimum",
        ),
        Row(
            "peak RSS of the whole process (controller + observer + load)",
            f"{peak:.0f} MiB",
            f"< {MEMORY_FLOOR_MIB:g} MiB",
            verdict(peak < MEMORY_FLOOR_MIB),
            f"{baseline:.0f} MiB before the control plane started",
        ),
        Row(
            "cache heap per cached WFE",
            f"{lock.cache_bytes_per_wfe / 1024:.1f} KiB",
            reference=f"≈ {max(0.0, headroom):,.0f} more cached WFEs fit under {MEMORY_FLOOR_MIB:g} MiB",
        ),
    ]


def _live_lock_row(checks: int, bound: float | None) -> Row:
    figure = f"lock check in the live controller, its histogram (n={checks})"
    if bound is None:
        return Row(figure, "no checks observed")
    return Row(
        figure,
        f"p99 ≤ {seconds(bound)} (bucket bound)",
        f"p99 < {LOCK_CHECK_FLOOR_S * 1e3:g} ms",
        # a bucket bound above the floor proves nothing either way: the direct timing decides
        "yes" if bound <= LOCK_CHECK_FLOOR_S else "not shown by the buckets",
    )


def markdown_table(table: list[Row]) -> str:
    lines = [
        "| figure | value | SPEC §12 floor | meets | against the reference |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {x.figure} | {x.value} | {x.floor} | {x.meets} | {x.reference} |" for x in table]
    return "\n".join(lines)


def markdown(r: Results, table: list[Row], plot_note: str) -> str:
    env, size = r.environment, r.size
    requests = "\n".join(
        f"| {kind} | {count:.2f} |"
        for kind, count in {**r.burst.writes_per_workflow, **r.burst.reads_per_workflow}.items()
    )
    memory = "\n".join(
        f"| {point} | {m.rss_mib:.0f} MiB | {m.peak_mib:.0f} MiB |" for point, m in r.memory.items()
    )
    return f"""# WorkflowExecution controller benchmark — size `{size.name}`

Run {env.started} on {env.cpus} CPU(s) (host: {env.host_cpus}), {env.python}, {env.platform};
kube-apiserver {env.api_server} + etcd (local control plane, up in {r.control_plane_start_s:.1f} s);
controller {env.controller}, in-process, {LOAD_THREADS} workers, audit sink `none`.

Sizes: {size.raw_writes} raw creates per reference, {size.raw_workflows} raw minimal workflows,
{size.sequential_workflows} workflows one at a time, a burst and a storm of {size.burst}
({size.storm_per_target} per target in the storm), {size.cached_wfes} cached WFEs for
{size.lock_checks} timed lock checks. Latencies are from the moment the benchmark issued the write
to the moment its own watch saw the result (upper bounds). "Raw creates" express a latency in units
of one sequential raw create of this run (its p50).

{markdown_table(table)}

## API requests per workflow (burst)

| request | per workflow |
|---|---|
{requests}

## Memory (this process)

| point | RSS | peak |
|---|---|---|
{memory}

{plot_note}
"""


def write(r: Results, out: Path, plot_note: str) -> str:
    """Writes report.md and report.json into ``out``; returns the main table as markdown."""
    table = rows(r)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown(r, table, plot_note))
    document: dict[str, Any] = {**r.as_dict(), "figures": [row.as_dict() for row in table]}
    (out / "report.json").write_text(json.dumps(document, indent=2) + "\n")
    return markdown_table(table)
