"""The workflowexecution_* metrics (SPEC §8). Low cardinality: no names, no workflow ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from wfe.runtime.metrics.registry import REGISTRY

_DURATION_BUCKETS: Final = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
_FAST_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

EXECUTIONS_TOTAL: Final = Counter(
    "workflowexecution_total",
    "WorkflowExecutions that reached an outcome.",
    ["outcome"],
    registry=REGISTRY,
)
EXECUTION_DURATION: Final = Histogram(
    "workflowexecution_duration_seconds",
    "Duration of WorkflowExecutions from start to outcome.",
    ["outcome"],
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
PHASE_TRANSITIONS: Final = Counter(
    "workflowexecution_phase_transitions_total",
    "Phase transitions written to WorkflowExecutions.",
    ["from_phase", "to_phase"],
    registry=REGISTRY,
)
SKIPS: Final = Counter(
    "workflowexecution_skip_total",
    "WorkflowExecutions skipped by the resource lock or cooldown.",
    ["reason"],
    registry=REGISTRY,
)
ACTIVE: Final = Gauge(
    "workflowexecution_active",
    "WorkflowExecutions currently Running.",
    registry=REGISTRY,
)
PIPELINERUN_CREATION_DURATION: Final = Histogram(
    "workflowexecution_pipelinerun_creation_duration_seconds",
    "Time from a WorkflowExecution's creation to its PipelineRun being created.",
    buckets=_FAST_BUCKETS,
    registry=REGISTRY,
)
LOCK_CHECK_DURATION: Final = Histogram(
    "workflowexecution_resource_lock_check_duration_seconds",
    "Time to decide whether the target resource is locked or in cooldown.",
    buckets=_FAST_BUCKETS,
    registry=REGISTRY,
)
STATUS_SYNC_LATENCY: Final = Histogram(
    "workflowexecution_status_sync_latency_seconds",
    "Time from a PipelineRun condition transition to the WorkflowExecution status being written.",
    buckets=_FAST_BUCKETS,
    registry=REGISTRY,
)
ERRORS: Final = Counter(
    "workflowexecution_errors_total",
    "Errors by category (SPEC §7) and reason.",
    ["category", "reason"],
    registry=REGISTRY,
)


def count_active_with(counter: Callable[[], int]) -> None:
    """The active gauge is read from the cache at scrape time, so it is right after a restart too."""
    ACTIVE.set_function(lambda: float(counter()))


# Read from the informer cache at scrape time (see wfe/controller/cache_gauges.py); every replica
# reports them, standbys included, so alert on max() across pods.
RUNNING_PAST_TIMEOUT: Final = Gauge(
    "workflowexecution_running_past_timeout",
    "WorkflowExecutions still Running after their execution timeout (Tekton gave no verdict in time).",
    registry=REGISTRY,
)
AUDIT_NOT_RECORDED: Final = Gauge(
    "workflowexecution_audit_not_recorded",
    "WorkflowExecutions whose AuditRecorded condition is False (audit events not accepted yet).",
    registry=REGISTRY,
)
