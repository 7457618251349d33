"""The soak report: RSS and open files over time against "must not grow" (markdown + JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.scale.figures import Row, percentiles, table, verdict
from bench.scale.growth import Growth, fitted
from bench.scale.soak import (
    RSS_BUDGET_KIB,
    TOLERATED_FRACTION_PER_DAY,
    SoakResults,
    SoakSample,
)
from wfe.runtime.record import CORRELATION_CACHE_SIZE

MIB = 1024.0
# the Event recorder's two LRUs (a spam-filter bucket per workflow, a correlation entry per Event)
# are full once this many workflows were created; until then they grow by design
CACHES_FULL_AFTER = CORRELATION_CACHE_SIZE
MIN_FITTED_S = 300.0  # a shorter stretch says too little to be a figure


def _growth_row(
    what: str, g: Growth, scale: float, unit: str, over: str = "the second half"
) -> Row:
    return Row(
        f"{what}: fitted slope over {over} ({g.samples} samples)",
        f"{g.per_hour / scale:+.2f} {unit}/h ({g.per_day / scale:+.1f} {unit}/day)",
        f"no growth: < {g.tolerated_per_day / scale:.1f} {unit}/day (10 % of "
        f"{g.budget / scale:.0f} {unit})",
        verdict(not g.grows),
        f"{over} from {g.first / scale:.1f} to {g.last / scale:.1f} {unit}, "
        f"mean {g.mean / scale:.1f}",
    )


def rss_once_caches_are_full(r: SoakResults) -> Row:
    """RSS from the first sample after ``CACHES_FULL_AFTER`` workflows to the end of the trickle:
    what the bounded caches cannot explain (the main row's second half may still see them fill)."""
    what = "controller RSS once the Event recorder's caches are full"
    end = r.settings.minutes * 60
    steady = [s for s in r.samples if s.created >= CACHES_FULL_AFTER and s.t_s <= end]
    if len(steady) < 2 or steady[-1].t_s - steady[0].t_s < MIN_FITTED_S:
        needed = CACHES_FULL_AFTER / r.settings.rate_per_s / 60 + MIN_FITTED_S / 60
        return Row(what, "not reached", note=f"needs ~{needed:.0f} min at this rate")
    g = fitted(
        [s.t_s for s in steady],
        [float(s.rss_kib) for s in steady],
        unit="KiB",
        budget=RSS_BUDGET_KIB,
        tolerated_fraction_per_day=TOLERATED_FRACTION_PER_DAY,
    )
    over = (
        f"minutes {steady[0].t_s / 60:.0f} to {steady[-1].t_s / 60:.0f} "
        f"(from {CACHES_FULL_AFTER:,} created on)"
    )
    return _growth_row(what, g, MIB, "MiB", over)


def rows(r: SoakResults) -> list[Row]:
    c = r.counts
    cpu = r.samples[-1].cpu_s - r.samples[0].cpu_s
    finished = c.completed + c.failed + c.skipped
    synced = r.synced
    out = [
        _growth_row("controller RSS", r.rss, MIB, "MiB"),
        rss_once_caches_are_full(r),
        _growth_row("controller open file descriptors", r.fds, 1.0, "fds"),
        Row(
            "peak RSS over the soak",
            f"{max(s.peak_rss_kib for s in r.samples) / MIB:.1f} MiB",
        ),
        Row(
            "workflows",
            f"{c.created} created, {c.completed} Completed, {c.failed} Failed, "
            f"{c.skipped} Skipped, {c.deleted} deleted",
            note=f"{r.settings.rate_per_s:g}/s for {r.settings.minutes:g} min",
        ),
        Row(
            "controller CPU per workflow over the soak",
            f"{cpu / max(1, finished) * 1e3:.1f} ms",
            note=f"{cpu:.1f} s in {r.seconds / 60:.1f} min "
            f"({cpu / r.seconds * 100:.1f} % of one core)",
        ),
    ]
    if synced is not None:
        out.append(
            Row(
                "verdict written → WFE seen Completed/Failed (p50/p95/p99)",
                percentiles(synced),
                note=f"n={synced.count}",
            )
        )
    return out


def samples_table(samples: list[SoakSample], every_s: float = 60.0) -> str:
    lines = [
        "| t (min) | RSS (MiB) | peak (MiB) | open fds | CPU (s) | created | live | reconciles |",
        "|---|---|---|---|---|---|---|---|",
    ]
    next_at = 0.0
    for index, s in enumerate(samples):
        if s.t_s + 1e-9 < next_at and index != len(samples) - 1:
            continue
        next_at = s.t_s + every_s
        lines.append(
            f"| {s.t_s / 60:.1f} | {s.rss_kib / MIB:.1f} | {s.peak_rss_kib / MIB:.1f} | "
            f"{s.open_fds} | {s.cpu_s:.1f} | {s.created} | {s.live} | {s.reconciles:.0f} |"
        )
    return "\n".join(lines)


def markdown(r: SoakResults, main: str) -> str:
    env, s = r.environment, r.settings
    return f"""# Soak — {s.minutes:g} minutes

Run {env.started} on {env.cpus} CPU(s) (host: {env.host_cpus}), {env.python}; kube-apiserver
{env.api_server} + etcd on the same cores; controller {env.controller} as its own process
(`wfe-controller`, 4 workers, audit sink `none`, cooldown {s.cooldown}).

Load: {s.rate_per_s:g} WorkflowExecutions/s over {s.targets} targets; each is given its verdict
once Running (one in ten fails), and deleted {s.retention_s:g} s after it finished (the finalizer
runs); one in twenty has a duplicate on its target, which must be Skipped. The controller is sampled
every {s.sample_interval_s:g} s (with one /metrics scrape each, as Prometheus would); growth is a
least-squares line through the second half of the steady trickle.

{main}

## Samples (one a minute; every sample is in soak.json)

{samples_table(r.samples)}
"""


def write(r: SoakResults, out: Path) -> str:
    main = table(rows(r))
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.md").write_text(markdown(r, main))
    document: dict[str, Any] = {**r.as_dict(), "figures": [row.as_dict() for row in rows(r)]}
    (out / "soak.json").write_text(json.dumps(document, indent=2) + "\n")
    return main
