"""Reasons of the Kubernetes Events the controller emits on WorkflowExecutions (SPEC §8)."""

from enum import StrEnum


class EventReason(StrEnum):
    PIPELINE_RUN_CREATED = "PipelineRunCreated"
    WORKFLOW_SKIPPED = "WorkflowSkipped"
    WORKFLOW_COMPLETED = "WorkflowCompleted"
    WORKFLOW_FAILED = "WorkflowFailed"
    LOCK_RELEASED = "LockReleased"
    CLEANUP_FAILED = "CleanupFailed"
    WORKFLOW_EXECUTION_DELETED = "WorkflowExecutionDeleted"
    INVALID_SPEC = "InvalidSpec"
    CREATE_FAILED = "CreateFailed"
