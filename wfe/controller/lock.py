"""The resource lock and cooldown checks of SPEC §3 (layers 2 and 3), answered from the cache index.

Layer 1, the PipelineRun name itself, is enforced by the API server (AlreadyExists) in the pending
handler; these checks only avoid pointless create attempts and explain skips.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from api.workflowexecution.v1alpha1.constants import (
    ConditionReason,
    ConditionType,
    Phase,
    SkipReason,
)
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller import metrics
from wfe.controller.conditions import get_condition
from wfe.controller.status import phase_of
from wfe.controller.timestamps import parse_time

Object = dict[str, Any]


LOCK_FACTS: Final = "lock-facts"
"""The cache projection the checks read (registered by ``setup_controller``)."""


@dataclass(frozen=True, slots=True)
class LockFacts:
    """What the lock and cooldown checks read of one WorkflowExecution (SPEC §3).

    The controller's cache keeps these for every cached execution that can hold or cool down a
    target (:func:`lock_facts_projection`), computed once per stored version: a check then decodes
    no object, however many past executions its target has, which keeps it well under a
    millisecond while a thousand run at once.
    """

    namespace: str
    name: str
    phase: str
    workflow_id: str
    start_time: str | None
    completion_time: str | None
    outcome: str | None
    failed_before_any_step: bool

    @classmethod
    def of(cls, obj: Object) -> LockFacts:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        status = obj.get("status") or {}
        phase = phase_of(obj)
        return cls(
            namespace=sys.intern(meta.get("namespace") or ""),
            name=meta["name"],
            phase=sys.intern(phase),
            workflow_id=sys.intern(str((spec.get("workflowRef") or {}).get("workflowId") or "")),
            start_time=status.get("startTime") or None,
            completion_time=status.get("completionTime") or None,
            outcome=_interned(status.get("outcome")),
            failed_before_any_step=(
                phase == Phase.FAILED
                and (status.get("failureDetails") or {}).get("wasExecutionFailure") is False
            ),
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


def lock_facts_projection(obj: Object) -> LockFacts | None:
    """The cache projection: the facts of an execution that holds its target (Running) or can
    cool it down (terminal after its PipelineRun was created), None for the rest (pending,
    skipped, failed before any PipelineRun), which the checks never read."""
    phase = phase_of(obj)
    holds = phase == Phase.RUNNING
    cools = phase in (Phase.COMPLETED, Phase.FAILED) and (obj.get("status") or {}).get("startTime")
    return LockFacts.of(obj) if holds or cools else None


FactsOnTarget = Callable[[str], Iterable[LockFacts]]
"""The lock facts of the executions on a lock key (the target index's value)."""


def facts_of_objects(objects: Iterable[Object]) -> list[LockFacts]:
    """The projection over decoded objects, for readers that hold objects, not a cache."""
    return [facts for obj in objects if (facts := lock_facts_projection(obj)) is not None]


@dataclass(frozen=True)
class Conflict:
    """Why a WorkflowExecution must be skipped, with the skipDetails block to write."""

    reason: SkipReason
    message: str
    details: Object


class LockChecker:
    """``facts_on_target`` answers from the target index, whose values are lock keys;
    ``target_key`` canonicalises a target into its lock key (SPEC §3).

    ``max_cooldown_seconds`` caps the doubling after consecutive failures before any step ran
    (default: the base cooldown, i.e. no doubling).
    """

    def __init__(
        self,
        facts_on_target: FactsOnTarget,
        cooldown_seconds: float,
        clock: Callable[[], datetime],
        *,
        max_cooldown_seconds: float | None = None,
        target_key: Callable[[str], str] = str,
    ):
        self._facts_on_target = facts_on_target
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
        for other in sorted(others, key=lambda facts: facts.key):
            if other.phase == Phase.RUNNING:
                return busy_conflict(target, other)
        return self._cooling_down(wfe, others)

    def recent_remediation(self, wfe: Object, extra: Iterable[Object] = ()) -> Conflict | None:
        """RecentlyRemediated when the same workflow ran on the same target less than its
        effective cooldown ago, judged on the cache plus ``extra`` (holders read live)."""
        others = {other.key: other for other in self._others(wfe)}
        own, key = _object_key(wfe), self._key_of(wfe["spec"]["targetResource"])
        on_target = (
            obj for obj in extra if self._key_of(obj["spec"].get("targetResource") or "") == key
        )
        for other in facts_of_objects(on_target):
            if other.key != own:
                others.setdefault(other.key, other)
        return self._cooling_down(wfe, list(others.values()))

    def _others(self, wfe: Object) -> list[LockFacts]:
        own = _object_key(wfe)
        key = self._key_of(wfe["spec"]["targetResource"])
        return [other for other in self._facts_on_target(key) if other.key != own]

    def _cooling_down(self, wfe: Object, others: list[LockFacts]) -> Conflict | None:
        """Every terminal execution of the same workflow on the same target that created a
        PipelineRun counts, including one that failed before any step ran (a broken bundle must
        not be re-run at alert-storm rate). The latest one decides; its cooldown doubles with each
        consecutive failure before any step ran before it (1x, 2x, 4x, ... up to the cap), and a
        success or an execution failure resets the count (SPEC §3 step 3)."""
        target = wfe["spec"]["targetResource"]
        workflow_id = wfe["spec"]["workflowRef"]["workflowId"]
        history: list[tuple[datetime, LockFacts]] = []
        for other in others:
            if other.phase not in (Phase.COMPLETED, Phase.FAILED) or not other.start_time:
                continue  # skipped, or failed before its PipelineRun was created
            if other.workflow_id != workflow_id:
                continue  # a different workflow on the same target is allowed
            completed = parse_time(other.completion_time)
            if completed is not None:
                history.append((completed, other))
        if not history:
            return None
        history.sort(key=lambda entry: (entry[0], entry[1].key), reverse=True)
        streak = 0
        for _completed, other in history:
            if not other.failed_before_any_step:
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


def _interned(value: object) -> str | None:
    return sys.intern(value) if isinstance(value, str) and value else None


def _object_key(obj: Object) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta.get("name") or "")


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


def busy_conflict(target: str, other: LockFacts) -> Conflict:
    """ResourceBusy: ``other`` holds the lock on ``target`` (Running, or Pending with the PipelineRun)."""
    return Conflict(
        reason=SkipReason.RESOURCE_BUSY,
        message=(
            f"Target {target} is already being remediated by WorkflowExecution "
            f"{other.namespace}/{other.name}."
        ),
        details={
            "conflictingWorkflow": {
                "name": other.name,
                "namespace": other.namespace,
                "workflowId": other.workflow_id,
                "startedAt": other.start_time,
                "targetResource": target,
            }
        },
    )


def _recently_remediated(
    target: str,
    workflow_id: str,
    other: LockFacts,
    remaining: float,
    cooldown_seconds: float,
    pre_execution_failures: int,
) -> Conflict:
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
            f"(WorkflowExecution {other.namespace}/{other.name}, {other.outcome or 'finished'} "
            f"at {other.completion_time}); cooldown ends in {cooldown}{why}."
        ),
        details={
            "recentRemediation": {
                "name": other.name,
                "namespace": other.namespace,
                "workflowId": workflow_id,
                "completedAt": other.completion_time,
                "outcome": other.outcome,
                "targetResource": target,
                "cooldownRemaining": cooldown,
            }
        },
    )
