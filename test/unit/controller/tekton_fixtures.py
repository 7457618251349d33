"""Realistic Tekton PipelineRun/TaskRun dicts, shaped as Tekton v1 writes them, for failure tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NAMESPACE = "kubernaut-workflows"
PIPELINE_RUN = "wfe-cf0cc089293b1165"
STARTED = "2025-03-01T10:00:00Z"


def condition(status: str, reason: str, message: str, at: str) -> dict[str, Any]:
    return {
        "type": "Succeeded",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
    }


def step(
    name: str,
    *,
    exit_code: int | None = None,
    reason: str = "",
    started: str | None = STARTED,
    finished: str = "2025-03-01T10:01:00Z",
    running: bool = False,
    waiting_reason: str | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {"name": name, "container": f"step-{name}", "imageID": "img@sha256:1"}
    if running:
        state["running"] = {"startedAt": started}
    elif waiting_reason is not None:
        state["waiting"] = {"reason": waiting_reason, "message": f"{waiting_reason} for {name}"}
    else:
        terminated: dict[str, Any] = {
            "exitCode": exit_code or 0,
            "reason": reason,
            "finishedAt": finished,
        }
        if started is not None:
            terminated["startedAt"] = started
        state["terminated"] = terminated
    return state


def task_run(
    pipeline_task: str,
    *,
    status: str,
    reason: str,
    message: str = "",
    steps: list[dict[str, Any]] | None = None,
    completed: str | None = "2025-03-01T10:03:12Z",
) -> dict[str, Any]:
    task_run_status: dict[str, Any] = {
        "conditions": [condition(status, reason, message, completed or STARTED)],
        "podName": f"{PIPELINE_RUN}-{pipeline_task}-pod",
        "startTime": STARTED,
        "steps": steps or [],
    }
    if completed is not None:
        task_run_status["completionTime"] = completed
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": f"{PIPELINE_RUN}-{pipeline_task}",
            "namespace": NAMESPACE,
            "labels": {
                "tekton.dev/pipelineRun": PIPELINE_RUN,
                "tekton.dev/pipelineTask": pipeline_task,
            },
        },
        "status": task_run_status,
    }


def pipeline_run(
    *,
    reason: str,
    message: str,
    task_runs: Sequence[dict[str, Any]] = (),
    pipeline_tasks: list[str] | None = None,
    completed: str = "2025-03-01T10:03:15Z",
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [condition("False", reason, message, completed)],
        "startTime": STARTED,
        "completionTime": completed,
        "childReferences": [
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "TaskRun",
                "name": tr["metadata"]["name"],
                "pipelineTaskName": tr["metadata"]["labels"]["tekton.dev/pipelineTask"],
            }
            for tr in task_runs
        ],
    }
    if pipeline_tasks is not None:
        status["pipelineSpec"] = {
            "tasks": [{"name": name, "taskRef": {"name": name}} for name in pipeline_tasks]
        }
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": PIPELINE_RUN,
            "namespace": NAMESPACE,
            "creationTimestamp": "2025-03-01T09:59:58Z",
        },
        "status": status,
    }
