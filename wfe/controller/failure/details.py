"""status.failureDetails for a failed execution: extracted from a failed PipelineRun and its
TaskRuns, or built for failures the controller itself decides; both go through one renderer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from api.tekton.v1 import TaskRunReason
from api.workflowexecution.v1alpha1 import FailureReason, format_go_duration
from wfe.controller.failure.classification import (
    FailureEvidence,
    classify,
    reason_for_code,
    was_execution_failure,
)
from wfe.controller.failure.facts import FailureFacts
from wfe.controller.failure.summary import natural_language_summary
from wfe.controller.messages import mirrored_message
from wfe.controller.sanitize import sanitize_text
from wfe.controller.tekton_status import succeeded_condition
from wfe.controller.timestamps import format_time, parse_time

# A TaskRun that failed with onError: continue did not fail its PipelineRun.
_FAILURE_IGNORED: Final = "FailureIgnored"
# Kubelet's startedAt for a container that never started.
_NEVER_STARTED: Final = "1970-01-01T00:00:00Z"
# A step Tekton stopped because its image never came: it never ran, whatever its startedAt says
# (Tekton v1.12 writes the pod's start time there).
_IMAGE_NEVER_PULLED: Final = "TaskRunImagePullFailed"
_END_OF_TIME: Final = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _FailedChild:
    index: int
    pipeline_task_name: str
    task_run: dict[str, Any]


def failure_details(
    pipeline_run: dict[str, Any], task_runs: Sequence[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """failureDetails (camelCase, ready for the status) of a PipelineRun whose Succeeded is False.

    ``task_runs`` are the PipelineRun's TaskRuns as far as they are known; missing ones make the
    verdict conservative (wasExecutionFailure=True) rather than wrong.
    """
    status = pipeline_run.get("status") or {}
    verdict = succeeded_condition(pipeline_run)
    references = status.get("childReferences") or []
    task_runs_by_name = {_name(task_run): task_run for task_run in task_runs}
    failed = _failed_child(references, task_runs_by_name)

    task_run = failed.task_run if failed else {}
    task_verdict = succeeded_condition(task_run)
    steps = (task_run.get("status") or {}).get("steps") or []
    # Tekton gives the steps it stopped a placeholder exit code 1: only a step's own exit counts.
    failed_step = next(
        (s for s in steps if _exit_code(s) and _step_started(s) and not _stopped_by_tekton(s)),
        None,
    )

    reason = classify(_evidence(verdict, task_verdict, steps, failed_step))
    message = _message(verdict, task_verdict if failed else None)
    failed_at = (
        parse_time((task_run.get("status") or {}).get("completionTime"))
        or parse_time(status.get("completionTime"))
        or parse_time(verdict.get("lastTransitionTime"))
        or now
    )
    started_at = parse_time(status.get("startTime")) or parse_time(
        (pipeline_run.get("metadata") or {}).get("creationTimestamp")
    )
    inspected = sum(1 for reference in references if reference.get("name") in task_runs_by_name)

    return _render(
        FailureFacts(
            reason=reason,
            message=message,
            failed_at=failed_at,
            elapsed_seconds=_elapsed(started_at, failed_at),
            was_execution_failure=was_execution_failure(
                any_step_started=any(_any_step_started(tr) for tr in task_runs),
                task_runs_created=len(references),
                task_runs_inspected=inspected,
            ),
            task_index=failed.index if failed else None,
            task_name=failed.pipeline_task_name if failed else None,
            task_count=_task_count(status, references),
            step_name=failed_step.get("name") if failed_step else None,
            exit_code=_exit_code(failed_step) if failed_step else None,
            logs_command=_logs_command(task_run, failed_step),
        )
    )


def controller_failure_details(
    reason: FailureReason,
    message: str,
    *,
    now: datetime,
    was_execution_failure: bool,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """failureDetails for a failure the controller decides without a Tekton verdict.

    PipelineRunDeleted and the DeadlineExceeded safety net happen after the run started
    (``was_execution_failure=True``); Forbidden on create and ConfigurationError from spec
    validation happen before anything ran (``False``).
    """
    return _render(
        FailureFacts(
            reason=reason,
            message=message,
            failed_at=now,
            elapsed_seconds=_elapsed(started_at, now),
            was_execution_failure=was_execution_failure,
        )
    )


def render_failure(facts: FailureFacts) -> dict[str, Any]:
    """failureDetails for ``facts`` gathered by an engine (the Job engine reads them from its pod)."""
    return _render(facts)


def _render(facts: FailureFacts) -> dict[str, Any]:
    # Tekton's text is the workflow author's text: sanitised before anyone reads it
    facts = replace(
        facts,
        message=mirrored_message(facts.message.strip()).strip(),
        task_name=None if facts.task_name is None else sanitize_text(facts.task_name),
        step_name=None if facts.step_name is None else sanitize_text(facts.step_name),
    )
    clipped = facts.message
    details: dict[str, Any] = {
        "failedTaskIndex": facts.task_index,
        "failedTaskName": facts.task_name,
        "failedStepName": facts.step_name,
        "exitCode": facts.exit_code,
        "reason": str(facts.reason),
        "message": clipped,
        "failedAt": format_time(facts.failed_at),
        "executionTimeBeforeFailure": (
            None if facts.elapsed_seconds is None else format_go_duration(facts.elapsed_seconds)
        ),
        "wasExecutionFailure": facts.was_execution_failure,
        "requiresManualReview": facts.was_execution_failure,
        "naturalLanguageSummary": natural_language_summary(replace(facts, message=clipped)),
    }
    return {key: value for key, value in details.items() if value is not None}


def _evidence(
    verdict: dict[str, Any],
    task_verdict: dict[str, Any],
    steps: Sequence[dict[str, Any]],
    failed_step: dict[str, Any] | None,
) -> FailureEvidence:
    return FailureEvidence(
        reason_codes=[
            verdict.get("reason", ""),
            task_verdict.get("reason", ""),
            # Kubelet's verdicts only: a step Tekton stopped before it started carries a copy of
            # the TaskRun's reason, already counted above.
            *(
                _step_state(step, "terminated").get("reason", "")
                for step in steps
                if _step_started(step)
            ),
            *(_step_state(step, "waiting").get("reason", "") for step in steps),
        ],
        messages=[task_verdict.get("message", ""), verdict.get("message", "")],
        nonzero_exit_code=failed_step is not None,
    )


def _message(verdict: dict[str, Any], task_verdict: dict[str, Any] | None) -> str:
    """The PipelineRun's own message explains PipelineRun-level causes (timeout, resolution);
    for a task failure the TaskRun's message is the more specific one."""
    pipeline_reason = verdict.get("reason", "")
    message = verdict.get("message", "")
    if task_verdict is not None and reason_for_code(pipeline_reason) is None:
        message = task_verdict.get("message") or message
    return message or f"PipelineRun failed with reason {pipeline_reason or 'unknown'}"


def _failed_child(
    references: Iterable[dict[str, Any]], task_runs_by_name: dict[str, dict[str, Any]]
) -> _FailedChild | None:
    """The TaskRun to blame: the earliest genuine failure, else a cancelled or unfinished one."""
    failed: list[tuple[bool, datetime, int, _FailedChild]] = []
    unfinished: list[_FailedChild] = []
    for index, reference in enumerate(references):
        task_run = task_runs_by_name.get(reference.get("name", ""))
        if task_run is None:
            continue
        child = _FailedChild(index, reference.get("pipelineTaskName", ""), task_run)
        verdict = succeeded_condition(task_run)
        if verdict.get("status") == "False" and verdict.get("reason") != _FAILURE_IGNORED:
            cancelled = verdict.get("reason") == TaskRunReason.CANCELLED
            completed = (
                parse_time((task_run.get("status") or {}).get("completionTime")) or _END_OF_TIME
            )
            failed.append((cancelled, completed, index, child))
        elif verdict.get("status") != "True":
            unfinished.append(child)
    if failed:
        return min(failed, key=lambda entry: entry[:3])[3]
    return unfinished[0] if unfinished else None


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _step_state(step: dict[str, Any], state: str) -> dict[str, Any]:
    return step.get(state) or {}


def _exit_code(step: dict[str, Any]) -> int:
    return int(_step_state(step, "terminated").get("exitCode") or 0)


def _step_started(step: dict[str, Any]) -> bool:
    """Whether the step's container ever ran. When Tekton stops a TaskRun it marks steps that
    never started as terminated without a startedAt, or (image never pulled) with its reason."""
    if step.get("running"):
        return True
    terminated = _step_state(step, "terminated")
    if _IMAGE_NEVER_PULLED in (terminated.get("reason"), step.get("terminationReason")):
        return False
    started_at = terminated.get("startedAt")
    return bool(started_at) and started_at != _NEVER_STARTED


def _stopped_by_tekton(step: dict[str, Any]) -> bool:
    """Tekton ended the step itself (timeout, cancellation, image pull): StepState's
    terminationReason then holds one of Tekton's TaskRun reasons, and the exit code is Tekton's."""
    return str(step.get("terminationReason") or "").startswith("TaskRun")


def _any_step_started(task_run: dict[str, Any]) -> bool:
    return any(_step_started(step) for step in (task_run.get("status") or {}).get("steps") or ())


def _task_count(status: dict[str, Any], references: Sequence[dict[str, Any]]) -> int:
    pipeline_spec = status.get("pipelineSpec") or {}
    declared = len(pipeline_spec.get("tasks") or ()) + len(pipeline_spec.get("finally") or ())
    return max(declared, len(references))


def _logs_command(task_run: dict[str, Any], step: dict[str, Any] | None) -> str | None:
    pod = (task_run.get("status") or {}).get("podName")
    namespace = (task_run.get("metadata") or {}).get("namespace")
    if not (pod and namespace and step):
        return None
    container = step.get("container") or f"step-{step.get('name', '')}"
    return f"kubectl -n {namespace} logs {pod} -c {container}"


def _elapsed(started_at: datetime | None, ended_at: datetime) -> float | None:
    if started_at is None:
        return None
    return max(0.0, (ended_at - started_at).total_seconds())
