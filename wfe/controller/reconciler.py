"""The WorkflowExecution reconciler: reads the object, ensures the finalizer, dispatches on phase."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from api.workflowexecution.v1alpha1.constants import Phase
from wfe.audit.recorder import Recorder
from wfe.controller import errors
from wfe.controller.dependencies import CacheReader, Dependencies, EventSink
from wfe.controller.engines import EngineRegistry
from wfe.controller.engines.tekton import TektonEngine
from wfe.controller.finalizer import add_finalizer, has_finalizer
from wfe.controller.lock import LOCK_FACTS, LockChecker
from wfe.controller.phases.deletion import handle_delete
from wfe.controller.phases.pending import handle_pending
from wfe.controller.phases.running import handle_running
from wfe.controller.phases.terminal import handle_terminal
from wfe.controller.resources import TARGET_RESOURCE_INDEX, WORKFLOW_EXECUTIONS
from wfe.controller.settings import ControllerSettings
from wfe.controller.status import StaleDecisionError, StatusWriter, phase_of
from wfe.controller.targets import AS_WRITTEN, KindNames
from wfe.runtime.client import ApiError, Client, is_conflict, is_not_found
from wfe.runtime.reconcile import Request, Result

Object = dict[str, Any]
CONTROLLER_NAME = "workflowexecution"
# Decisions made again on fresh data after a conflict, within one reconcile, before requeueing.
REDECIDE_ATTEMPTS = 3
log = structlog.get_logger("wfe.controller")

_HANDLERS: dict[str, Callable[[Dependencies, Object], Result]] = {
    Phase.PENDING: handle_pending,
    Phase.RUNNING: handle_running,
    Phase.COMPLETED: handle_terminal,
    Phase.FAILED: handle_terminal,
    Phase.SKIPPED: handle_terminal,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class WorkflowExecutionReconciler:
    def __init__(
        self,
        client: Client,
        reader: CacheReader,
        events: EventSink,
        audit: Recorder,
        settings: ControllerSettings,
        clock: Callable[[], datetime] = utc_now,
        kinds: KindNames = AS_WRITTEN,
        engines: EngineRegistry | None = None,
    ):
        """``engines``: those this controller serves (``--engines``); Tekton alone by default."""
        self.deps = Dependencies(
            client=client,
            reader=reader,
            events=events,
            audit=audit,
            settings=settings,
            clock=clock,
            status=StatusWriter(client),
            lock=LockChecker(
                lambda key: reader.projected_by_index(
                    WORKFLOW_EXECUTIONS, TARGET_RESOURCE_INDEX, key, LOCK_FACTS
                ),
                settings.cooldown_seconds,
                clock,
                max_cooldown_seconds=settings.max_cooldown_seconds,
                target_key=kinds.key,
            ),
            kinds=kinds,
            engines=EngineRegistry([TektonEngine()]) if engines is None else engines,
        )

    def __call__(self, request: Request) -> Result:
        return self.reconcile(request)

    def reconcile(self, request: Request) -> Result:
        cached = self.deps.reader.get(WORKFLOW_EXECUTIONS, request.name, request.namespace)
        if cached is None:
            self.deps.status.own_writes.forget(request.namespace, request.name)
            return Result()  # deleted; the finalizer already did the cleanup
        # never decide on a version the controller's own writes already replaced
        wfe = self.deps.status.own_writes.freshest(cached)
        correlation_id = correlation_id_of(wfe)
        # the runtime already bound controller, namespace, name and reconcileID in this reconcile's
        # own context: the correlation id joins them, its "Reconciler error" line included
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        try:
            return self._decide(wfe)
        except Exception as err:
            if is_conflict(err):
                errors.count_exception(err)
                log.info("conflict, retrying with fresh data", error=str(err))
                raise
            if is_not_found(err) and _names_this_object(err, request):
                return Result()  # the object vanished mid-reconcile
            errors.count_exception(err)
            # the controller logs the stack once; this line names the error in the domain's words
            log.error("reconcile failed", error=f"{type(err).__name__}: {err}")
            raise

    def _decide(self, wfe: Object) -> Result:
        """Decides on ``wfe``; after a conflict, decides again on what the API server holds now
        (the cache may still lag), never replaying the stale decision."""
        for _attempt in range(REDECIDE_ATTEMPTS):
            try:
                return self._reconcile(wfe)
            except StaleDecisionError as stale:
                log.debug("status changed meanwhile, deciding again", reason=str(stale))
                wfe = stale.current
        return Result(requeue=True)

    def _reconcile(self, wfe: Object) -> Result:
        if wfe["metadata"].get("deletionTimestamp"):
            return handle_delete(self.deps, wfe)
        if not has_finalizer(wfe):
            patched = add_finalizer(self.deps.client, wfe)
            self.deps.status.own_writes.record(wfe, patched)
            wfe = patched
        phase = phase_of(wfe)
        handler = _HANDLERS.get(phase)
        if handler is None:
            log.warning("unknown phase, leaving the object alone", phase=phase)
            return Result()
        return handler(self.deps, wfe)


def correlation_id_of(wfe: Object) -> str:
    """SPEC §8's correlation_id: the name of the RemediationRequest behind the WFE."""
    ref = (wfe.get("spec") or {}).get("remediationRequestRef") or {}
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) else ""


def _names_this_object(err: Exception, request: Request) -> bool:
    """Whether a NotFound is about the reconciled WorkflowExecution itself. Any other NotFound
    (e.g. the execution namespace does not exist) is an error to retry, not a vanished object."""
    if not isinstance(err, ApiError):
        return False
    details = err.body.get("details") or {}
    return details.get("kind") == WORKFLOW_EXECUTIONS.plural and details.get("name") == request.name
