"""Readings of the controller's own Prometheus metrics (the process-wide REGISTRY)."""

from __future__ import annotations

import math

from wfe.controller.reconciler import CONTROLLER_NAME
from wfe.runtime.metrics.registry import REGISTRY

LOCK_CHECK_HISTOGRAM = "workflowexecution_resource_lock_check_duration_seconds"


def reconciles_total() -> float:
    """``controller_runtime_reconcile_total`` of the WorkflowExecution controller, all results."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "controller_runtime_reconcile"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("controller") == CONTROLLER_NAME
    )


def lock_check_buckets() -> dict[float, float]:
    """The lock-check histogram as ``le`` bound → cumulative count."""
    return {
        float(sample.labels["le"]): sample.value
        for family in REGISTRY.collect()
        if family.name == LOCK_CHECK_HISTOGRAM
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }


def buckets_between(before: dict[float, float], after: dict[float, float]) -> dict[float, float]:
    """The observations made between two readings of the same histogram."""
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()} or {
        math.inf: 0.0
    }
