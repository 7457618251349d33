"""Writes WorkflowExecution status through the status subresource.

A mutation is a function applied to a copy of the object the reconcile decided on; it changes the
status only (the status subresource ignores everything else), so only the status is copied: the
rest of the desired object is shared, read-only, with the one the reconcile holds. On 409 Conflict
the decision was made on stale data: the writer reads the object again and raises
:class:`StaleDecisionError` carrying it, and the reconciler decides again from the start on that
fresh object. The mutation is never replayed on the fresh object: the decision behind it (an Event,
a lock release, a message saying what was found) may no longer hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from wfe.controller import metrics
from wfe.controller.own_writes import OwnWrites
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.cache import copy_object
from wfe.runtime.client import Client, is_conflict

Object = dict[str, Any]
Mutation = Callable[[Object], None]


class StaleDecisionError(Exception):
    """The object changed since the reconcile read it; ``current`` is what the API server holds
    now. The caller's decision is dropped and made again from ``current``."""

    def __init__(self, current: Object):
        meta = current.get("metadata") or {}
        super().__init__(
            f"{meta.get('namespace')}/{meta.get('name')} changed meanwhile "
            f"(now resourceVersion {meta.get('resourceVersion')}, phase {phase_of(current)})"
        )
        self.current = current


def phase_of(obj: Object) -> str:
    """The phase of a WorkflowExecution; an empty phase is Pending (SPEC §2)."""
    return str((obj.get("status") or {}).get("phase") or Phase.PENDING)


class StatusWriter:
    def __init__(self, client: Client):
        self._client = client
        self.own_writes = OwnWrites()  # what the cache may not show yet (see own_writes)

    def write(self, obj: Object, mutate: Mutation) -> Object:
        """Applies ``mutate`` to ``obj``'s status and writes it; returns the object as stored.

        Raises :class:`StaleDecisionError` on a conflict (after reading the fresh object).
        """
        desired = {**obj, "status": copy_object(obj.get("status") or {})}
        mutate(desired)
        if desired.get("status") == obj.get("status"):
            return obj  # nothing to write: no write storms on repeated reconciles
        try:
            stored = self._client.update_status(WORKFLOW_EXECUTIONS, desired)
        except Exception as err:
            if not is_conflict(err):
                raise
            meta = obj["metadata"]
            current = self._client.get(WORKFLOW_EXECUTIONS, meta["name"], meta["namespace"])
            raise StaleDecisionError(current) from err
        self.own_writes.record(obj, stored)
        from_phase, to_phase = phase_of(obj), phase_of(stored)
        if to_phase != from_phase:
            metrics.PHASE_TRANSITIONS.labels(from_phase=from_phase, to_phase=to_phase).inc()
        return stored
