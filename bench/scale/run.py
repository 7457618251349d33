"""One scale run: control plane, templates, seed, cold start, lock checks and the flip, teardown."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cluster, environment
from bench.apiserver_requests import WRITE_VERBS, ApiServerRequests, requests_by
from bench.observer import Observer
from bench.scale import capture, cold_start, controller, flip, load, paced, seed
from bench.scale.references import ReferenceOptions, ReferenceRun, References
from bench.scale.sizes import ScaleSize

NAMESPACE = "scale"
EXECUTION_NAMESPACE = "kubernaut-workflows"
SCRAPES_TIMED = 5

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Seeding:
    counts: dict[str, int]
    targets: int
    seconds: float
    writes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "targets": self.targets,
            "seconds": self.seconds,
            "writes": self.writes,
        }


@dataclass(frozen=True)
class ScrapeCost:
    """What one Prometheus scrape costs the controller with the whole cluster cached."""

    controller_cpu_s: float  # mean over a few scrapes
    wall_s: float
    rss_mib_after: float
    peak_rss_mib_after: float

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class ScaleResults:
    size: ScaleSize
    environment: environment.Environment
    seeding: Seeding
    cold_start: cold_start.ColdStart
    cold_start_writes: dict[str, float]  # API writes during the cold start (by verb and resource)
    scrape: ScrapeCost
    paced: paced.Paced
    flip: flip.Flip
    rss_mib_after_flip: float
    peak_rss_mib: float
    references: References | None = None  # measured in the same run when asked (--peers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size.as_dict(),
            "environment": self.environment.as_dict(),
            "seeding": self.seeding.as_dict(),
            "cold_start": self.cold_start.as_dict(),
            "cold_start_api_writes": self.cold_start_writes,
            "scrape_cost": self.scrape.as_dict(),
            "paced": self.paced.as_dict(),
            "flip": self.flip.as_dict(),
            "rss_mib_after_flip": self.rss_mib_after_flip,
            "peak_rss_mib": self.peak_rss_mib,
            "references": self.references.as_dict() if self.references else None,
        }


def run(
    size: ScaleSize, out: Path, progress: Progress, options: ReferenceOptions | None = None
) -> ScaleResults:
    """The scale run; with ``options``, the references too (bench/scale/references.py): the Go
    peer's cold start before ours (the same seeded cluster), then after our flip, ours with more
    workers, the peer's and the bare client's flips on further targets."""
    with ExitStack() as teardown:
        plane = cluster.started_control_plane(teardown, progress)
        admin = plane.client()
        cluster.ensure_namespaces(admin, [NAMESPACE, EXECUTION_NAMESPACE])
        setting = environment.collect(admin, plane.binaries)

        began = time.monotonic()
        templates, captured_at = capture.capture(
            admin, plane.kubeconfig, EXECUTION_NAMESPACE, out / "controller-templates.log"
        )
        progress(f"templates taken in {time.monotonic() - began:.1f}s")

        plan = seed.plan(size.workflow_executions)
        seconds, writes = load.seed_in_child(
            plane.kubeconfig, NAMESPACE, templates, plan.items, captured_at
        )
        seeding = Seeding(
            {kind: plan.count(kind) for kind in templates}, plan.targets, seconds, writes
        )
        progress(f"seeded {len(plan.items)} WorkflowExecutions in {seconds:.1f}s ({writes} writes)")

        requests = ApiServerRequests(plane)
        flips = 1 + (options.flips if options else 0)
        targets = plan.free_targets(size.paced + size.flip * flips)
        reference = (
            ReferenceRun(
                options, size, plane.kubeconfig, EXECUTION_NAMESPACE, out, requests, progress
            )
            if options
            else None
        )
        if reference is not None:
            reference.before_ours(NAMESPACE, len(plan.items))
        requests_before = requests.counts()
        launch = controller.Launch(plane.kubeconfig, EXECUTION_NAMESPACE, out / "controller.log")
        process, cold = cold_start.measure(launch, len(plan.items))
        teardown.callback(process.stop)
        cold_writes = {
            str(kind): float(count)
            for kind, count in requests_by(requests_before, requests.counts()).items()
            if kind.verb in WRITE_VERBS
        }
        progress(
            f"cold start with {len(plan.items)}: drained after {cold.to_drained_s:.2f}s, "
            f"RSS {cold.rss_mib:.0f} MiB (peak {cold.peak_rss_mib:.0f} MiB)"
        )
        scrape = _scrape_cost(process)
        progress(f"one scrape costs the controller {scrape.controller_cpu_s * 1e3:.0f} ms of CPU")

        observer = Observer(plane.client(), NAMESPACE, EXECUTION_NAMESPACE)
        teardown.callback(observer.stop)
        observer.start()
        calm = paced.measure(
            process, observer, plane.kubeconfig, targets[: size.paced], size.wait_timeout
        )
        progress(f"{size.paced} lock checks at {calm.rate_per_s:g}/s")
        flipped = flip.measure(
            process,
            observer,
            requests,
            plane.kubeconfig,
            targets[size.paced : size.paced + size.flip],
            size.wait_timeout,
        )
        progress(
            f"flip of {size.flip}: synced p99 {flipped.synced.p99:.2f}s, all Completed "
            f"{flipped.all_completed_s:.2f}s after the first verdict"
        )
        process.check_alive()
        rss_after_flip, peak_rss = process.rss_kib() / 1024, process.peak_rss_kib() / 1024
        references = None
        if reference is not None:
            process.stop()  # the references run one controller at a time
            references = reference.after_ours(
                observer,
                templates,
                captured_at,
                targets[size.paced + size.flip :],
                len(plan.items) + size.paced + size.flip,
            )
        results = ScaleResults(
            size=size,
            environment=setting,
            seeding=seeding,
            cold_start=cold,
            cold_start_writes=cold_writes,
            scrape=scrape,
            paced=calm,
            flip=flipped,
            rss_mib_after_flip=rss_after_flip,
            peak_rss_mib=peak_rss,
            references=references,
        )
    return results


def _scrape_cost(process: Any) -> ScrapeCost:
    cpu_before, began = process.cpu_seconds(), time.monotonic()
    for _ in range(SCRAPES_TIMED):
        process.scrape()
    return ScrapeCost(
        controller_cpu_s=(process.cpu_seconds() - cpu_before) / SCRAPES_TIMED,
        wall_s=(time.monotonic() - began) / SCRAPES_TIMED,
        rss_mib_after=process.rss_kib() / 1024,
        peak_rss_mib_after=process.peak_rss_kib() / 1024,
    )
