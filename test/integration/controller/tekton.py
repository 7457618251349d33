"""Plays Tekton: writes PipelineRun/TaskRun status through the API the way Tekton's controller does.

No Tekton controller runs against the local API server; the tests decide every verdict, exactly as
Kubernaut's Go suite does with envtest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wfe.controller.resources import PIPELINE_RUNS, TASK_RUNS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client, Resource, is_conflict

Object = dict[str, Any]


def succeeded(status: str, reason: str, message: str, at: datetime) -> Object:
    """Tekton's ``Succeeded`` condition (knative apis.Condition shape)."""
    return {
        "type": "Succeeded",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": format_time(at),
    }


def progress(completed: int, failed: int = 0, cancelled: int = 0, skipped: int = 0) -> str:
    """The message Tekton puts on a PipelineRun's Succeeded condition."""
    return f"Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled}), Skipped: {skipped}"


def terminated_step(
    name: str, exit_code: int, reason: str, started: datetime, finished: datetime
) -> Object:
    """A TaskRun step whose container ran and exited."""
    return {
        "name": name,
        "container": f"step-{name}",
        "imageID": "registry.example/step@sha256:" + "0" * 64,
        "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": format_time(started),
            "finishedAt": format_time(finished),
        },
    }


def waiting_step(name: str, reason: str, message: str) -> Object:
    """A TaskRun step whose container never started (image pull, config error)."""
    return {
        "name": name,
        "container": f"step-{name}",
        "waiting": {"reason": reason, "message": message},
    }


@dataclass(frozen=True)
class TaskRunSpec:
    """One pipeline task's TaskRun as Tekton reports it at the end."""

    pipeline_task: str
    status: str
    reason: str
    message: str
    steps: Sequence[Object] = ()
    completed: datetime | None = None
    """When this TaskRun finished, if earlier than its PipelineRun (a ``finally`` task ran on)."""


class Tekton:
    """Writes what Tekton would write, with the admin client, in the execution namespace."""

    def __init__(self, client: Client, namespace: str):
        self.client = client
        self.namespace = namespace

    def pipeline_run(self, name: str) -> Object:
        return self.client.get(PIPELINE_RUNS, name, self.namespace)

    def start(self, name: str, at: datetime, *, tasks: Sequence[str] = ("run",)) -> Object:
        """The PipelineRun was resolved and started: Succeeded=Unknown/Running."""

        def mutate(status: Object) -> None:
            status["startTime"] = format_time(at)
            status["pipelineSpec"] = {"tasks": [{"name": task} for task in tasks]}
            status["conditions"] = [succeeded("Unknown", "Running", progress(0), at)]

        return self._write_status(PIPELINE_RUNS, name, mutate)

    def write_status(self, name: str, mutate: Callable[[Object], None]) -> Object:
        """Any PipelineRun status, malformed ones included (Tekton bugs, fault injection)."""
        return self._write_status(PIPELINE_RUNS, name, mutate)

    def report_progress(self, name: str, at: datetime, completed: int) -> Object:
        def mutate(status: Object) -> None:
            status["conditions"] = [succeeded("Unknown", "Running", progress(completed), at)]

        return self._write_status(PIPELINE_RUNS, name, mutate)

    def succeed(
        self, name: str, *, started: datetime, completed: datetime, tasks: Sequence[str] = ("run",)
    ) -> Object:
        """Every task succeeded: Succeeded=True, startTime, completionTime, childReferences."""
        references = [
            self._create_task_run(
                name,
                TaskRunSpec(t, "True", "Succeeded", "All Steps have completed executing"),
                started,
                completed,
            )
            for t in tasks
        ]

        def mutate(status: Object) -> None:
            status["startTime"] = format_time(started)
            status["completionTime"] = format_time(completed)
            status["pipelineSpec"] = {"tasks": [{"name": task} for task in tasks]}
            status["childReferences"] = references
            status["conditions"] = [succeeded("True", "Succeeded", progress(len(tasks)), completed)]

        return self._write_status(PIPELINE_RUNS, name, mutate)

    def fail(
        self,
        name: str,
        *,
        reason: str,
        message: str,
        started: datetime,
        completed: datetime,
        task_runs: Sequence[TaskRunSpec] = (),
        pipeline_tasks: Sequence[str] | None = None,
    ) -> Object:
        """Succeeded=False with Tekton's ``reason``; ``task_runs`` are created with their status."""
        references = [self._create_task_run(name, spec, started, completed) for spec in task_runs]
        tasks = list(pipeline_tasks or [spec.pipeline_task for spec in task_runs])

        def mutate(status: Object) -> None:
            status["startTime"] = format_time(started)
            status["completionTime"] = format_time(completed)
            if tasks:
                status["pipelineSpec"] = {"tasks": [{"name": task} for task in tasks]}
            if references:
                status["childReferences"] = references
            status["conditions"] = [succeeded("False", reason, message, completed)]

        return self._write_status(PIPELINE_RUNS, name, mutate)

    def _create_task_run(
        self, pipeline_run: str, spec: TaskRunSpec, started: datetime, completed: datetime
    ) -> Object:
        """Creates the TaskRun with its final status; returns the PipelineRun's childReference."""
        name = f"{pipeline_run}-{spec.pipeline_task}"
        self.client.create(
            TASK_RUNS,
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "TaskRun",
                "metadata": {
                    "name": name,
                    "namespace": self.namespace,
                    "labels": {
                        "tekton.dev/pipelineRun": pipeline_run,
                        "tekton.dev/pipelineTask": spec.pipeline_task,
                    },
                },
                "spec": {"taskRef": {"name": spec.pipeline_task}},
            },
        )

        def mutate(status: Object) -> None:
            status["podName"] = f"{name}-pod"
            status["startTime"] = format_time(started)
            status["completionTime"] = format_time(spec.completed or completed)
            status["steps"] = list(spec.steps)
            status["conditions"] = [
                succeeded(spec.status, spec.reason, spec.message, spec.completed or completed)
            ]

        self._write_status(TASK_RUNS, name, mutate)
        return {
            "apiVersion": "tekton.dev/v1",
            "kind": "TaskRun",
            "name": name,
            "pipelineTaskName": spec.pipeline_task,
        }

    def _write_status(
        self, resource: Resource, name: str, mutate: Callable[[Object], None]
    ) -> Object:
        """GET, mutate status, PUT /status; retried on conflict like any other status writer."""
        for _ in range(10):
            current = self.client.get(resource, name, self.namespace)
            mutate(current.setdefault("status", {}))
            try:
                return self.client.update_status(resource, current)
            except Exception as err:
                if not is_conflict(err):
                    raise
        raise AssertionError(f"could not write the status of {resource} {name}: conflicts")
