"""The engine interface: what the phase handlers need from "an execution" (a PipelineRun, a Job).

The reconciler speaks to an :class:`ExecutionEngine`; each engine (Tekton, Job, ...) lives in one
module of this package. Creating, reading and deleting go through the engine's ``resource`` with the
generic client (same lock name, same labels and annotations on every engine), so an engine only
builds its object and reads its verdict, progress and failure details.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from wfe.controller.pipelinerun import ExecutionSettings
from wfe.runtime.client import Client, Resource

Object = dict[str, Any]


class Verdict(StrEnum):
    """An execution's state as the WorkflowExecution sees it."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ExecutionEngine(Protocol):
    """One way to run a workflow. Implementations are stateless and thread-safe."""

    @property
    def name(self) -> str:
        """The value of spec.workflowRef.executionEngine that selects this engine."""
        ...

    @property
    def kind(self) -> str:
        """The kind of the execution object, for messages ("PipelineRun", "Job")."""
        ...

    @property
    def resource(self) -> Resource:
        """Where executions live (created in the execution namespace, watched by label)."""
        ...

    def validation_problem(self, wfe: Object) -> str | None:
        """An engine-specific spec problem (human-actionable), or None."""
        ...

    def build(self, wfe: Object, settings: ExecutionSettings, lock_key: str) -> Object:
        """The execution object for ``wfe``, named after the lock on ``lock_key``."""
        ...

    def verdict(self, execution: Object) -> Verdict: ...

    def has_progress(self, execution: Object) -> bool:
        """Whether the engine has written any status worth mirroring yet."""
        ...

    def summary(self, execution: Object) -> Object:
        """status.pipelineRunStatus: the execution's verdict and progress."""
        ...

    def completion_time(self, execution: Object) -> datetime | None: ...

    def verdict_time(self, execution: Object) -> datetime | None:
        """When the engine gave its final verdict (for the status-sync latency metric)."""
        ...

    def failure_details(self, client: Client, execution: Object, now: datetime) -> Object:
        """failureDetails of a FAILED execution; may read its children (TaskRuns, pods) live."""
        ...
