"""Names of the WorkflowExecution API: group/version/kind, phases, reasons, condition types, finalizer,
and the labels and annotations the controller puts on the PipelineRuns it creates."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

GROUP: Final = "workflowexecution.kubernaut.ai"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "WorkflowExecution"
LIST_KIND: Final = "WorkflowExecutionList"
PLURAL: Final = "workflowexecutions"
SINGULAR: Final = "workflowexecution"
SHORT_NAMES: Final = ("wfe",)
CATEGORIES: Final = ("kubernaut",)

FINALIZER: Final = "workflowexecution.kubernaut.ai/workflowexecution-cleanup"

# Field path of the lock key, as used by the cache's field index (SPEC §3).
TARGET_RESOURCE_FIELD: Final = "spec.targetResource"

# Labels the controller sets on every PipelineRun it creates (SPEC §4).
LABEL_WORKFLOW_EXECUTION: Final = "kubernaut.ai/workflow-execution"
LABEL_SOURCE_NAMESPACE: Final = "kubernaut.ai/source-namespace"
LABEL_WORKFLOW_ID: Final = "kubernaut.ai/workflow-id"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "workflowexecution-controller"

# Annotations the controller sets on every PipelineRun it creates (SPEC §4).
ANNOTATION_TARGET_RESOURCE: Final = "kubernaut.ai/target-resource"
ANNOTATION_WORKFLOW_EXECUTION_UID: Final = "kubernaut.ai/workflow-execution-uid"
ANNOTATION_CONTAINER_DIGEST: Final = "kubernaut.ai/container-digest"


class ExecutionEngine(StrEnum):
    """`spec.workflowRef.executionEngine`: what runs the workflow (absent means Tekton)."""

    TEKTON = "tekton"
    JOB = "job"


DEFAULT_EXECUTION_ENGINE: Final = ExecutionEngine.TEKTON


class Phase(StrEnum):
    """Lifecycle phase of a WorkflowExecution (`status.phase`; empty means Pending)."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    SKIPPED = "Skipped"

    @property
    def is_terminal(self) -> bool:
        """True for phases the controller never leaves (Completed, Failed, Skipped)."""
        return self in _TERMINAL_PHASES


_TERMINAL_PHASES: Final = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.SKIPPED})


class Outcome(StrEnum):
    """`status.outcome` once a WorkflowExecution ran to an end (absent for Skipped)."""

    SUCCESS = "Success"
    FAILURE = "Failure"


class FailureReason(StrEnum):
    """`status.failureDetails.reason`: why an execution failed (SPEC §5)."""

    OOM_KILLED = "OOMKilled"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    FORBIDDEN = "Forbidden"
    RESOURCE_EXHAUSTED = "ResourceExhausted"
    CONFIGURATION_ERROR = "ConfigurationError"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    TASK_FAILED = "TaskFailed"
    CANCELLED = "Cancelled"
    PIPELINE_RUN_DELETED = "PipelineRunDeleted"
    UNSUPPORTED_ENGINE = "UnsupportedEngine"
    UNKNOWN = "Unknown"


class SkipReason(StrEnum):
    """`status.skipDetails.reason`: why an execution was not started (SPEC §3)."""

    RESOURCE_BUSY = "ResourceBusy"
    RECENTLY_REMEDIATED = "RecentlyRemediated"


class ConditionType(StrEnum):
    """Types of the metav1.Condition entries in `status.conditions` (SPEC §2)."""

    RESOURCE_LOCK_ACQUIRED = "ResourceLockAcquired"
    PIPELINE_RUN_CREATED = "PipelineRunCreated"
    EXECUTION_RUNNING = "ExecutionRunning"
    EXECUTION_COMPLETE = "ExecutionComplete"
    AUDIT_RECORDED = "AuditRecorded"
    READY = "Ready"


class ConditionReason(StrEnum):
    """Reasons of the conditions in `status.conditions`, grouped by the condition they belong to.

    `ExecutionComplete=False` carries a `FailureReason` value instead, and `Ready` may carry any
    reason of the condition that decided it.
    """

    # ResourceLockAcquired
    LOCK_ACQUIRED = "LockAcquired"
    RESOURCE_BUSY = "ResourceBusy"
    RECENTLY_REMEDIATED = "RecentlyRemediated"
    LOCK_RELEASED = "LockReleased"
    # PipelineRunCreated
    PIPELINE_RUN_CREATED = "PipelineRunCreated"
    CREATION_FAILED = "CreationFailed"
    FORBIDDEN = "Forbidden"
    INVALID_SPEC = "InvalidSpec"
    # ExecutionRunning
    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_FINISHED = "ExecutionFinished"
    # ExecutionComplete (True); False uses FailureReason
    SUCCEEDED = "Succeeded"
    # AuditRecorded
    AUDIT_SUCCEEDED = "AuditSucceeded"
    AUDIT_FAILED = "AuditFailed"
    # Ready
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    SKIPPED = "Skipped"


class ConditionStatus(StrEnum):
    """`status` of a metav1.Condition (and of Tekton's Succeeded condition)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"
