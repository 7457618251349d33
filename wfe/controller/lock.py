"""The resource lock and cooldown checks of SPEC §3 (layers 2 and 3), answered from the cache index.

Layer 1, the PipelineRun name itself, is enforced by the API server (AlreadyExists) in the pending
handler; these checks only avoid pointless create attempts and explain skips.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
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
    """``target_key`` canonicalises a target into its lock key (SPEC §3); the index holds keys.

    ``max_cooldown_seconds`` caps the doubling after consecutive failures before any step ran
    (default: the base cooldown, i.e. no doubling).
    """

    def __init__(
        self,
        reader: IndexReader,
        cooldown_seconds: float,
        clock: Callable[[], datetime],
        *,
        max_cooldown_seconds: float | None = None,
        target_key: Callable[[str], str] = str,
    ):
        self._reader = reader
        self._cooldown = cooldown_seconds
        self._max_cooldown = max(cooldown_seconds, max_cooldown_seconds or cooldown_seconds)
        self._clock = clock
        self._key_of = target_key

    def check(self, wfe: Object) -> Conflict | None:
        started = time.perf_counter()
        try:
            return self._check(wfe)
        finally:
            metrics.LOCK_CHECK_DURATION.observe(time.perf_counter() - started)

    def _check(self, wfe: Object) -> Conflict | None:
        target = wfe["spec"]["targetResource"]
        others = self._others(wfe)
        for other in sorted(others, key=_key):
            if phase_of(other) == Phase.RUNNING:
                return busy_conflict(target, other)
        return self._cooling_down(wfe, others)

    def recent_remediation(self, wfe: Object, extra: Iterable[Object] = ()) -> Conflict | None:
        """RecentlyRemediated when the same workflow ran on the same target less than its
        effective cooldown ago, judged on the cache plus ``extra`` (holders read live)."""
        others = {o["metadata"].get("uid"): o for o in self._others(wfe)}
        uid = wfe["metadata"].get("uid")
        for other in extra:
            if other["metadata"].get("uid") != uid:
                others.setdefault(other["metadata"].get("uid"), other)
        return self._cooling_down(wfe, list(others.values()))

    def _others(self, wfe: Object) -> list[Object]:
        uid = wfe["metadata"].get("uid")
        key = self._key_of(wfe["spec"]["targetResource"])
        return [
            o
            for o in self._reader.by_index(WORKFLOW_EXECUTIONS, TARGET_RESOURCE_INDEX, key)
            if o["metadata"].get("uid") != uid
        ]

    def _cooling_down(self, wfe: Object, others: list[Object]) -> Conflict | None:
        """Every terminal execution of the same workflow on the same target that created a
        PipelineRun counts, including one that failed before any step ran (a broken bundle must
        not be re-run at alert-storm rate). The latest one decides; its cooldown doubles with each
        consecutive failure before any step ran before it (1x, 2x, 4x, ... up to the cap), and a
        success or an execution failure resets the count (SPEC §3 step 3)."""
        target = wfe["spec"]["targetResource"]
        key = self._key_of(target)
        workflow_id = wfe["spec"]["workflowRef"]["workflowId"]
        history: list[tuple[datetime, Object]] = []
        for other in others:
            status = other.get("status") or {}
            if phase_of(other) not in (Phase.COMPLETED, Phase.FAILED) or not status.get(
                "startTime"
            ):
                continue  # skipped, or failed before its PipelineRun was created
            if other["spec"]["workflowRef"]["workflowId"] != workflow_id:
                continue  # a different workflow on the same target is allowed
            if self._key_of(other["spec"].get("targetResource") or "") != key:
                continue
            completed = parse_time(status.get("completionTime"))
            if completed is not None:
                history.append((completed, other))
        if not history:
            return None
        history.sort(key=lambda entry: (entry[0], _key(entry[1])), reverse=True)
        streak = 0
        for _completed, other in history:
            if not _failed_before_any_step(other):
                break
            streak += 1
        cooldown = self.effective_cooldown(streak)
        completed, latest = history[0]
        remaining = cooldown - (self._clock() - completed).total_seconds()
        # exactly at the boundary (elapsed == cooldown) the new execution is allowed
        if remaining <= 0:
            return None
        return _recently_remediated(target, workflow_id, latest, remaining, cooldown, streak)

    def effective_cooldown(self, pre_execution_failures: int) -> float:
        """The base cooldown, doubled for each consecutive failure before any step ran after the
        first, capped at the maximum."""
        if pre_execution_failures <= 1:
            return self._cooldown
        doublings = min(pre_execution_failures - 1, 64)  # 2**64 x anything is past any cap
        return min(self._cooldown * 2.0**doublings, self._max_cooldown)


def _failed_before_any_step(obj: Object) -> bool:
    status = obj.get("status") or {}
    return (
        phase_of(obj) == Phase.FAILED
        and (status.get("failureDetails") or {}).get("wasExecutionFailure") is False
    )


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
    target: str,
    workflow_id: str,
    other: Object,
    remaining: float,
    cooldown_seconds: float,
    pre_execution_failures: int,
) -> Conflict:
    meta, status = other["metadata"], other.get("status") or {}
    cooldown = format_go_duration(math.ceil(remaining))  # never shows 0s while still cooling down
    why = (
        f" (cooldown {format_go_duration(cooldown_seconds)} after {pre_execution_failures} "
        "consecutive failures before any step ran)"
        if pre_execution_failures > 1
        else ""
    )
    return Conflict(
        reason=SkipReason.RECENTLY_REMEDIATED,
        message=(
            f"Workflow {workflow_id} already ran on {target} "
            f"(WorkflowExecution {meta.get('namespace')}/{meta['name']}, {status.get('outcome', 'finished')} "
            f"at {status.get('completionTime')}); cooldown ends in {cooldown}{why}."
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
