"""N WorkflowExecutions Running at once (created on targets with a history, so each lock check reads
the past executions of its target), then all their PipelineRuns flip to Succeeded as fast as a
separate load process can write: how long until each WorkflowExecution is seen Completed.

Between the two, the flip waits until the API server's write counters stop moving, as the side by
side does between its phases: the controller's work queue is empty once the last one is Running,
but its ``WorkflowStarted`` Events (one sender, a burst of N) keep landing for about three more
seconds at N = 1,000 (640-750 of them, ours and the Go peer alike). Flipping into that tail
measured the creation burst's Events with the flip: on the second flip after a seed, ours measured
p99 1.86 s in three runs out of three without the wait, and 0.34-0.80 s in four of five with it
(docs/benchmarks.md, "The flip against the Go peer, and the creates' trailing Events"). In a
cluster the Running WorkflowExecutions of a flip have run their pipelines for minutes. What landed
meanwhile is reported (``settled``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench.apiserver_requests import ApiServerRequests, Settled
from bench.controller_process import ControllerProcess
from bench.errors import BenchError, ProgressTimeoutError
from bench.load_process import LoadProcess
from bench.observer import TERMINAL, Observer
from bench.scale.controller import log_times_by_name
from bench.scale.scrape import (
    ACTIVE_WORKERS,
    CONTROLLER,
    LOCK_CHECK,
    QUEUE_DEPTH,
    QUEUE_WAIT,
    RECONCILE_TIME,
    STATUS_SYNC,
    Buckets,
    Scrape,
    buckets_between,
)
from bench.stats import Distribution


@dataclass(frozen=True)
class Flip:
    workflows: int
    pipeline_run_created: Distribution  # create issued → PipelineRun seen (a burst: queueing)
    all_running_s: float  # first create issued → every one seen Running
    verdicts_issued_s: float  # first → last Succeeded write issued by the load process
    synced: Distribution  # Succeeded write issued → seen Completed
    # Succeeded write issued → the controller's Completed status write returned (from its log):
    # the controller's share of the sync; the rest is the API server's watch delivery. None when
    # the controller does not log it (the Go peer)
    written: Distribution | None
    all_completed_s: float  # first Succeeded write issued → every one seen Completed
    lock_checks: Buckets  # the controller's histogram over the creates
    reconcile_time: Buckets  # the controller's histogram over the flip
    status_sync: Buckets  # the controller's own sync-latency histogram over the flip
    queue_wait: Buckets  # the workqueue's time-in-queue histogram over the flip
    controller_cpu_s: float  # over the flip
    # (verdict issued, seconds after the first verdict; its sync), in the order the verdicts went
    # out: whether the slow syncs are a stall at one moment or a backlog that builds and drains
    timeline: tuple[tuple[float, float], ...] = ()
    # the wait, after the creates, until no write landed for a moment, and what landed in it
    settled: Settled | None = None

    def as_dict(self) -> dict[str, Any]:
        def buckets(b: Buckets) -> dict[str, float]:
            return {str(bound): count for bound, count in sorted(b.items())}

        return {
            "workflows": self.workflows,
            "pipeline_run_created": self.pipeline_run_created.as_dict(),
            "all_running_s": self.all_running_s,
            "verdicts_issued_s": self.verdicts_issued_s,
            "synced": self.synced.as_dict(),
            "written": self.written.as_dict() if self.written else None,
            "all_completed_s": self.all_completed_s,
            "lock_check_buckets": buckets(self.lock_checks),
            "reconcile_time_buckets": buckets(self.reconcile_time),
            "status_sync_buckets": buckets(self.status_sync),
            "queue_wait_buckets": buckets(self.queue_wait),
            "controller_cpu_s": self.controller_cpu_s,
            "timeline": [[round(at, 4), round(sync, 4)] for at, sync in self.timeline],
            "settled": self.settled.as_dict() if self.settled else None,
        }


COMPLETED_LOG = "workflow completed"  # logged once the Completed status write returned
CREATE_THREADS = 4  # as the RemediationOrchestrator's workers might
VERDICT_THREADS = 8  # "as fast as a load process can": more writers than the controller's workers


def measure(
    process: ControllerProcess,
    observer: Observer,
    requests: ApiServerRequests,
    kubeconfig: Path,
    targets: list[str],
    timeout_for: Callable[[int], float],
    prefix: str = "flip",
) -> Flip:
    """``prefix``: the WorkflowExecutions are ``<prefix>-<i>`` (one prefix per controller run)."""
    names = [f"{prefix}-{index}" for index in range(len(targets))]
    timeout = timeout_for(len(names))
    load = LoadProcess(kubeconfig)
    try:
        before = Scrape.parse(process.scrape())
        creates = load.create(
            observer.namespace, list(zip(names, targets, strict=True)), CREATE_THREADS
        )
        running = observer.wait_for_phases(
            names, [Phase.RUNNING, *TERMINAL], timeout, "every flip WorkflowExecution Running"
        )
        _expect(observer, names, Phase.RUNNING)
        observer.wait_for_pipeline_runs(names, timeout, "every flip PipelineRun")
        process.check_alive()
        created = settled(process)
        quiet = requests.settle()
        runs = {observer.pipeline_run_of(name): name for name in names}
        cpu_before = process.cpu_seconds()
        verdicts = load.succeed(observer.execution_namespace, list(runs), VERDICT_THREADS)
        wall_minus_monotonic = time.time() - time.monotonic()
    finally:
        load.stop()
    finished = observer.wait_for_phases(
        names, TERMINAL, timeout, "every flip WorkflowExecution Completed"
    )
    _expect(observer, names, Phase.COMPLETED)
    cpu = process.cpu_seconds() - cpu_before
    # a reconcile is observed in the histograms when it returns, after its status write
    flipped = settled(process)
    issued = {runs[run]: at for run, at in verdicts.issued.items()}
    synced = {name: observer.phase_seen_at(name, Phase.COMPLETED) - issued[name] for name in names}
    first = min(issued.values())
    logged = log_times_by_name(process.log_path, COMPLETED_LOG, names)
    written = (
        Distribution.of(logged[n] - wall_minus_monotonic - issued[n] for n in names)
        if len(logged) == len(names)
        else None
    )
    return Flip(
        workflows=len(names),
        pipeline_run_created=Distribution.of(
            observer.pipeline_run_seen_at(name) - creates.issued[name] for name in names
        ),
        all_running_s=running - creates.first,
        verdicts_issued_s=max(issued.values()) - min(issued.values()),
        synced=Distribution.of(synced.values()),
        written=written,
        all_completed_s=finished - verdicts.first,
        lock_checks=buckets_between(before.buckets(LOCK_CHECK), created.buckets(LOCK_CHECK)),
        reconcile_time=buckets_between(
            created.buckets(RECONCILE_TIME, controller=CONTROLLER),
            flipped.buckets(RECONCILE_TIME, controller=CONTROLLER),
        ),
        status_sync=buckets_between(created.buckets(STATUS_SYNC), flipped.buckets(STATUS_SYNC)),
        queue_wait=buckets_between(
            created.buckets(QUEUE_WAIT, name=CONTROLLER),
            flipped.buckets(QUEUE_WAIT, name=CONTROLLER),
        ),
        controller_cpu_s=cpu,
        timeline=tuple(sorted((issued[name] - first, synced[name]) for name in names)),
        settled=quiet,
    )


def _expect(observer: Observer, names: list[str], phase: str) -> None:
    wrong = [name for name in names if not observer.was_seen(name, phase)]
    if wrong:
        shown = ", ".join(f"{n}={observer.phase_of(n)}" for n in wrong[:5])
        raise BenchError(f"flip: {len(wrong)} WorkflowExecution(s) never {phase}: {shown}")


SETTLE_TIMEOUT_S = 60.0


def settled(process: ControllerProcess) -> Scrape:
    """A scrape taken once no reconcile is queued or running."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        scrape = Scrape.parse(process.scrape())
        if (
            scrape.value(QUEUE_DEPTH, name=CONTROLLER) == 0
            and scrape.value(ACTIVE_WORKERS, controller=CONTROLLER) == 0
        ):
            return scrape
        if time.monotonic() > deadline:
            raise ProgressTimeoutError(f"the controller still busy after {SETTLE_TIMEOUT_S:g}s")
        time.sleep(0.1)
