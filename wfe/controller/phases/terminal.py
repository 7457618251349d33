"""Completed/Failed/Skipped: make sure the audit trail is recorded, release the lock after cooldown."""

from __future__ import annotations

from typing import Any

import structlog

from api.workflowexecution.v1alpha1.constants import ConditionType, Phase
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.audit.events import EventType, build_event, event_id_for
from wfe.controller import transitions
from wfe.controller.conditions import is_true
from wfe.controller.dependencies import Dependencies
from wfe.controller.lock import lock_seconds_left
from wfe.controller.pipelinerun import Owner, owner_of
from wfe.runtime.client import ApiError, is_not_found
from wfe.runtime.reconcile import Result

Object = dict[str, Any]
log = structlog.get_logger("wfe.controller")


def handle_terminal(deps: Dependencies, wfe: Object) -> Result:
    wfe = ensure_audited(deps, wfe)
    if (wfe.get("status") or {}).get("phase") == Phase.SKIPPED:
        return Result()  # a skipped execution never held the lock
    return _release_lock_after_cooldown(deps, wfe)


def expected_audit_events(wfe: Object) -> list[EventType]:
    status = wfe.get("status") or {}
    phase = status.get("phase")
    started = EventType.EXECUTION_STARTED if status.get("startTime") else None
    by_phase: dict[str, list[EventType | None]] = {
        Phase.COMPLETED: [started, EventType.WORKFLOW_COMPLETED],
        Phase.FAILED: [started, EventType.WORKFLOW_FAILED],
        Phase.SKIPPED: [EventType.WORKFLOW_SKIPPED],
    }
    return [t for t in by_phase.get(str(phase), []) if t is not None]


def ensure_audited(deps: Dependencies, wfe: Object) -> Object:
    """Sets AuditRecorded once the sink accepted every event; re-audits what was lost (SPEC §9).

    While events are merely on their way nothing is written (delivery triggers the next
    reconcile). AuditRecorded=False/AuditFailed is written only once a delivery attempt failed
    (the sink is down: retried) or the sink refused an event for good (not retried).
    """
    conditions = (wfe.get("status") or {}).get("conditions")
    if is_true(conditions, ConditionType.AUDIT_RECORDED):
        return wfe
    if not deps.audit.enabled:
        return transitions.set_audit_condition(deps, wfe, True, transitions.AUDIT_DISABLED_MESSAGE)
    uid = wfe["metadata"]["uid"]
    ids = {t: event_id_for(uid, t) for t in expected_audit_events(wfe)}
    missing = [t for t, event_id in ids.items() if not deps.audit.is_recorded(event_id)]
    if not missing:
        return transitions.set_audit_condition(deps, wfe, True, "All audit events were accepted.")
    rejected = [t for t in missing if deps.audit.is_rejected(ids[t])]
    for event_type in missing:
        event_id = ids[event_type]
        # Pending first, recorded second: the recorder marks an event recorded before it leaves the
        # spool, so one accepted since the check above is not taken for lost and sent again.
        if event_type in rejected or deps.audit.is_pending(event_id):
            continue
        if not deps.audit.is_recorded(event_id):
            # lost (crash before spooling, or a restart forgot it): record again, idempotent by id
            deps.audit.record(build_event(event_type, wfe, now=deps.clock()))
    if rejected:
        names = ", ".join(sorted(str(t) for t in rejected))
        message = f"The audit sink refused {names} for good; see the controller log (not retried)."
    elif any(deps.audit.delivery_failed(ids[t]) for t in missing):
        message = (
            f"{len(missing)} audit event(s) not accepted yet: the audit sink is failing; "
            "they stay spooled and are retried until accepted."
        )
    else:
        return wfe  # on their way: the delivery callback reconciles again
    return transitions.set_audit_condition(deps, wfe, False, message)


def _release_lock_after_cooldown(deps: Dependencies, wfe: Object) -> Result:
    remaining = lock_seconds_left(wfe, deps.settings.cooldown_seconds, deps.clock())
    if remaining is None:
        return Result()  # released already, or never created a PipelineRun (validation, Forbidden)
    if remaining > 0:
        return Result(requeue_after=remaining)
    ref = (wfe.get("status") or {}).get("pipelineRunRef") or {}

    namespace = ref.get("namespace") or deps.settings.execution.execution_namespace
    engine = deps.engines.for_workflow_execution(wfe)
    if engine is None:
        # never created (UnsupportedEngine), or the controller no longer serves the engine
        what = f"no execution of an engine this controller serves holds {namespace}/{ref['name']}"
        transitions.release_lock(deps, wfe, _released(deps, wfe, what))
        return Result()
    pipeline_run = deps.client.get_or_none(engine.resource, ref["name"], namespace)
    ours = False
    if pipeline_run is not None and owner_of(pipeline_run) == Owner.of(wfe):
        ours = True
        try:
            deps.client.delete(
                engine.resource, ref["name"], namespace, uid=pipeline_run["metadata"]["uid"]
            )
        except ApiError as err:
            if not (is_not_found(err) or err.status == 409):
                raise
    what = (
        f"{engine.kind} {namespace}/{ref['name']} deleted"
        if ours
        else f"{engine.kind} {namespace}/{ref['name']} already gone or now held by another execution"
    )
    transitions.release_lock(deps, wfe, _released(deps, wfe, what))
    log.info("lock released", pipeline_run=ref["name"])
    return Result()


def _released(deps: Dependencies, wfe: Object, what: str) -> str:
    return (
        f"Cooldown of {format_go_duration(deps.settings.cooldown_seconds)} over: {what}; "
        f"{wfe['spec']['targetResource']} may be remediated again."
    )
