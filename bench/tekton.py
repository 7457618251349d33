"""Plays Tekton's part: no Tekton controller runs against the local API server, so the benchmark
writes the verdict a real Tekton would write on a PipelineRun's status."""

from __future__ import annotations

from datetime import UTC, datetime

from api.tekton.v1 import SUCCEEDED_CONDITION
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client


def succeed(client: Client, name: str, namespace: str) -> None:
    """One write, as Tekton's last one: ``Succeeded=True``, start and completion times, one task.

    A merge patch on the status subresource needs no prior read and cannot conflict.
    """
    now = format_time(datetime.now(UTC))
    status = {
        "startTime": now,
        "completionTime": now,
        "pipelineSpec": {"tasks": [{"name": "run"}]},
        "conditions": [
            {
                "type": SUCCEEDED_CONDITION,
                "status": "True",
                "reason": "Succeeded",
                "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                "lastTransitionTime": now,
            }
        ],
    }
    client.patch(PIPELINE_RUNS, name, {"status": status}, namespace, subresource="status")
