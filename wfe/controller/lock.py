"""The resource lock and cooldown checks of SPEC §3 (layers 2 and 3), answered from the cache index.

Layer 1, the PipelineRun name itself, is enforced by the API server (AlreadyExists) in the pending
handler; these checks only avoid pointless create attempts and explain skips.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from api.workflowexecution.v1alpha1.constants import (
    ConditionReason,
    ConditionType,
    Phase,
    SkipReason,
)
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller import metrics
from wfe.controller.conditions import get_condition
from wfe.controller.resources import TARGET_RESOURCE_INDEX, WORKFLOW_EXECUTIONS
from wfe.controller.status import phase_of
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import Resource

Object = dict[str, Any]


class IndexReader(Protocol):
    def by_index(self, resource: Resource, index_name: str, value: str) -> list[Object]: ...


@dataclass(frozen=True)
class Conflict:
    """Why a WorkflowExecution must be skipped, with the skipDetails block to write."""

    reason: SkipReason
    message: str
    details: Object


class LockChecker:
    def __init__(self, reader: IndexReader, cooldown_seconds: float, clock: Callable[[], datetime]):
        self._reader = reader
        self._cooldown = cooldown_seconds
        self._clock = clock

    def check(self, wfe: Object) -> Conflict | None:
        started = time.perf_counter()
        try:
            return self._check(wfe)
        finally:
            metrics.LOCK_CHECK_DURATION.observe(time.perf_counter() - started)

    def _check(self, wfe: Object) -> Conflict | None:
        spec = wfe["spec"]
        target = spec["targetResource"]
        uid = wfe["metadata"].get("uid")
        others = [
            o
            for o in self._reader.by_index(WORKFLOW_EXECUTIONS, TARGET_RESOURCE_INDEX, target)
            if o["metadata"].get("uid") != uid
        ]
        for other in sorted(others, key=_key):
            if phase_of(other) == Phase.RUNNING:
                return busy_conflict(target, other)
        return self.recent_remediation(wfe, others)

    def recent_remediation(self, wfe: Object, others: list[Object]) -> Conflict | None:
        """RecentlyRemediated when one of ``others`` ran the same workflow on the same target less
        than the cooldown ago. Only executions that may have touched the target count: one that
        failed before any step ran (invalid spec, Forbidden, quota, an unresolvable bundle)
        remediated nothing, and its corrected successor must not wait out a cooldown."""
        target = wfe["spec"]["targetResource"]
        workflow_id = wfe["spec"]["workflowRef"]["workflowId"]
        now = self._clock()
        recent: tuple[float, Object] | None = None
        for other in others:
            status = other.get("status") or {}
            if phase_of(other) not in (Phase.COMPLETED, Phase.FAILED) or not status.get(
                "startTime"
            ):
                continue
            if (status.get("failureDetails") or {}).get("wasExecutionFailure") is False:
                continue  # failed before any step ran (e.g. the bundle could not be resolved)
            if other["spec"]["workflowRef"]["workflowId"] != workflow_id:
                continue  # a different workflow on the same target is allowed
            if other["spec"].get("targetResource") != target:
                continue
            completed = parse_time(status.get("completionTime"))
            if completed is None:
                continue
            remaining = self._cooldown - (now - completed).total_seconds()
            # exactly at the boundary (elapsed == cooldown) the new execution is allowed
            if remaining > 0 and (recent is None or remaining > recent[0]):
                recent = (remaining, other)
        if recent is not None:
            return _recently_remediated(target, workflow_id, recent[1], recent[0])
        return None


def lock_seconds_left(wfe: Object, cooldown_seconds: float, now: datetime) -> float | None:
    """How long a terminal WorkflowExecution keeps its PipelineRun, the lock, before the controller
    deletes it (completionTime + cooldown); zero or less means the release is due now.

    None when it holds no lock: it never created a PipelineRun (validation or Forbidden failure),
    it was skipped, it is not terminal, or the lock was already released.
    """
    status = wfe.get("status") or {}
    if phase_of(wfe) not in (Phase.COMPLETED, Phase.FAILED):
        return None
    lock = get_condition(status.get("conditions"), ConditionType.RESOURCE_LOCK_ACQUIRED)
    if lock is not None and lock.get("reason") == ConditionReason.LOCK_RELEASED:
        return None
    completed = parse_time(status.get("completionTime"))
    if completed is None or not (status.get("pipelineRunRef") or {}).get("name"):
        return None
    return cooldown_seconds - (now - completed).total_seconds()


def _key(obj: Object) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def busy_conflict(target: str, other: Object) -> Conflict:
    """ResourceBusy: ``other`` holds the lock on ``target`` (Running, or Pending with the PipelineRun)."""
    meta, status = other["metadata"], other.get("status") or {}
    return Conflict(
        reason=SkipReason.RESOURCE_BUSY,
        message=(
            f"Target {target} is already being remediated by WorkflowExecution "
            f"{meta.get('namespace')}/{meta['name']}."
        ),
        details={
            "conflictingWorkflow": {
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "workflowId": other["spec"]["workflowRef"]["workflowId"],
                "startedAt": status.get("startTime"),
                "targetResource": target,
            }
        },
    )


def _recently_remediated(
    target: str, workflow_id: str, other: Object, remaining: float
) -> Conflict:
    meta, status = other["metadata"], other.get("status") or {}
    cooldown = format_go_duration(math.ceil(remaining))  # never shows 0s while still cooling down
    return Conflict(
        reason=SkipReason.RECENTLY_REMEDIATED,
        message=(
            f"Workflow {workflow_id} already ran on {target} "
            f"(WorkflowExecution {meta.get('namespace')}/{meta['name']}, {status.get('outcome', 'finished')} "
            f"at {status.get('completionTime')}); cooldown ends in {cooldown}."
        ),
        details={
            "recentRemediation": {
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "workflowId": workflow_id,
                "completedAt": status.get("completionTime"),
                "outcome": status.get("outcome"),
                "targetResource": target,
                "cooldownRemaining": cooldown,
            }
        },
    )
