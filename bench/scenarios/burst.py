"""Throughput: a burst of WorkflowExecutions on distinct targets, all created at once, all run, all
completed at once. Also counts the API requests it took, per workflow."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench import controller_metrics
from bench.apiserver_requests import READ_VERBS, WRITE_VERBS, ApiServerRequests, per_workflow
from bench.driver import RUNNING_OR_DONE, Driver
from bench.observer import TERMINAL
from bench.parallel import timed_calls
from bench.scenarios.latencies import Latencies
from bench.workload import target


@dataclass(frozen=True)
class BurstResult:
    latencies: Latencies  # under overload: mostly the time spent queued behind the burst
    seconds: float  # first create issued → last WFE seen Completed
    reconciles: float
    writes_per_workflow: dict[str, float]
    reads_per_workflow: dict[str, float]

    @property
    def workflows(self) -> int:
        return self.latencies.workflows

    @property
    def workflows_per_s(self) -> float:
        return self.workflows / self.seconds

    @property
    def reconciles_per_min(self) -> float:
        return self.reconciles / (self.seconds / 60.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.latencies.as_dict(),
            "seconds": self.seconds,
            "workflows_per_s": self.workflows_per_s,
            "reconciles": self.reconciles,
            "reconciles_per_min": self.reconciles_per_min,
            "reconciles_per_workflow": self.reconciles / self.workflows,
            "api_writes_per_workflow": self.writes_per_workflow,
            "api_reads_per_workflow": self.reads_per_workflow,
        }


def burst(
    driver: Driver, count: int, requests: ApiServerRequests, settle: Callable[[], None]
) -> BurstResult:
    """Create all, wait until all Running, complete all, wait until all Completed.

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
    return BurstResult(
        latencies=Latencies.observed(
            driver.observer, names, creates.started_at, verdicts.started_at
        ),
        seconds=finished - began,
        reconciles=reconciles,
        writes_per_workflow=per_workflow(api_before, api_after, count, WRITE_VERBS),
        reads_per_workflow=per_workflow(api_before, api_after, count, READ_VERBS),
    )
