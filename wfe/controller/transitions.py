"""Every phase transition in one place: status fields, conditions, Event, audit event and metrics.

Handlers decide *which* transition happens; this module makes each one look the same everywhere.
"""

from __future__ import annotations

import re
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
from wfe.controller.event_reasons import EventReason
from wfe.controller.lock import Conflict
from wfe.controller.sanitize import sanitize_message, sanitize_text
from wfe.controller.tekton_status import succeeded_condition
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


def start_running(deps: Dependencies, wfe: Object, pipeline_run: Object, adopted: bool) -> Object:
    now = deps.clock()
    pr_meta = pipeline_run["metadata"]
    how = "adopted existing" if adopted else "created"
    message = f"Workflow is running as PipelineRun {pr_meta['namespace']}/{pr_meta['name']}."

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
            f"Lock on {obj['spec']['targetResource']} held by PipelineRun {pr_meta['name']}.",
            now,
        )
        _set(
            obj,
            ConditionType.PIPELINE_RUN_CREATED,
            _T,
            ConditionReason.PIPELINE_RUN_CREATED,
            f"PipelineRun {pr_meta['name']} {how}.",
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
        f"PipelineRun {pr_meta['namespace']}/{pr_meta['name']} {how}",
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
    pr_status = pipeline_run.get("status") or {}
    completed_at = parse_time(pr_status.get("completionTime")) or now
    summary = pipeline_run_summary(pipeline_run)

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
            summary.get("message") or "PipelineRun succeeded.",
            now,
        )
        _set(obj, ConditionType.READY, _T, ConditionReason.COMPLETED, "Workflow completed.", now)
        _audit_off(deps, obj, now)

    stored = deps.status.write(wfe, mutate)
    _finished_metrics(stored, Outcome.SUCCESS, pipeline_run, now)
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
    PipelineRun was never created (validation, Forbidden, invalid PipelineRun)."""
    now = deps.clock()
    reason = str(details["reason"])
    failed_at = parse_time(details.get("failedAt")) or now
    summary = pipeline_run_summary(pipeline_run) if pipeline_run else None
    message = f"Workflow failed ({reason}): {details.get('message', '')}".strip()

    def mutate(obj: Object) -> None:
        status = obj["status"]
        _observe(obj)
        status["phase"] = Phase.FAILED
        status["outcome"] = Outcome.FAILURE
        status["completionTime"] = format_time(failed_at)
        if status.get("startTime"):
            status["duration"] = _duration(status, failed_at)
        status["message"] = message[:1024]
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
                creation_condition[1],
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
    _finished_metrics(stored, Outcome.FAILURE, pipeline_run, now)
    event_reason = (
        EventReason.INVALID_SPEC
        if reason == FailureReason.CONFIGURATION_ERROR and creation_condition
        else EventReason.WORKFLOW_FAILED
    )
    deps.events.event(stored, "Warning", event_reason, message[:1024])
    _audit(deps, EventType.WORKFLOW_FAILED, stored)
    log.info("workflow failed", reason=reason)
    return stored


def update_pipeline_run_status(deps: Dependencies, wfe: Object, pipeline_run: Object) -> Object:
    """While Tekton has no verdict: mirror the PipelineRun status, writing only when it changed."""
    summary = pipeline_run_summary(pipeline_run)

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


_TASKS_COMPLETED = re.compile(r"Tasks Completed: (\d+)")


def pipeline_run_summary(pipeline_run: Object) -> Object:
    """status.pipelineRunStatus: Tekton's Succeeded condition and task progress.

    Tekton reports progress in the condition message ("Tasks Completed: 2 (Failed: 0, ...)") and
    the resolved pipeline in status.pipelineSpec; before resolution only childReferences are known.
    """
    status = pipeline_run.get("status") or {}
    succeeded = succeeded_condition(pipeline_run)
    pipeline_spec = status.get("pipelineSpec") or {}
    total = len(pipeline_spec.get("tasks") or []) + len(pipeline_spec.get("finally") or [])
    total = total or len(status.get("childReferences") or [])
    progress = _TASKS_COMPLETED.search(str(succeeded.get("message", "")))
    return {
        "status": succeeded.get("status", ConditionStatus.UNKNOWN),
        "reason": sanitize_text(str(succeeded.get("reason", ""))),
        "message": sanitize_message(str(succeeded.get("message", ""))),
        "completedTasks": int(progress.group(1)) if progress else 0,
        "totalTasks": total,
    }


def _duration(status: Object, end: datetime) -> str:
    started = parse_time(status.get("startTime"))
    return format_go_duration(max(0.0, (end - started).total_seconds())) if started else "0s"


def _finished_metrics(
    stored: Object, outcome: Outcome, pipeline_run: Object | None, now: datetime
) -> None:
    metrics.EXECUTIONS_TOTAL.labels(outcome=outcome).inc()
    status = stored.get("status") or {}
    started, ended = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if started and ended:
        metrics.EXECUTION_DURATION.labels(outcome=outcome).observe(
            max(0.0, (ended - started).total_seconds())
        )
    if pipeline_run is not None:
        verdict = succeeded_condition(pipeline_run)
        # only a Tekton verdict has a transition to measure from (not the DeadlineExceeded net)
        transitioned = (
            parse_time(verdict.get("lastTransitionTime"))
            if verdict.get("status") in ("True", "False")
            else None
        )
        if transitioned is not None:
            metrics.STATUS_SYNC_LATENCY.observe(max(0.0, (now - transitioned).total_seconds()))


def _audit(deps: Dependencies, event_type: EventType, wfe: Object) -> None:
    try:
        deps.audit.record(build_event(event_type, wfe, now=deps.clock()))
    except Exception:  # auditing never blocks or fails a workflow
        log.exception("audit record failed", event_type=str(event_type))
