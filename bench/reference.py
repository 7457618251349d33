"""The reference points: what the same API server does for plain clients in the same run.

(a) the raw write limit: tiny ConfigMap creates, one after another and from four threads;
(b) the minimum API work of one workflow done by hand: create the WorkflowExecution, create its
PipelineRun, write its status once. No controller, no watch, no cache: nothing to wait for.

A run measures them twice, before and after the controller scenarios, and uses the mean: the spread
between the two rounds shows how much the machine itself varied during the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.parallel import timed_calls
from bench.stats import Distribution
from bench.workload import CONFIG_MAPS, config_map, target, workflow_execution
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client

WARM_UP_ROUNDS = 3


@dataclass(frozen=True)
class ReferencePoints:
    writes_sequential_per_s: float
    writes_threaded_per_s: float
    write_latency: Distribution  # one create, sequential: the unit latency ratios are expressed in
    workflows_sequential_per_s: float
    workflows_threaded_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "raw_creates_per_s_sequential": self.writes_sequential_per_s,
            "raw_creates_per_s_4_threads": self.writes_threaded_per_s,
            "raw_create_latency": self.write_latency.as_dict(),
            "raw_minimal_workflows_per_s_sequential": self.workflows_sequential_per_s,
            "raw_minimal_workflows_per_s_4_threads": self.workflows_threaded_per_s,
        }


def merge(rounds: Sequence[ReferencePoints]) -> ReferencePoints:
    """The mean rates of several rounds, and the latency distribution of all their creates."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return ReferencePoints(
        writes_sequential_per_s=mean([r.writes_sequential_per_s for r in rounds]),
        writes_threaded_per_s=mean([r.writes_threaded_per_s for r in rounds]),
        write_latency=Distribution.of(s for r in rounds for s in r.write_latency.samples),
        workflows_sequential_per_s=mean([r.workflows_sequential_per_s for r in rounds]),
        workflows_threaded_per_s=mean([r.workflows_threaded_per_s for r in rounds]),
    )


def measure(
    client: Client, namespace: str, writes: int, workflows: int, round_name: str
) -> ReferencePoints:
    """Runs (a) then (b) in ``namespace``, which no controller watches; names carry ``round_name``."""

    def create_config_map(name: str) -> None:
        client.create(CONFIG_MAPS, config_map(f"{round_name}-{name}", namespace))

    minimal = _MinimalWorkflow(client, namespace)
    # The API server sets up a custom resource's storage on its first request (seconds on a
    # small machine): pay that, and the connection set-up, outside every timed batch.
    for index in range(WARM_UP_ROUNDS):
        create_config_map(f"warm-up-{index}")
        minimal.run((f"{round_name}-warm-up", index))

    sequential = timed_calls(create_config_map, [f"seq-{i}" for i in range(writes)], threads=1)
    threaded = timed_calls(create_config_map, [f"par-{i}" for i in range(writes)])
    workflows_sequential = timed_calls(
        minimal.run, [(f"{round_name}-seq", i) for i in range(workflows)], threads=1
    )
    workflows_threaded = timed_calls(
        minimal.run, [(f"{round_name}-par", i) for i in range(workflows)]
    )
    return ReferencePoints(
        writes_sequential_per_s=sequential.rate,
        writes_threaded_per_s=threaded.rate,
        write_latency=Distribution.of(sequential.durations),
        workflows_sequential_per_s=workflows_sequential.rate,
        workflows_threaded_per_s=workflows_threaded.rate,
    )


class _MinimalWorkflow:
    """The three writes no controller can avoid, with the bodies the controller really sends."""

    def __init__(self, client: Client, namespace: str):
        self._client = client
        self._namespace = namespace
        self._settings = ExecutionSettings(
            execution_namespace=namespace,
            default_service_account="kubernaut-workflow-runner",
            default_timeout_seconds=1800.0,
        )

    def run(self, item: tuple[str, int]) -> None:
        scenario, index = item
        wfe = self._client.create(
            WORKFLOW_EXECUTIONS,
            workflow_execution(f"{scenario}-{index}", self._namespace, target(scenario, index)),
        )
        pipeline_run = self._client.create(PIPELINE_RUNS, build_pipeline_run(wfe, self._settings))
        wfe["status"] = {
            "phase": "Running",
            "startTime": format_time(datetime.now(UTC)),
            "message": "Workflow is running.",
            "pipelineRunRef": {
                "name": pipeline_run["metadata"]["name"],
                "namespace": self._namespace,
            },
        }
        self._client.update_status(WORKFLOW_EXECUTIONS, wfe)
