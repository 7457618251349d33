"""Drives the controller the way its neighbours do: creates WorkflowExecutions (the
RemediationOrchestrator), gives PipelineRun verdicts (Tekton), and waits on what the observer sees."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from api.workflowexecution.v1alpha1.constants import Phase
from bench import tekton
from bench.errors import BenchError
from bench.observer import TERMINAL, Observer
from bench.workload import workflow_execution
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client

RUNNING_OR_DONE = frozenset({Phase.RUNNING, *TERMINAL})


class Driver:
    """Creates WorkflowExecutions and gives Tekton's verdicts, through a client of its own."""

    def __init__(self, client: Client, observer: Observer, timeout_for: Callable[[int], float]):
        self.client = client
        self.observer = observer
        self.timeout_for = timeout_for  # workflows waited on -> seconds the wait may take

    def create(self, item: tuple[str, str]) -> None:
        name, target_resource = item
        self.client.create(
            WORKFLOW_EXECUTIONS,
            workflow_execution(name, self.observer.namespace, target_resource),
        )

    def succeed(self, name: str) -> None:
        tekton.succeed(
            self.client, self.observer.pipeline_run_of(name), self.observer.execution_namespace
        )

    def wait(self, names: list[str], phases: Iterable[str], what: str) -> float:
        return self.observer.wait_for_phases(names, phases, self.timeout_for(len(names)), what)

    def wait_for_pipeline_runs(self, names: list[str], what: str) -> None:
        """PipelineRuns come through their own watch: seeing a WFE Running does not mean the
        observer has seen its PipelineRun yet."""
        self.observer.wait_for_pipeline_runs(names, self.timeout_for(len(names)), what)

    def expect(self, names: Iterable[str], phase: str, doing: str) -> None:
        """Every WFE in ``names`` was seen in ``phase``; otherwise the controller misbehaved."""
        wrong = [n for n in names if not self.observer.was_seen(n, phase)]
        if wrong:
            raise BenchError(
                f"{doing}: {len(wrong)} WorkflowExecution(s) never {phase}: {self._why(wrong)}"
            )

    def _why(self, names: list[str]) -> str:
        shown = []
        for obj in self.observer.workflow_executions(names[:3]):
            status = obj.get("status") or {}
            shown.append(
                f"{obj['metadata']['name']} is {status.get('phase')}: {status.get('message')}"
            )
        return "; ".join(shown)

    def verdict_when_running(self, name: str, doing: str) -> float:
        """Waits until ``name`` runs and its PipelineRun is seen, then succeeds it as Tekton would.

        Returns when the verdict was issued (``time.monotonic()``).
        """
        self.wait([name], RUNNING_OR_DONE, f"{name} Running")
        self.expect([name], Phase.RUNNING, doing)
        self.wait_for_pipeline_runs([name], f"the PipelineRun of {name}")
        issued = time.monotonic()
        self.succeed(name)
        return issued
