"""The naturalLanguageSummary of a failure: a few plain sentences for an SRE and for an LLM, with
one concrete recommendation per FailureReason."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from api.workflowexecution.v1alpha1 import FailureReason, format_go_duration
from wfe.controller.failure.facts import FailureFacts

_R = FailureReason

RECOMMENDATIONS: Final[Mapping[FailureReason, str]] = MappingProxyType(
    {
        _R.OOM_KILLED: (
            "Raise the memory limit of the failing step in the workflow, or make the step use "
            "less memory, then run the workflow again."
        ),
        _R.DEADLINE_EXCEEDED: (
            "Find out what made the run slow (a rollout that never became ready, an unreachable "
            "API, a step waiting on the target); if the work legitimately needs longer, raise "
            "spec.executionConfig.timeout."
        ),
        _R.FORBIDDEN: (
            "Grant the missing RBAC permission named in the message: to the workflow's ServiceAccount "
            "when a step was refused, or to the controller when creating the PipelineRun was "
            "refused; then retry."
        ),
        _R.RESOURCE_EXHAUSTED: (
            "Free capacity or raise the ResourceQuota of the execution namespace, or lower the "
            "workflow's resource requests, then retry."
        ),
        _R.CONFIGURATION_ERROR: (
            "Fix the workflow reference or its parameters (bundle image, pipeline name, required "
            "parameters and their types); retrying unchanged will fail the same way."
        ),
        _R.IMAGE_PULL_BACK_OFF: (
            "Check that the workflow's images exist, are reachable from the cluster and that pull "
            "credentials are configured, then retry."
        ),
        _R.TASK_FAILED: (
            "Read the failed step's logs to find the error, verify the target's current state, "
            "and fix the workflow or its parameters before running it again."
        ),
        _R.CANCELLED: (
            "The run was stopped on purpose; confirm the remediation is still needed before "
            "starting a new one."
        ),
        _R.PIPELINE_RUN_DELETED: (
            "Find out who deleted the PipelineRun or Job (API server audit log) and create a new "
            "WorkflowExecution if the remediation is still needed."
        ),
        _R.UNSUPPORTED_ENGINE: (
            "Run the workflow on an engine this controller serves (spec.workflowRef."
            "executionEngine), or install that engine and add it to the controller's --engines."
        ),
        _R.UNKNOWN: (
            "Inspect the PipelineRun and its TaskRuns (kubectl describe, step logs) to find the "
            "cause before retrying."
        ),
    }
)

_CLUSTER_MAY_HAVE_CHANGED: Final = (
    "Steps ran before the failure, so the target may have been partially changed; check its "
    "current state before retrying."
)
_CLUSTER_UNCHANGED: Final = (
    "No step ran, so this workflow did not change the cluster; it is safe to retry once the "
    "cause is fixed."
)
_SUMMARY_MESSAGE_MAX_LENGTH: Final = 500


def natural_language_summary(facts: FailureFacts) -> str:
    """Headline, step and exit code, error message, cluster state, recommendation."""
    sentences = [_headline(facts)]
    if facts.step_name is not None and facts.exit_code is not None:
        sentences.append(f'Step "{facts.step_name}" exited with code {facts.exit_code}.')
    message = _one_line(facts.message)
    if message:
        sentences.append(f"Error: {message}")
    if facts.logs_command:
        sentences.append(f"Logs: `{facts.logs_command}`.")
    sentences.append(
        _CLUSTER_MAY_HAVE_CHANGED if facts.was_execution_failure else _CLUSTER_UNCHANGED
    )
    sentences.append(f"Recommendation: {RECOMMENDATIONS[facts.reason]}")
    return " ".join(sentences)


def _headline(facts: FailureFacts) -> str:
    after = (
        f" after {format_go_duration(facts.elapsed_seconds)}"
        if facts.elapsed_seconds is not None
        else ""
    )
    if facts.task_name is not None:
        position = ""
        if facts.task_index is not None and facts.task_count > facts.task_index:
            position = f" {facts.task_index + 1} of {facts.task_count}"
        return f'Task{position} "{facts.task_name}" failed{after} with reason {facts.reason}.'
    if not facts.was_execution_failure:
        return f"The workflow failed{after} before any step ran, with reason {facts.reason}."
    return f"The workflow failed{after} with reason {facts.reason}."


def _one_line(message: str) -> str:
    """The message on one line, clipped, ending with a full stop."""
    text = " ".join(message.split())
    if len(text) > _SUMMARY_MESSAGE_MAX_LENGTH:
        text = text[: _SUMMARY_MESSAGE_MAX_LENGTH - 1].rstrip() + "…"
    if text and text[-1] not in ".!?…":
        text += "."
    return text
