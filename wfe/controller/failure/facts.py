"""What is known about one failed execution, before it is rendered into status.failureDetails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.workflowexecution.v1alpha1 import FailureReason


@dataclass(frozen=True)
class FailureFacts:
    """The facts of a failure; task and step fields are ``None`` when no task is to blame."""

    reason: FailureReason
    message: str
    failed_at: datetime
    was_execution_failure: bool
    elapsed_seconds: float | None = None
    task_index: int | None = None
    """0-based position of the failed task in the PipelineRun's status.childReferences."""
    task_name: str | None = None
    task_count: int = 0
    """Tasks of the pipeline (0 when unknown)."""
    step_name: str | None = None
    exit_code: int | None = None
    logs_command: str | None = None
    """A kubectl command that prints the failed step's logs, when the pod is known."""
