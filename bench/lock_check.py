"""Times ``LockChecker.check`` directly over an index holding K WorkflowExecutions.

The cache is an ``Indexer`` with the controller's own target index, filled with copies of a real
Completed WorkflowExecution (as the API server returned it, managedFields and all): K objects over
K/10 targets, each target with ten past executions of the same workflow that finished before the
cooldown. That is the slowest path of a check: every past execution is read and none decides.
"""

from __future__ import annotations

import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench.errors import BenchError
from bench.stats import Distribution
from bench.workload import target
from wfe.controller.lock import LOCK_FACTS, LockChecker, lock_facts_projection
from wfe.controller.reconciler import utc_now
from wfe.controller.resources import TARGET_RESOURCE_INDEX
from wfe.controller.setup import target_resource_of
from wfe.controller.timestamps import format_time
from wfe.runtime.cache.store import Indexer, copy_object

Object = dict[str, Any]

HISTORY_PER_TARGET = 10
COOLDOWN_SECONDS = 300.0


@dataclass(frozen=True)
class LockCheckResult:
    cached_wfes: int
    targets: int
    latency: Distribution
    cache_bytes_per_wfe: float  # Python heap held by the index per cached WorkflowExecution

    def as_dict(self) -> dict[str, Any]:
        return {
            "cached_wfes": self.cached_wfes,
            "targets": self.targets,
            "history_per_target": HISTORY_PER_TARGET,
            "latency": self.latency.as_dict(),
            "cache_bytes_per_wfe": self.cache_bytes_per_wfe,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> LockCheckResult:
        """Back from ``as_dict`` (the samples are kept to the microsecond)."""
        return cls(
            cached_wfes=int(document["cached_wfes"]),
            targets=int(document["targets"]),
            latency=Distribution.of(document["latency"]["samples_s"]),
            cache_bytes_per_wfe=float(document["cache_bytes_per_wfe"]),
        )


def measure(template: Object, cached: int, checks: int) -> LockCheckResult:
    targets = max(1, cached // HISTORY_PER_TARGET)
    finished_long_ago = format_time(datetime.now(UTC) - timedelta(hours=1))
    tracemalloc.start()
    try:
        indexer = Indexer({TARGET_RESOURCE_INDEX: target_resource_of})
        indexer.add_projections({LOCK_FACTS: lock_facts_projection})
        for index in range(cached):
            past = _past_execution(
                template, index, target("lock", index % targets), finished_long_ago
            )
            indexer.add(past)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # what the controller's cache answers: the lock facts projected beside the target index
    checker = LockChecker(
        lambda key: indexer.projected_by_index(TARGET_RESOURCE_INDEX, key, LOCK_FACTS),
        COOLDOWN_SECONDS,
        utc_now,
    )
    durations = []
    for index in range(checks):
        candidate = _new_execution(template, index, target("lock", index % targets))
        began = time.perf_counter()
        conflict = checker.check(candidate)
        durations.append(time.perf_counter() - began)
        if conflict is not None:
            raise BenchError(
                f"lock check: executions that finished an hour ago blocked a new one "
                f"({conflict.reason}: {conflict.message})"
            )
    return LockCheckResult(cached, targets, Distribution.of(durations), held / cached)


def _past_execution(template: Object, index: int, target_resource: str, finished: str) -> Object:
    status = {
        **(template.get("status") or {}),
        "phase": Phase.COMPLETED,
        "completionTime": finished,
    }
    return _execution(template, f"lock-past-{index}", target_resource, status)


def _new_execution(template: Object, index: int, target_resource: str) -> Object:
    return _execution(template, f"lock-new-{index}", target_resource, {})


def _execution(template: Object, name: str, target_resource: str, status: Object) -> Object:
    obj = copy_object(template)
    obj["metadata"]["name"] = name
    obj["metadata"]["uid"] = str(uuid.uuid4())
    obj["spec"]["targetResource"] = target_resource
    obj["status"] = status
    return obj
