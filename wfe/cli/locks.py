"""Who holds the lock on each target, and which target and workflow pairs are cooling down, decided by
the controller's own code (``wfe.controller.lock``) over the WorkflowExecutions as listed now.

The controller answers from its cache's target index; the plugin builds the same index over a LIST
and asks the same ``LockChecker`` what a new WorkflowExecution on each target would meet, so the two
cannot disagree about the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.workflowexecution.v1alpha1.constants import SkipReason
from api.workflowexecution.v1alpha1.duration import parse_go_duration
from wfe.controller.lock import LockChecker, LockFacts, facts_of_objects, lock_seconds_left
from wfe.controller.setup import target_resource_of
from wfe.controller.status import phase_of
from wfe.controller.targets import AS_WRITTEN, KindNames
from wfe.controller.timestamps import format_time

Object = dict[str, Any]


class ListedIndex:
    """The controller cache's target index (same index function), over listed objects."""

    def __init__(self, objects: Iterable[Object], kinds: KindNames = AS_WRITTEN):
        self._by_target: dict[str, list[Object]] = {}
        self._by_key: dict[tuple[str, str], Object] = {}
        for obj in objects:
            meta = obj.get("metadata") or {}
            self._by_key[(meta.get("namespace", ""), meta.get("name", ""))] = obj
            for value in target_resource_of(obj, kinds):
                self._by_target.setdefault(value, []).append(obj)

    def lock_facts(self, target: str) -> list[LockFacts]:
        """What the cache's lock-facts projection holds for ``target`` (a lock key)."""
        return facts_of_objects(self._by_target.get(target, []))

    def on_target(self, target: str) -> list[Object]:
        return list(self._by_target.get(target, []))

    def targets(self) -> list[str]:
        return sorted(self._by_target)

    def find(self, namespace: str, name: str) -> Object | None:
        return self._by_key.get((namespace, name))


def _newcomer(target: str, workflow_id: str = "") -> Object:
    """A WorkflowExecution that does not exist yet: what would the controller decide for it?"""
    return {
        "metadata": {"name": "", "namespace": ""},
        "spec": {"targetResource": target, "workflowRef": {"workflowId": workflow_id}},
    }


@dataclass(frozen=True)
class LockRow:
    target: str
    holder: Object
    seconds_left: float | None  # terminal holders only: until the controller releases the lock
    released_at: datetime | None

    @property
    def phase(self) -> str:
        return phase_of(self.holder)

    def as_dict(self) -> Object:
        meta, spec = self.holder["metadata"], self.holder["spec"]
        status = self.holder.get("status") or {}
        ref = status.get("pipelineRunRef") or {}
        return {
            "target": self.target,
            "holder": {
                "namespace": meta.get("namespace"),
                "name": meta["name"],
                "uid": meta.get("uid"),
            },
            "workflowId": spec["workflowRef"]["workflowId"],
            "phase": self.phase,
            "pipelineRun": {"namespace": ref.get("namespace"), "name": ref.get("name")}
            if ref
            else None,
            "startedAt": status.get("startTime"),
            "completedAt": status.get("completionTime"),
            "cooldownRemainingSeconds": None
            if self.seconds_left is None
            else round(self.seconds_left),
            "releasedAt": format_time(self.released_at) if self.released_at else None,
        }


@dataclass(frozen=True)
class CooldownRow:
    target: str
    workflow_id: str
    last: Object  # the execution whose completion started the cooldown
    seconds_left: float
    ends_at: datetime

    def as_dict(self) -> Object:
        meta, status = self.last["metadata"], self.last.get("status") or {}
        return {
            "target": self.target,
            "workflowId": self.workflow_id,
            "lastExecution": {"namespace": meta.get("namespace"), "name": meta["name"]},
            "outcome": status.get("outcome"),
            "completedAt": status.get("completionTime"),
            "cooldownRemainingSeconds": round(self.seconds_left),
            "endsAt": format_time(self.ends_at),
        }


def _lock_view(
    wfes: Iterable[Object],
    cooldown_seconds: float,
    now: datetime,
    target: str | None,
    max_cooldown_seconds: float | None,
    kinds: KindNames,
) -> tuple[ListedIndex, LockChecker, list[str]]:
    """The listed WFEs indexed by canonical target, the controller's own lock checker over them,
    and the targets to show (one when ``target`` is given, however its kind is written)."""
    index = ListedIndex(wfes, kinds)
    checker = LockChecker(
        index.lock_facts,
        cooldown_seconds,
        lambda: now,
        max_cooldown_seconds=max_cooldown_seconds,
        target_key=kinds.key,
    )
    wanted = kinds.key(target) if target is not None else None
    return index, checker, [t for t in index.targets() if wanted is None or t == wanted]


def lock_rows(
    wfes: Iterable[Object],
    cooldown_seconds: float,
    now: datetime,
    target: str | None = None,
    *,
    max_cooldown_seconds: float | None = None,
    kinds: KindNames = AS_WRITTEN,
) -> list[LockRow]:
    """One row per locked target. A Running holder is the one the controller would name in a
    ResourceBusy skip; otherwise a terminal execution whose PipelineRun is kept until its cooldown
    ends (the most recently started one, should two still claim it)."""
    index, checker, targets = _lock_view(
        wfes, cooldown_seconds, now, target, max_cooldown_seconds, kinds
    )
    rows = []
    for each in targets:
        conflict = checker.check(_newcomer(each))
        if conflict is not None and conflict.reason == SkipReason.RESOURCE_BUSY:
            busy = conflict.details["conflictingWorkflow"]
            holder = index.find(busy["namespace"], busy["name"])
            if holder is not None:
                rows.append(LockRow(each, holder, None, None))
                continue
        terminal = [
            (obj, left)
            for obj in index.on_target(each)
            if (left := lock_seconds_left(obj, cooldown_seconds, now)) is not None
        ]
        if terminal:
            holder, left = max(
                terminal, key=lambda h: str((h[0].get("status") or {}).get("startTime"))
            )
            rows.append(LockRow(each, holder, max(left, 0.0), now + timedelta(seconds=left)))
    return rows


def cooldown_rows(
    wfes: Iterable[Object],
    cooldown_seconds: float,
    now: datetime,
    target: str | None = None,
    *,
    max_cooldown_seconds: float | None = None,
    kinds: KindNames = AS_WRITTEN,
) -> list[CooldownRow]:
    """Every target and workflow a new execution of which the controller would skip now as
    RecentlyRemediated, with the time left."""
    index, checker, targets = _lock_view(
        wfes, cooldown_seconds, now, target, max_cooldown_seconds, kinds
    )
    rows = []
    for each in targets:
        on_target = index.on_target(each)
        for workflow_id in sorted({o["spec"]["workflowRef"]["workflowId"] for o in on_target}):
            conflict = checker.recent_remediation(_newcomer(each, workflow_id), on_target)
            if conflict is None:
                continue
            recent = conflict.details["recentRemediation"]
            last = index.find(recent["namespace"], recent["name"])
            if last is None:
                continue
            left = parse_go_duration(recent["cooldownRemaining"])
            rows.append(CooldownRow(each, workflow_id, last, left, now + timedelta(seconds=left)))
    return rows
