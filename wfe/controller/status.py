"""Writes WorkflowExecution status through the status subresource, retrying optimistic conflicts.

A mutation is a function applied to a fresh copy of the object; on 409 Conflict the object is read
again from the API server and the same mutation re-applied (client-go's RetryOnConflict), unless the
phase moved meanwhile, in which case the write is abandoned: another reconcile already decided.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from wfe.controller import metrics
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, is_conflict

Object = dict[str, Any]
Mutation = Callable[[Object], None]

CONFLICT_RETRIES = 5


class PhaseMovedError(Exception):
    """The object's phase changed under us; the caller's decision is stale and must be dropped."""


def phase_of(obj: Object) -> str:
    """The phase of a WorkflowExecution; an empty phase is Pending (SPEC §2)."""
    return str((obj.get("status") or {}).get("phase") or Phase.PENDING)


class StatusWriter:
    def __init__(self, client: Client):
        self._client = client

    def write(self, obj: Object, mutate: Mutation) -> Object:
        """Applies ``mutate`` to ``obj``'s status and writes it; returns the object as stored."""
        expected_phase = phase_of(obj)
        current = obj
        for attempt in range(CONFLICT_RETRIES + 1):
            desired = copy.deepcopy(current)
            desired.setdefault("status", {})
            mutate(desired)
            if desired.get("status") == current.get("status"):
                return current  # nothing to write: no write storms on repeated reconciles
            try:
                stored = self._client.update_status(WORKFLOW_EXECUTIONS, desired)
            except Exception as err:
                if not is_conflict(err) or attempt == CONFLICT_RETRIES:
                    raise
                meta = obj["metadata"]
                current = self._client.get(WORKFLOW_EXECUTIONS, meta["name"], meta["namespace"])
                if phase_of(current) != expected_phase:
                    raise PhaseMovedError(
                        f"phase moved from {expected_phase} to {phase_of(current)}"
                    ) from err
                continue
            to_phase = phase_of(stored)
            if to_phase != expected_phase:
                metrics.PHASE_TRANSITIONS.labels(from_phase=expected_phase, to_phase=to_phase).inc()
            return stored
        raise AssertionError("unreachable")
