"""Tekton's writes on a PipelineRun: success, a failed task, and the progress it reports while
running. One merge patch on the status subresource each (no read first, no conflict)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.tekton.v1 import SUCCEEDED_CONDITION
from bench.workload import pipeline_run_succeeded_status
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client

Object = dict[str, Any]


def succeed(client: Client, name: str, namespace: str) -> None:
    """Tekton's last write for a PipelineRun that succeeded."""
    status = pipeline_run_succeeded_status(format_time(datetime.now(UTC)))
    client.patch(PIPELINE_RUNS, name, {"status": status}, namespace, subresource="status")


def fail(client: Client, name: str, namespace: str) -> None:
    """Tekton's last write for a PipelineRun whose task failed."""
    now = format_time(datetime.now(UTC))
    _write(
        client,
        name,
        namespace,
        now,
        "False",
        "Failed",
        "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
        completed=True,
    )


def progress(client: Client, name: str, namespace: str) -> None:
    """What Tekton writes while a PipelineRun runs."""
    now = format_time(datetime.now(UTC))
    _write(
        client,
        name,
        namespace,
        now,
        "Unknown",
        "Running",
        "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0",
        completed=False,
    )


def _write(
    client: Client,
    name: str,
    namespace: str,
    now: str,
    status: str,
    reason: str,
    message: str,
    *,
    completed: bool,
) -> None:
    body: Object = {
        "startTime": now,
        "pipelineSpec": {"tasks": [{"name": "run"}]},
        "conditions": [
            {
                "type": SUCCEEDED_CONDITION,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": now,
            }
        ],
    }
    if completed:
        body["completionTime"] = now
    client.patch(PIPELINE_RUNS, name, {"status": body}, namespace, subresource="status")
