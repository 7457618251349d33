"""Running: mirror the PipelineRun into the status until Tekton gives a verdict (SPEC §5)."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import FailureReason
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller import errors, transitions
from wfe.controller.cache_gauges import execution_timeout_seconds
from wfe.controller.dependencies import Dependencies
from wfe.controller.errors import ErrorCategory
from wfe.controller.failure.details import controller_failure_details, failure_details
from wfe.controller.pipelinerun import Owner, owner_of
from wfe.controller.resources import PIPELINE_RUNS, TASK_RUNS
from wfe.controller.tekton_status import succeeded_condition
from wfe.controller.timestamps import parse_time
from wfe.runtime.reconcile import Result

Object = dict[str, Any]


def handle_running(deps: Dependencies, wfe: Object) -> Result:
    ref = (wfe.get("status") or {}).get("pipelineRunRef") or {}
    name = ref.get("name")
    namespace = ref.get("namespace") or deps.settings.execution.execution_namespace
    pipeline_run = deps.reader.get(PIPELINE_RUNS, name, namespace) if name else None
    if name and (pipeline_run is None or owner_of(pipeline_run) != Owner.of(wfe)):
        # The cache may lag: not seen ours yet, or still holding the previous holder's PipelineRun
        # of the same name (stale lock deleted and re-created while the watch was behind). Only a
        # live GET may conclude that ours is gone.
        pipeline_run = deps.client.get_or_none(PIPELINE_RUNS, name, namespace)
    if pipeline_run is None or owner_of(pipeline_run) != Owner.of(wfe):
        message = (
            f"PipelineRun {namespace}/{name} was deleted (or replaced) before it finished; the "
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

    succeeded = succeeded_condition(pipeline_run)
    verdict = succeeded.get("status")
    if verdict == "True":
        transitions.complete(deps, wfe, pipeline_run)
        return Result()
    if verdict == "False":
        details = failure_details(pipeline_run, _task_runs(deps, pipeline_run), deps.clock())
        transitions.fail(deps, wfe, details, pipeline_run=pipeline_run)
        errors.count(ErrorCategory.EXECUTION, str(details["reason"]))  # never retried (SPEC §7)
        return Result()

    return _still_running(deps, wfe, pipeline_run)


def _still_running(deps: Dependencies, wfe: Object, pipeline_run: Object) -> Result:
    """No verdict yet: mirror progress, and fail past timeout + grace (the safety net)."""
    # nothing to mirror until Tekton has touched the PipelineRun (saves a write per workflow)
    has_verdict_condition = bool(succeeded_condition(pipeline_run))
    stored = (
        transitions.update_pipeline_run_status(deps, wfe, pipeline_run)
        if has_verdict_condition
        else wfe
    )
    started = parse_time((stored.get("status") or {}).get("startTime"))
    if started is None:
        return Result()
    timeout = _timeout_seconds(deps, wfe)
    deadline = timeout + deps.settings.timeout_grace_seconds
    elapsed = (deps.clock() - started).total_seconds()
    if elapsed < deadline:
        # PipelineRun changes arrive through the watch; this wake-up is only the safety net
        return Result(requeue_after=deadline - elapsed)
    message = (
        f"No verdict from Tekton {format_go_duration(elapsed)} after start (timeout "
        f"{format_go_duration(timeout)} plus {format_go_duration(deps.settings.timeout_grace_seconds)} "
        "grace). The controller gave up waiting; check the Tekton controller and the PipelineRun."
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


def _task_runs(deps: Dependencies, pipeline_run: Object) -> list[Object]:
    """The TaskRuns of a failed PipelineRun, read live (failure is rare; accuracy matters)."""
    namespace = pipeline_run["metadata"]["namespace"]
    found: list[Object] = []
    for reference in (pipeline_run.get("status") or {}).get("childReferences") or []:
        if reference.get("kind", "TaskRun") != "TaskRun" or not reference.get("name"):
            continue
        task_run = deps.client.get_or_none(TASK_RUNS, reference["name"], namespace)
        if task_run is not None:
            found.append(task_run)
    return found
