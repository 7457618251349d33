"""The controller scenarios: one workflow at a time, a burst over distinct targets, and a storm
of duplicates over few targets."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase, SkipReason
from bench import controller_metrics
from bench.apiserver_requests import READ_VERBS, WRITE_VERBS, ApiServerRequests, per_workflow
from bench.driver import RUNNING_OR_DONE, Driver
from bench.errors import BenchError
from bench.observer import TERMINAL
from bench.parallel import timed_calls
from bench.stats import Distribution
from bench.workload import target

# --- one at a time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialResult:
    workflows: int
    pipeline_run_created: Distribution  # WFE create issued → PipelineRun seen
    status_synced: Distribution  # Succeeded=True write issued → WFE seen Completed

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "pipeline_run_created": self.pipeline_run_created.as_dict(),
            "status_synced": self.status_synced.as_dict(),
        }


def one_at_a_time(driver: Driver, count: int) -> SequentialResult:
    """Unloaded latencies: each workflow runs to Completed before the next is created."""
    created, synced = [], []
    for index in range(count):
        name = f"seq-{index}"
        issued = time.monotonic()
        driver.create((name, target("seq", index)))
        driver.wait([name], RUNNING_OR_DONE, f"{name} Running")
        driver.expect([name], Phase.RUNNING, "one at a time")
        driver.wait_for_pipeline_runs([name], f"the PipelineRun of {name}")
        created.append(driver.observer.pipeline_run_seen_at(name) - issued)
        verdict = time.monotonic()
        driver.succeed(name)
        driver.wait([name], TERMINAL, f"{name} Completed")
        driver.expect([name], Phase.COMPLETED, "one at a time")
        synced.append(driver.observer.phase_seen_at(name, Phase.COMPLETED) - verdict)
    return SequentialResult(count, Distribution.of(created), Distribution.of(synced))


# --- burst ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurstResult:
    workflows: int
    seconds: float  # first create issued → last WFE seen Completed
    reconciles: float
    pipeline_run_created: Distribution
    status_synced: Distribution
    writes_per_workflow: dict[str, float]
    reads_per_workflow: dict[str, float]

    @property
    def workflows_per_s(self) -> float:
        return self.workflows / self.seconds

    @property
    def reconciles_per_min(self) -> float:
        return self.reconciles / (self.seconds / 60.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "seconds": self.seconds,
            "workflows_per_s": self.workflows_per_s,
            "reconciles": self.reconciles,
            "reconciles_per_min": self.reconciles_per_min,
            "reconciles_per_workflow": self.reconciles / self.workflows,
            "pipeline_run_created": self.pipeline_run_created.as_dict(),
            "status_synced": self.status_synced.as_dict(),
            "api_writes_per_workflow": self.writes_per_workflow,
            "api_reads_per_workflow": self.reads_per_workflow,
        }


def burst(
    driver: Driver, count: int, requests: ApiServerRequests, settle: Callable[[], None]
) -> BurstResult:
    """``count`` WFEs on distinct targets: create all, all Running, complete all, all Completed.

    ``settle`` waits for the controller's asynchronous writes (Events) before requests are counted.
    """
    names = [f"burst-{i}" for i in range(count)]
    api_before = requests.counts()
    reconciles_before = controller_metrics.reconciles_total()
    began = time.monotonic()
    creates = timed_calls(driver.create, [(n, target("burst", i)) for i, n in enumerate(names)])
    driver.wait(names, RUNNING_OR_DONE, "every burst WorkflowExecution Running")
    driver.expect(names, Phase.RUNNING, "burst")
    driver.wait_for_pipeline_runs(names, "every burst PipelineRun")
    verdicts = timed_calls(driver.succeed, names)
    finished = driver.wait(names, TERMINAL, "every burst WorkflowExecution Completed")
    driver.expect(names, Phase.COMPLETED, "burst")
    reconciles = controller_metrics.reconciles_total() - reconciles_before
    settle()
    api_after = requests.counts()
    seen = driver.observer
    return BurstResult(
        workflows=count,
        seconds=finished - began,
        reconciles=reconciles,
        pipeline_run_created=Distribution.of(
            seen.pipeline_run_seen_at(n) - creates.started_at[i] for i, n in enumerate(names)
        ),
        status_synced=Distribution.of(
            seen.phase_seen_at(n, Phase.COMPLETED) - verdicts.started_at[i]
            for i, n in enumerate(names)
        ),
        writes_per_workflow=per_workflow(api_before, api_after, count, WRITE_VERBS),
        reads_per_workflow=per_workflow(api_before, api_after, count, READ_VERBS),
    )


# --- storm ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StormResult:
    workflows: int
    targets: int
    seconds: float  # first create issued → every WFE Completed or Skipped
    decided: Distribution  # create issued → seen Running or Skipped
    completed: int
    skipped: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "targets": self.targets,
            "seconds": self.seconds,
            "decided": self.decided.as_dict(),
            "completed": self.completed,
            "skipped_resource_busy": self.skipped,
        }


def storm(driver: Driver, count: int, per_target: int) -> StormResult:
    """A duplicate-alert storm: ``count`` WFEs, ``per_target`` on each target, all at once.

    The lock must let exactly one per target run; every other one is Skipped as ResourceBusy.
    """
    targets = max(1, count // per_target)
    items = [(f"storm-{i}", target("storm", i % targets)) for i in range(count)]
    names = [name for name, _ in items]
    began = time.monotonic()
    creates = timed_calls(driver.create, items)
    driver.wait(names, RUNNING_OR_DONE, "every storm WorkflowExecution Running or Skipped")
    running = {n for n in names if driver.observer.phase_of(n) == Phase.RUNNING}
    _check_one_runner_per_target(driver, items, running)
    driver.wait_for_pipeline_runs(sorted(running), "every storm PipelineRun")
    timed_calls(driver.succeed, sorted(running))
    finished = driver.wait(names, TERMINAL, "every storm WorkflowExecution Completed or Skipped")
    driver.expect(running, Phase.COMPLETED, "storm")
    seen = driver.observer
    decided = []
    for index, name in enumerate(names):
        phase = Phase.RUNNING if name in running else Phase.SKIPPED
        decided.append(seen.phase_seen_at(name, phase) - creates.started_at[index])
    return StormResult(
        workflows=count,
        targets=targets,
        seconds=finished - began,
        decided=Distribution.of(decided),
        completed=len(running),
        skipped=count - len(running),
    )


def _check_one_runner_per_target(
    driver: Driver, items: list[tuple[str, str]], running: set[str]
) -> None:
    runners: defaultdict[str, list[str]] = defaultdict(list)
    for name, target_resource in items:
        if name in running:
            runners[target_resource].append(name)
    broken = {t: r for t, r in runners.items() if len(r) != 1}
    idle = {t for _, t in items} - runners.keys()
    if broken or idle:
        raise BenchError(
            f"storm: the resource lock let {broken or 'none'} run together and left "
            f"{sorted(idle) or 'none'} without a runner"
        )
    reasons = Counter(
        ((obj.get("status") or {}).get("skipDetails") or {}).get("reason")
        for obj in driver.observer.workflow_executions(n for n, _ in items if n not in running)
    )
    if set(reasons) - {SkipReason.RESOURCE_BUSY}:
        raise BenchError(f"storm: skips other than ResourceBusy: {dict(reasons)}")
