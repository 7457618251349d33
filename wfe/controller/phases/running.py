"""Running: mirror the execution (PipelineRun, Job) into the status until its engine gives a
verdict (SPEC §5)."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import FailureReason
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller import errors, transitions
from wfe.controller.cache_gauges import execution_timeout_seconds
from wfe.controller.dependencies import Dependencies
from wfe.controller.engines import ExecutionEngine, Verdict
from wfe.controller.errors import ErrorCategory
from wfe.controller.failure.details import controller_failure_details
from wfe.controller.phases.unsupported import fail_unsupported_engine
from wfe.controller.pipelinerun import Owner, owner_of
from wfe.controller.timestamps import parse_time
from wfe.runtime.reconcile import Result

Object = dict[str, Any]
# who gives the verdict, and what to check when it never comes
_VERDICT_GIVERS = {
    "tekton": ("Tekton", "the Tekton controller"),
    "job": ("the Job controller", "kube-controller-manager's Job controller"),
}


def handle_running(deps: Dependencies, wfe: Object) -> Result:
    engine = deps.engines.for_workflow_execution(wfe)
    if engine is None:
        return fail_unsupported_engine(deps, wfe, started=True)
    resource = engine.resource
    ref = (wfe.get("status") or {}).get("pipelineRunRef") or {}
    name = ref.get("name")
    namespace = ref.get("namespace") or deps.settings.execution.execution_namespace
    pipeline_run = deps.reader.get(resource, name, namespace) if name else None
    if name and (pipeline_run is None or owner_of(pipeline_run) != Owner.of(wfe)):
        # The cache may lag: not seen ours yet, or still holding the previous holder's PipelineRun
        # of the same name (stale lock deleted and re-created while the watch was behind). Only a
        # live GET may conclude that ours is gone.
        pipeline_run = deps.client.get_or_none(resource, name, namespace)
    if pipeline_run is None or owner_of(pipeline_run) != Owner.of(wfe):
        message = (
            f"{engine.kind} {namespace}/{name} was deleted (or replaced) before it finished; the "
            "remediation may have stopped part-way. Inspect the target before trying again."
        )
        started = parse_time((wfe.get("status") or {}).get("startTime"))
        details = controller_failure_details(
            FailureReason.PIPELINE_RUN_DELETED,
            message,
            now=deps.clock(),
            was_execution_failure=True,
            started_at=started,
        )
        transitions.fail(deps, wfe, details)
        return Result()

    verdict = engine.verdict(pipeline_run)
    if verdict == Verdict.SUCCEEDED:
        transitions.complete(deps, wfe, pipeline_run)
        return Result()
    if verdict == Verdict.FAILED:
        details = engine.failure_details(deps.client, pipeline_run, deps.clock())
        transitions.fail(deps, wfe, details, pipeline_run=pipeline_run)
        errors.count(ErrorCategory.EXECUTION, str(details["reason"]))  # never retried (SPEC §7)
        return Result()

    return _still_running(deps, wfe, engine, pipeline_run)


def _still_running(
    deps: Dependencies, wfe: Object, engine: ExecutionEngine, pipeline_run: Object
) -> Result:
    """No verdict yet: mirror progress, and fail past timeout + grace (the safety net)."""
    stored = (
        transitions.update_pipeline_run_status(deps, wfe, pipeline_run)
        if engine.has_progress(pipeline_run)
        else wfe
    )
    started = parse_time((stored.get("status") or {}).get("startTime"))
    if started is None:
        return Result()
    timeout = _timeout_seconds(deps, wfe)
    deadline = timeout + deps.settings.timeout_grace_seconds
    elapsed = (deps.clock() - started).total_seconds()
    who, check = _VERDICT_GIVERS.get(engine.name, (engine.name, f"the {engine.name} engine"))
    if elapsed < deadline:
        # PipelineRun changes arrive through the watch; this wake-up is only the safety net
        return Result(requeue_after=deadline - elapsed)
    message = (
        f"No verdict from {who} "
        f"{format_go_duration(elapsed)} after start (timeout "
        f"{format_go_duration(timeout)} plus {format_go_duration(deps.settings.timeout_grace_seconds)} "
        f"grace). The controller gave up waiting; check {check} and the {engine.kind}."
    )
    details = controller_failure_details(
        FailureReason.DEADLINE_EXCEEDED,
        message,
        now=deps.clock(),
        was_execution_failure=True,
        started_at=started,
    )
    transitions.fail(deps, stored, details, pipeline_run=pipeline_run)
    return Result()


def _timeout_seconds(deps: Dependencies, wfe: Object) -> float:
    return execution_timeout_seconds(wfe, deps.settings.execution.default_timeout_seconds)
