"""``kubectl wfe explain``: one screen on one WorkflowExecution: phase, the skip or failure details
with the natural-language summary, its PipelineRun and the failed TaskRun/step, its conditions and
its Events."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.tekton.v1.constants import SUCCEEDED_CONDITION
from wfe.cli.printing import BOLD, PHASE_COLOURS, YELLOW, Table, paint
from wfe.cli.reader import ClusterReader
from wfe.cli.tables import age
from wfe.controller.conditions import get_condition
from wfe.controller.engines import engine_name_of
from wfe.controller.engines.job import job_summary
from wfe.controller.status import phase_of

Object = dict[str, Any]


@dataclass(frozen=True)
class Explanation:
    wfe: Object
    pipeline_run: Object | None
    failed_task_run: Object | None
    events: list[Object]

    def as_dict(self) -> Object:
        return {
            "workflowExecution": self.wfe,
            "pipelineRun": self.pipeline_run,
            "failedTaskRun": self.failed_task_run,
            "events": self.events,
        }


def gather(reader: ClusterReader, name: str, namespace: str) -> Explanation:
    wfe = reader.workflow_execution(name, namespace)
    status = wfe.get("status") or {}
    ref = status.get("pipelineRunRef") or {}
    if engine_name_of(wfe) == "job":  # the execution is a Job: no TaskRuns to read
        job = reader.job(ref["name"], ref["namespace"]) if ref.get("name") else None
        return Explanation(wfe, job, None, reader.events_for(wfe))
    pipeline_run = reader.pipeline_run(ref["name"], ref["namespace"]) if ref.get("name") else None
    failed_task_run = None
    failed_task = (status.get("failureDetails") or {}).get("failedTaskName")
    if pipeline_run is not None and failed_task:
        for child in (pipeline_run.get("status") or {}).get("childReferences") or []:
            if (
                child.get("pipelineTaskName") == failed_task
                and child.get("kind", "TaskRun") == "TaskRun"
            ):
                failed_task_run = reader.task_run(child["name"], ref["namespace"])
                break
    return Explanation(wfe, pipeline_run, failed_task_run, reader.events_for(wfe))


def _succeeded(obj: Object | None) -> str:
    condition = get_condition(
        ((obj or {}).get("status") or {}).get("conditions"), SUCCEEDED_CONDITION
    )
    if condition is None:
        return "not started"
    message = f": {condition['message']}" if condition.get("message") else ""
    return f"Succeeded={condition.get('status')} ({condition.get('reason', '')}){message}"


def _field(label: str, value: object) -> str:
    return f"{label + ':':<14} {value}"


def render(explanation: Explanation, now: datetime, colour: bool) -> str:
    wfe = explanation.wfe
    meta, spec, status = wfe["metadata"], wfe.get("spec") or {}, wfe.get("status") or {}
    workflow = spec.get("workflowRef") or {}
    phase = phase_of(wfe)
    lines = [
        _field("Name", meta["name"]),
        _field("Namespace", meta.get("namespace", "")),
        _field("Phase", paint(phase, PHASE_COLOURS.get(phase), colour)),
        _field("Target", spec.get("targetResource", "")),
        _field(
            "Workflow",
            f"{workflow.get('workflowId')} {workflow.get('version', '')} ({workflow.get('containerImage', '')})",
        ),
        _field(
            "Created",
            f"{meta.get('creationTimestamp')} ({age(meta.get('creationTimestamp'), now)} ago)",
        ),
    ]
    if status.get("startTime"):
        lines.append(_field("Started", status["startTime"]))
    if status.get("completionTime"):
        lines.append(
            _field("Completed", f"{status['completionTime']} (took {status.get('duration', '?')})")
        )
    if status.get("message"):
        lines.append(_field("Message", status["message"]))
    lines += _skip_lines(status.get("skipDetails"), colour)
    lines += _failure_lines(status.get("failureDetails"), colour)
    lines += _pipeline_run_lines(status, explanation)
    lines += _conditions_lines(status.get("conditions") or [], now)
    lines += _events_lines(explanation.events, now, colour)
    return "\n".join(lines) + "\n"


def _heading(text: str, colour: bool) -> str:
    return "\n" + paint(text, BOLD, colour)


def _skip_lines(skip: Object | None, colour: bool) -> list[str]:
    if not skip:
        return []
    lines = [
        _heading("Skipped:", colour),
        _field("  Reason", skip.get("reason")),
        _field("  Message", skip.get("message")),
    ]
    busy = skip.get("conflictingWorkflow")
    if busy:
        lines.append(
            _field(
                "  Held by",
                f"{busy.get('namespace')}/{busy.get('name')} (workflow {busy.get('workflowId')}, started {busy.get('startedAt')})",
            )
        )
    recent = skip.get("recentRemediation")
    if recent:
        lines.append(
            _field(
                "  Last run",
                f"{recent.get('namespace')}/{recent.get('name')} ({recent.get('outcome')} at {recent.get('completedAt')})",
            )
        )
        lines.append(_field("  Cooldown", f"{recent.get('cooldownRemaining')} left when skipped"))
    return lines


def _failure_lines(failure: Object | None, colour: bool) -> list[str]:
    if not failure:
        return []
    lines = [
        _heading("Failure:", colour),
        _field("  Reason", paint(str(failure.get("reason")), PHASE_COLOURS["Failed"], colour)),
        _field(
            "  Steps ran",
            f"{_yes_no(failure.get('wasExecutionFailure'))} "
            f"(manual review: {_yes_no(failure.get('requiresManualReview'))})",
        ),
    ]
    if failure.get("failedTaskName"):
        step = f", step {failure['failedStepName']}" if failure.get("failedStepName") else ""
        code = f", exit code {failure['exitCode']}" if failure.get("exitCode") is not None else ""
        lines.append(
            _field(
                "  Failed task",
                f"{failure['failedTaskName']} (#{failure.get('failedTaskIndex')}){step}{code}",
            )
        )
    lines.append(
        _field(
            "  Failed at",
            f"{failure.get('failedAt')} (after {failure.get('executionTimeBeforeFailure', '?')})",
        )
    )
    lines.append(_field("  Message", failure.get("message")))
    summary = failure.get("naturalLanguageSummary")
    if summary:
        lines.append("  Summary:")
        lines += textwrap.wrap(summary, width=100, initial_indent="    ", subsequent_indent="    ")
    return lines


def _yes_no(value: object) -> str:
    return (
        {True: "yes", False: "no"}.get(value, "unknown") if isinstance(value, bool) else "unknown"
    )


def _pipeline_run_lines(status: Object, explanation: Explanation) -> list[str]:
    ref = status.get("pipelineRunRef") or {}
    is_job = engine_name_of(explanation.wfe) == "job"
    kind = "Job" if is_job else "PipelineRun"
    if not ref.get("name"):
        return ["", _field(kind, "<none> (none was created)")]
    where = f"{ref.get('namespace')}/{ref['name']}"
    if explanation.pipeline_run is None:
        return [
            "",
            _field(kind, f"{where} (gone: the lock was released, or it was deleted)"),
        ]
    if is_job:
        summary = job_summary(explanation.pipeline_run)
        message = f": {summary['message']}" if summary["message"] else ""
        return [
            "",
            _field(kind, where),
            _field("  Status", f"{summary['status']} ({summary['reason']}){message}"),
        ]
    lines = [
        "",
        _field("PipelineRun", where),
        _field("  Status", _succeeded(explanation.pipeline_run)),
    ]
    task_run = explanation.failed_task_run
    if task_run is not None:
        lines.append(_field("  TaskRun", f"{task_run['metadata']['name']}: {_succeeded(task_run)}"))
        for step in (task_run.get("status") or {}).get("steps") or []:
            terminated = step.get("terminated") or {}
            waiting = step.get("waiting") or {}
            if terminated:
                state = f"terminated, exit code {terminated.get('exitCode')} ({terminated.get('reason', '')})"
            elif waiting:
                state = f"waiting ({waiting.get('reason', '')}: {waiting.get('message', '')})"
            else:
                state = "running"
            lines.append(_field(f"    step {step.get('name')}", state))
        pod = (task_run.get("status") or {}).get("podName")
        if pod:
            lines.append(
                _field("  Logs", f"kubectl -n {ref.get('namespace')} logs {pod} --all-containers")
            )
    return lines


def _conditions_lines(conditions: list[Object], now: datetime) -> list[str]:
    if not conditions:
        return []
    table = Table(["  TYPE", "STATUS", "REASON", "AGE", "MESSAGE"])
    for condition in conditions:
        table.rows.append(
            [
                f"  {condition.get('type')}",
                str(condition.get("status")),
                str(condition.get("reason", "")),
                age(condition.get("lastTransitionTime"), now),
                str(condition.get("message", "")),
            ]
        )
    return ["", "Conditions:", table.render(colour=False).rstrip("\n")]


def _events_lines(events: list[Object], now: datetime, colour: bool) -> list[str]:
    if not events:
        return ["", "Events:        <none>"]
    table = Table(
        ["  TYPE", "REASON", "AGE", "FROM", "MESSAGE"],
        stylers={0: lambda t: YELLOW if "Warning" in t else None},
    )
    for event in events:
        seen = event.get("lastTimestamp") or event.get("eventTime")
        count = int(event.get("count") or 1)
        when = age(seen, now) + (f" (x{count})" if count > 1 else "")
        source = (
            (event.get("source") or {}).get("component") or event.get("reportingComponent") or ""
        )
        table.rows.append(
            [
                f"  {event.get('type', '')}",
                str(event.get("reason", "")),
                when,
                source,
                str(event.get("message", "")),
            ]
        )
    return ["", "Events:", table.render(colour=colour).rstrip("\n")]
