"""Deletion: stop and remove our PipelineRun, audit, emit an Event, drop the finalizer (SPEC §6)."""

from __future__ import annotations

from typing import Any

import structlog

from api.workflowexecution.v1alpha1.constants import FINALIZER
from wfe.audit.events import EventType, build_event
from wfe.controller import errors
from wfe.controller.dependencies import Dependencies
from wfe.controller.errors import ErrorCategory
from wfe.controller.event_reasons import EventReason
from wfe.controller.finalizer import remove_finalizer
from wfe.controller.messages import mirrored_message
from wfe.controller.naming import pipeline_run_name
from wfe.controller.pipelinerun import Owner, owner_of
from wfe.runtime.client import ApiError, is_not_found
from wfe.runtime.reconcile import Result

Object = dict[str, Any]
log = structlog.get_logger("wfe.controller")


def handle_delete(deps: Dependencies, wfe: Object) -> Result:
    if FINALIZER not in (wfe["metadata"].get("finalizers") or []):
        return Result()
    try:
        deleted = _delete_our_pipeline_run(deps, wfe)
    except ApiError as err:
        errors.count(ErrorCategory.EXTERNAL, "CleanupFailed")
        deps.events.event(
            wfe,
            "Warning",
            EventReason.CLEANUP_FAILED,
            mirrored_message(f"Could not delete the {_kind(deps, wfe)}: {err.message}; retrying"),
        )
        raise
    try:  # best effort: never blocks deletion
        deps.audit.record(build_event(EventType.WORKFLOW_DELETED, wfe, now=deps.clock()))
    except Exception:
        log.exception("audit of deletion failed")
    kind = _kind(deps, wfe)
    what = f"{kind} {deleted} deleted" if deleted else f"no {kind} to delete"
    deps.events.event(
        wfe, "Normal", EventReason.WORKFLOW_EXECUTION_DELETED, f"WorkflowExecution deleted; {what}"
    )
    remove_finalizer(deps.client, wfe)
    return Result()


def _kind(deps: Dependencies, wfe: Object) -> str:
    engine = deps.engines.for_workflow_execution(wfe)
    return engine.kind if engine is not None else "execution"


def _delete_our_pipeline_run(deps: Dependencies, wfe: Object) -> str | None:
    """Deletes the execution (PipelineRun, Job; propagation Background, so a Job's pod goes too) if
    it exists and is ours (stops a running execution). Idempotent. Nothing to delete for an engine
    this controller does not serve: it never created one."""
    engine = deps.engines.for_workflow_execution(wfe)
    if engine is None:
        return None
    status = wfe.get("status") or {}
    ref = status.get("pipelineRunRef") or {}
    name = ref.get("name") or pipeline_run_name(deps.kinds.key(wfe["spec"]["targetResource"]))
    namespace = ref.get("namespace") or deps.settings.execution.execution_namespace
    pipeline_run = deps.client.get_or_none(engine.resource, name, namespace)
    if pipeline_run is None or owner_of(pipeline_run) != Owner.of(wfe):
        return None
    try:
        deps.client.delete(engine.resource, name, namespace, uid=pipeline_run["metadata"]["uid"])
    except ApiError as err:
        if not (is_not_found(err) or err.status == 409):
            raise
        return None
    return f"{namespace}/{name}"
