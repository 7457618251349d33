"""A duplicate-alert storm: many WorkflowExecutions on few targets, all at once. The lock must let
exactly one per target run; every other one must be Skipped as ResourceBusy."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase, SkipReason
from bench.driver import RUNNING_OR_DONE, Driver
from bench.errors import BenchError
from bench.observer import TERMINAL
from bench.parallel import timed_calls
from bench.stats import Distribution
from bench.workload import target


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
    """``count`` WFEs, ``per_target`` of them on each target; the runners are then completed."""
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
    decided = [
        driver.observer.phase_seen_at(name, Phase.RUNNING if name in running else Phase.SKIPPED)
        - creates.started_at[index]
        for index, name in enumerate(names)
    ]
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
