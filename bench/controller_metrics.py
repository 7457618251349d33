"""Readings of a controller's own Prometheus metrics, from the text its /metrics endpoint serves.

The Python controller and the controller-runtime peer expose the same controller-runtime names
(``controller_runtime_reconcile_total``, ``workqueue_queue_duration_seconds``); kopf exposes none.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

LOCK_CHECK_HISTOGRAM = "workflowexecution_resource_lock_check_duration_seconds"
RECONCILE_TOTAL = "controller_runtime_reconcile_total"
RECONCILE_SECONDS = "controller_runtime_reconcile_time_seconds"
QUEUE_SECONDS = "workqueue_queue_duration_seconds"
CONTROLLER_MARK = "workflowexecution"  # the WFE controller's name, in both implementations


def _samples(text: str, names: tuple[str, ...]) -> Iterator[Sample]:
    # an exposition can run to hundreds of kilobytes: parse only the families asked for
    wanted = "\n".join(line for line in text.splitlines() if line.startswith(names))
    for family in text_string_to_metric_families(wanted):
        yield from family.samples


def _of_wfe_controller(sample: Sample) -> bool:
    labels = sample.labels
    return CONTROLLER_MARK in labels.get("controller", labels.get("name", "")).lower()


def reconciles_total(text: str) -> float:
    """``controller_runtime_reconcile_total`` of the WorkflowExecution controller, all results."""
    return sum(
        s.value
        for s in _samples(text, (RECONCILE_TOTAL,))
        if s.name == RECONCILE_TOTAL and _of_wfe_controller(s)
    )


def sum_and_count(text: str, histogram: str) -> tuple[float, float]:
    """A histogram's ``_sum`` and ``_count`` over the WorkflowExecution controller's series."""
    total = count = 0.0
    for s in _samples(text, (histogram,)):
        if not _of_wfe_controller(s):
            continue
        if s.name == f"{histogram}_sum":
            total += s.value
        elif s.name == f"{histogram}_count":
            count += s.value
    return total, count


def lock_check_buckets(text: str) -> dict[float, float]:
    """The lock-check histogram as ``le`` bound → cumulative count (empty if not exposed)."""
    return {
        float(s.labels["le"]): s.value
        for s in _samples(text, (LOCK_CHECK_HISTOGRAM,))
        if s.name == f"{LOCK_CHECK_HISTOGRAM}_bucket"
    }


def buckets_between(before: dict[float, float], after: dict[float, float]) -> dict[float, float]:
    """The observations made between two readings of the same histogram."""
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()} or {
        math.inf: 0.0
    }
