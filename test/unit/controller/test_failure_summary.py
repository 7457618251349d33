"""naturalLanguageSummary: what failed, where, how long in, the error, the cluster state, what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.workflowexecution.v1alpha1 import FailureReason
from wfe.controller.failure.facts import FailureFacts
from wfe.controller.failure.summary import RECOMMENDATIONS, natural_language_summary

AT = datetime(2025, 3, 1, 10, 3, 12, tzinfo=UTC)

# A phrase each recommendation must contain: the concrete action for that reason.
EXPECTED_ADVICE: dict[FailureReason, str] = {
    FailureReason.OOM_KILLED: "memory limit",
    FailureReason.DEADLINE_EXCEEDED: "spec.executionConfig.timeout",
    FailureReason.FORBIDDEN: "RBAC permission",
    FailureReason.RESOURCE_EXHAUSTED: "ResourceQuota",
    FailureReason.CONFIGURATION_ERROR: "retrying unchanged will fail",
    FailureReason.IMAGE_PULL_BACK_OFF: "pull credentials",
    FailureReason.TASK_FAILED: "logs",
    FailureReason.CANCELLED: "still needed",
    FailureReason.PIPELINE_RUN_DELETED: "who deleted the PipelineRun",
    FailureReason.UNSUPPORTED_ENGINE: "--engines",
    FailureReason.UNKNOWN: "kubectl describe",
}


def task_failure(reason: FailureReason, **overrides: object) -> FailureFacts:
    fields: dict[str, object] = {
        "reason": reason,
        "message": '"step-patch" exited with code 2',
        "failed_at": AT,
        "was_execution_failure": True,
        "elapsed_seconds": 192.0,
        "task_index": 1,
        "task_name": "patch-deployment",
        "task_count": 3,
        "step_name": "patch",
        "exit_code": 2,
    }
    fields.update(overrides)
    return FailureFacts(**fields)  # type: ignore[arg-type]


def test_every_failure_reason_has_its_own_recommendation() -> None:
    assert set(RECOMMENDATIONS) == set(FailureReason)
    assert len(set(RECOMMENDATIONS.values())) == len(FailureReason)


@pytest.mark.parametrize("reason", list(FailureReason))
def test_summary_carries_the_recommendation_for_its_reason(reason: FailureReason) -> None:
    summary = natural_language_summary(task_failure(reason))
    assert f"with reason {reason}." in summary
    assert f"Recommendation: {RECOMMENDATIONS[reason]}" in summary
    assert EXPECTED_ADVICE[reason] in summary


def test_task_failure_summary_reads_as_plain_sentences() -> None:
    summary = natural_language_summary(
        task_failure(
            FailureReason.TASK_FAILED,
            logs_command="kubectl -n kubernaut-workflows logs pod-1 -c step-patch",
        )
    )
    assert summary == (
        'Task 2 of 3 "patch-deployment" failed after 3m12s with reason TaskFailed. '
        'Step "patch" exited with code 2. '
        'Error: "step-patch" exited with code 2. '
        "Logs: `kubectl -n kubernaut-workflows logs pod-1 -c step-patch`. "
        "Steps ran before the failure, so the target may have been partially changed; check its "
        "current state before retrying. "
        f"Recommendation: {RECOMMENDATIONS[FailureReason.TASK_FAILED]}"
    )


def test_failure_before_start_says_the_cluster_was_not_touched() -> None:
    facts = FailureFacts(
        reason=FailureReason.CONFIGURATION_ERROR,
        message="could not find object in image with kind: pipeline and name: workflow",
        failed_at=AT,
        was_execution_failure=False,
        elapsed_seconds=2.0,
    )
    summary = natural_language_summary(facts)
    assert summary.startswith(
        "The workflow failed after 2s before any step ran, with reason ConfigurationError."
    )
    assert (
        "Error: could not find object in image with kind: pipeline and name: workflow." in summary
    )
    assert "did not change the cluster" in summary
    assert "partially changed" not in summary


def test_unknown_task_count_omits_the_position() -> None:
    summary = natural_language_summary(task_failure(FailureReason.OOM_KILLED, task_count=0))
    assert summary.startswith('Task "patch-deployment" failed after 3m12s with reason OOMKilled.')


def test_multiline_message_becomes_one_line() -> None:
    facts = task_failure(FailureReason.UNKNOWN, message="first line\n  second line\n")
    assert "Error: first line second line." in natural_language_summary(facts)


def test_long_message_is_shortened_in_the_summary() -> None:
    summary = natural_language_summary(task_failure(FailureReason.UNKNOWN, message="x" * 5000))
    assert "x" * 499 + "…" in summary
    assert "x" * 500 not in summary


def test_no_exit_code_sentence_without_a_failed_step() -> None:
    facts = task_failure(FailureReason.IMAGE_PULL_BACK_OFF, step_name=None, exit_code=None)
    assert "exited with code" not in natural_language_summary(facts).split("Error:")[0]
