"""Every phase transition in one place: status fields, conditions, Event, audit event and metrics.

Handlers decide *which* transition happens; this module makes each one look the same everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from api.workflowexecution.v1alpha1.constants import (
    ConditionReason,
    ConditionStatus,
    ConditionType,
    FailureReason,
    Outcome,
    Phase,
)
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.audit.events import EventType, build_event
from wfe.controller import metrics
from wfe.controller.conditions import set_condition
from wfe.controller.dependencies import Dependencies
from wfe.controller.engines.base import ExecutionEngine
from wfe.controller.engines.tekton import TektonEngine
from wfe.controller.event_reasons import EventReason
from wfe.controller.lock import Conflict
from wfe.controller.messages import mirrored_message
from wfe.controller.timestamps import format_time, parse_time

Object = dict[str, Any]
log = structlog.get_logger("wfe.controller")

_T, _F = ConditionStatus.TRUE, ConditionStatus.FALSE


def _set(obj: Object, type_: str, status: str, reason: str, message: str, now: datetime) -> None:
    conditions = obj["status"].setdefault("conditions", [])
    set_condition(
        conditions,
        type_,
        status,
        reason=reason,
        message=message,
        observed_generation=int(obj["metadata"].get("generation") or 0),
        now=now,
    )


def _execution_finished(obj: Object, now: datetime) -> None:
    _set(
        obj,
        ConditionType.EXECUTION_RUNNING,
        _F,
        ConditionReason.EXECUTION_FINISHED,
        "PipelineRun finished.",
        now,
    )


def _observe(obj: Object) -> None:
    obj["status"]["observedGeneration"] = int(obj["metadata"].get("generation") or 0)


_TEKTON = TektonEngine()


def engine_of(deps: Dependencies, wfe: Object) -> ExecutionEngine:
    """The engine ``wfe`` runs on (Tekton for an engine this controller does not serve: only the
    pending phase decides on those)."""
    return deps.engines.for_workflow_execution(wfe) or _TEKTON


def start_running(deps: Dependencies, wfe: Object, pipeline_run: Object, adopted: bool) -> Object:
    """Running on ``pipeline_run``: the execution object (a PipelineRun, a Job) holding the lock."""
    now = deps.clock()
    kind = engine_of(deps, wfe).kind
    pr_meta = pipeline_run["metadata"]
    how = "adopted existing" if adopted else "created"
    message = f"Workflow is running as {kind} {pr_meta['namespace']}/{pr_meta['name']}."

    def mutate(obj: Object) -> None:
        status = obj["status"]
        _observe(obj)
        status["phase"] = Phase.RUNNING
        status["startTime"] = status.get("startTime") or format_time(now)
        status["message"] = message
        status["pipelineRunRef"] = {"name": pr_meta["name"], "namespace": pr_meta["namespace"]}
        _set(
            obj,
            ConditionType.RESOURCE_LOCK_ACQUIRED,
            _T,
            ConditionReason.LOCK_ACQUIRED,
            f"Lock on {obj['spec']['targetResource']} held by {kind} {pr_meta['name']}.",
            now,
        )
        _set(
            obj,
            ConditionType.PIPELINE_RUN_CREATED,
            _T,
            ConditionReason.PIPELINE_RUN_CREATED,
            f"{kind} {pr_meta['name']} {how}.",
            now,
        )
        _set(
            obj,
            ConditionType.EXECUTION_RUNNING,
            _T,
            ConditionReason.EXECUTION_STARTED,
            message,
            now,
        )
        _set(obj, ConditionType.READY, _F, ConditionReason.IN_PROGRESS, message, now)

    stored = deps.status.write(wfe, mutate)
    created = parse_time(wfe["metadata"].get("creationTimestamp"))
    if created is not None and not adopted:
        metrics.PIPELINERUN_CREATION_DURATION.observe(max(0.0, (now - created).total_seconds()))
    deps.events.event(
        stored,
        "Normal",
        EventReason.PIPELINE_RUN_CREATED,
        f"{kind} {pr_meta['namespace']}/{pr_meta['name']} {how}",
    )
    _audit(deps, EventType.EXECUTION_STARTED, stored)
    log.info("workflow running", pipeline_run=pr_meta["name"], adopted=adopted)
    return stored


def skip(deps: Dependencies, wfe: Object, conflict: Conflict) -> Object:
    now = deps.clock()

    def mutate(obj: Object) -> None:
        status = obj["status"]
        _observe(obj)
        status["phase"] = Phase.SKIPPED
        status["message"] = conflict.message
        status["skipDetails"] = {
            "reason": conflict.reason,
            "message": conflict.message,
            "skippedAt": format_time(now),
            **conflict.details,
        }
        _set(obj, ConditionType.RESOURCE_LOCK_ACQUIRED, _F, conflict.reason, conflict.message, now)
        _set(obj, ConditionType.READY, _T, ConditionReason.SKIPPED, conflict.message, now)
        _audit_off(deps, obj, now)

    stored = deps.status.write(wfe, mutate)
    metrics.SKIPS.labels(reason=conflict.reason).inc()
    deps.events.event(stored, "Normal", EventReason.WORKFLOW_SKIPPED, conflict.message)
    _audit(deps, EventType.WORKFLOW_SKIPPED, stored)
    log.info("workflow skipped", reason=str(conflict.reason))
    return stored


def complete(deps: Dependencies, wfe: Object, pipeline_run: Object) -> Object:
    now = deps.clock()
    engine = engine_of(deps, wfe)
    completed_at = engine.completion_time(pipeline_run) or now
    summary = engine.summary(pipeline_run)

    def mutate(obj: Object) -> None:
        status = obj["status"]
        _observe(obj)
        status["phase"] = Phase.COMPLETED
        status["outcome"] = Outcome.SUCCESS
        status["completionTime"] = format_time(completed_at)
        status["duration"] = _duration(status, completed_at)
        status["message"] = "Workflow completed successfully."
        status["pipelineRunStatus"] = summary
        _execution_finished(obj, now)
        _set(
            obj,
            ConditionType.EXECUTION_COMPLETE,
            _T,
            ConditionReason.SUCCEEDED,
            summary.get("message") or f"{engine.kind} succeeded.",
            now,
        )
        _set(obj, ConditionType.READY, _T, ConditionReason.COMPLETED, "Workflow completed.", now)
        _audit_off(deps, obj, now)

    stored = deps.status.write(wfe, mutate)
    _finished_metrics(stored, Outcome.SUCCESS, engine.verdict_time(pipeline_run), now)
    deps.events.event(
        stored,
        "Normal",
        EventReason.WORKFLOW_COMPLETED,
        f"Workflow {wfe['spec']['workflowRef']['workflowId']} completed successfully",
    )
    _audit(deps, EventType.WORKFLOW_COMPLETED, stored)
    log.info("workflow completed")
    return stored


def fail(
    deps: Dependencies,
    wfe: Object,
    details: Object,
    *,
    pipeline_run: Object | None = None,
    creation_condition: tuple[str, str] | None = None,
) -> Object:
    """Failed with ``details`` (failureDetails). ``creation_condition`` = (reason, message) when the
    PipelineRun was never created (validation, Forbidden, invalid PipelineRun).

    completionTime is the PipelineRun's own when Tekton gave the verdict (never the failed task's:
    ``finally`` tasks may run long after it, and cooldown and lock release count from it); for a
    failure the controller decides itself, the moment it decided (SPEC §5).
    """
    now = deps.clock()
    engine = engine_of(deps, wfe)
    reason = str(details["reason"])
    completed_at = (engine.completion_time(pipeline_run) if pipeline_run else None) or (
        parse_time(details.get("failedAt")) or now
    )
    summary = engine.summary(pipeline_run) if pipeline_run else None
    message = mirrored_message(f"Workflow failed ({reason}): {details.get('message', '')}".strip())

    def mutate(obj: Object) -> None:
        status = obj["status"]
        _observe(obj)
        status["phase"] = Phase.FAILED
        status["outcome"] = Outcome.FAILURE
        status["completionTime"] = format_time(completed_at)
        if status.get("startTime"):
            status["duration"] = _duration(status, completed_at)
        status["message"] = message
        status["failureReason"] = reason
        status["failureDetails"] = details
        if summary is not None:
            status["pipelineRunStatus"] = summary
        if creation_condition is not None:
            _set(
                obj,
                ConditionType.PIPELINE_RUN_CREATED,
                _F,
                creation_condition[0],
                mirrored_message(creation_condition[1]),
                now,
            )
        else:
            _execution_finished(obj, now)
        _set(
            obj, ConditionType.EXECUTION_COMPLETE, _F, reason, str(details.get("message", "")), now
        )
        _set(obj, ConditionType.READY, _T, ConditionReason.FAILED, message, now)
        _audit_off(deps, obj, now)

    stored = deps.status.write(wfe, mutate)
    _finished_metrics(
        stored, Outcome.FAILURE, engine.verdict_time(pipeline_run) if pipeline_run else None, now
    )
    event_reason = (
        EventReason.INVALID_SPEC
        if reason == FailureReason.CONFIGURATION_ERROR
        and creation_condition is not None
        and creation_condition[0] == ConditionReason.INVALID_SPEC
        else EventReason.WORKFLOW_FAILED
    )
    deps.events.event(stored, "Warning", event_reason, message)
    _audit(deps, EventType.WORKFLOW_FAILED, stored)
    log.info("workflow failed", reason=reason)
    return stored


def creation_failed(deps: Dependencies, wfe: Object, message: str) -> Object:
    """Still Pending, but never silently: PipelineRunCreated=False/CreationFailed with the error,
    and a Warning Event CreateFailed (aggregated by the recorder when it repeats) (SPEC §7)."""
    now = deps.clock()

    def mutate(obj: Object) -> None:
        _observe(obj)
        obj["status"]["message"] = message
        _set(
            obj,
            ConditionType.PIPELINE_RUN_CREATED,
            _F,
            ConditionReason.CREATION_FAILED,
            message,
            now,
        )

    stored = deps.status.write(wfe, mutate)
    deps.events.event(stored, "Warning", EventReason.CREATE_FAILED, message)
    return stored


def update_pipeline_run_status(deps: Dependencies, wfe: Object, pipeline_run: Object) -> Object:
    """While the engine has no verdict: mirror the execution's status, writing only when it changed."""
    summary = engine_of(deps, wfe).summary(pipeline_run)

    def mutate(obj: Object) -> None:
        obj["status"]["pipelineRunStatus"] = summary

    return deps.status.write(wfe, mutate)


def release_lock(deps: Dependencies, wfe: Object, message: str) -> Object:
    now = deps.clock()

    def mutate(obj: Object) -> None:
        _set(
            obj,
            ConditionType.RESOURCE_LOCK_ACQUIRED,
            _F,
            ConditionReason.LOCK_RELEASED,
            message,
            now,
        )

    stored = deps.status.write(wfe, mutate)
    deps.events.event(stored, "Normal", EventReason.LOCK_RELEASED, message)
    return stored


AUDIT_DISABLED_MESSAGE = "Auditing is disabled (--audit-sink=none); nothing to record."


def _audit_off(deps: Dependencies, obj: Object, now: datetime) -> None:
    """With auditing off, the terminal write itself says so (no extra write for AuditRecorded)."""
    if not deps.audit.enabled:
        _set(
            obj,
            ConditionType.AUDIT_RECORDED,
            _T,
            ConditionReason.AUDIT_SUCCEEDED,
            AUDIT_DISABLED_MESSAGE,
            now,
        )


def set_audit_condition(deps: Dependencies, wfe: Object, recorded: bool, message: str) -> Object:
    now = deps.clock()
    status = _T if recorded else _F
    reason = ConditionReason.AUDIT_SUCCEEDED if recorded else ConditionReason.AUDIT_FAILED

    def mutate(obj: Object) -> None:
        _set(obj, ConditionType.AUDIT_RECORDED, status, reason, message, now)

    return deps.status.write(wfe, mutate)


def _duration(status: Object, end: datetime) -> str:
    started = parse_time(status.get("startTime"))
    return format_go_duration(max(0.0, (end - started).total_seconds())) if started else "0s"


def _finished_metrics(
    stored: Object, outcome: Outcome, verdict_at: datetime | None, now: datetime
) -> None:
    metrics.EXECUTIONS_TOTAL.labels(outcome=outcome).inc()
    status = stored.get("status") or {}
    started, ended = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if started and ended:
        metrics.EXECUTION_DURATION.labels(outcome=outcome).observe(
            max(0.0, (ended - started).total_seconds())
        )
    # only an engine's verdict has a transition to measure from (not the DeadlineExceeded net)
    if verdict_at is not None:
        metrics.STATUS_SYNC_LATENCY.observe(max(0.0, (now - verdict_at).total_seconds()))


def _audit(deps: Dependencies, event_type: EventType, wfe: Object) -> None:
    try:
        deps.audit.record(build_event(event_type, wfe, now=deps.clock()))
    except Exception:  # auditing never blocks or fails a workflow
        log.exception("audit record failed", event_type=str(event_type))
