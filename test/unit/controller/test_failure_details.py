"""failureDetails from realistic failed PipelineRuns (SPEC §5), and for controller-made failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.workflowexecution.v1alpha1 import FailureDetails, FailureReason
from wfe.controller.failure.details import controller_failure_details, failure_details

from .tekton_fixtures import pipeline_run, step, task_run

NOW = datetime(2025, 3, 1, 10, 5, 0, tzinfo=UTC)
TASKS_FAILED = "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1"


def _succeeded(name: str) -> dict[str, Any]:
    return task_run(
        name,
        status="True",
        reason="Succeeded",
        message="All Steps have completed executing",
        steps=[step("run", exit_code=0, reason="Completed")],
        completed="2025-03-01T10:01:00Z",
    )


def test_oom_killed_step() -> None:
    scale = task_run(
        "scale-up",
        status="False",
        reason="Failed",
        message='"step-apply" exited with code 137',
        steps=[step("apply", exit_code=137, reason="OOMKilled")],
    )
    runs = [_succeeded("validate"), scale]
    pr = pipeline_run(
        reason="Failed",
        message=TASKS_FAILED,
        task_runs=runs,
        pipeline_tasks=["validate", "scale-up", "verify"],
    )

    details = failure_details(pr, runs, NOW)

    assert details == {
        "failedTaskIndex": 1,
        "failedTaskName": "scale-up",
        "failedStepName": "apply",
        "exitCode": 137,
        "reason": "OOMKilled",
        "message": '"step-apply" exited with code 137',
        "failedAt": "2025-03-01T10:03:12Z",
        "executionTimeBeforeFailure": "3m12s",
        "wasExecutionFailure": True,
        "requiresManualReview": True,
        "naturalLanguageSummary": details["naturalLanguageSummary"],
    }
    summary = details["naturalLanguageSummary"]
    assert summary.startswith('Task 2 of 3 "scale-up" failed after 3m12s with reason OOMKilled.')
    assert (
        "kubectl -n kubernaut-workflows logs wfe-cf0cc089293b1165-scale-up-pod -c step-apply"
        in summary
    )


def test_pipeline_run_timeout_blames_the_running_task_and_keeps_tektons_message() -> None:
    message = 'PipelineRun "wfe-cf0cc089293b1165" failed to finish within "30m0s"'
    slow = task_run(
        "wait-rollout",
        status="False",
        reason="TaskRunCancelled",
        message="TaskRun cancelled as the PipelineRun it belongs to has timed out.",
        steps=[step("wait", exit_code=1, reason="TaskRunCancelled")],
        completed="2025-03-01T10:30:01Z",
    )
    pr = pipeline_run(
        reason="PipelineRunTimeout",
        message=message,
        task_runs=[slow],
        completed="2025-03-01T10:30:01Z",
    )

    details = failure_details(pr, [slow], NOW)

    assert details["reason"] == FailureReason.DEADLINE_EXCEEDED
    assert details["message"] == message
    assert details["failedTaskName"] == "wait-rollout"
    assert details["executionTimeBeforeFailure"] == "30m1s"
    assert details["wasExecutionFailure"] is True


def test_task_level_timeout() -> None:
    slow = task_run(
        "drain",
        status="False",
        reason="TaskRunTimeout",
        message='TaskRun "wfe-cf0cc089293b1165-drain" failed to finish within "10m0s"',
        steps=[step("drain", exit_code=1, reason="TaskRunTimeout")],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[slow])
    details = failure_details(pr, [slow], NOW)
    assert details["reason"] == FailureReason.DEADLINE_EXCEEDED
    assert details["message"].startswith('TaskRun "wfe-cf0cc089293b1165-drain" failed to finish')


def test_image_pull_failure_before_any_step_ran() -> None:
    pulled = task_run(
        "restart",
        status="False",
        reason="TaskRunImagePullFailed",
        message='the step "restart" in TaskRun "wfe-cf0cc089293b1165-restart" failed to pull the '
        'image "". The pod errored with the message: "Back-off pulling image "bad/image:1"."',
        steps=[step("restart", exit_code=1, reason="TaskRunImagePullFailed", started=None)],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[pulled])

    details = failure_details(pr, [pulled], NOW)

    assert details["reason"] == FailureReason.IMAGE_PULL_BACK_OFF
    assert details["wasExecutionFailure"] is False
    assert details["requiresManualReview"] is False
    assert details["failedTaskName"] == "restart"
    # Tekton's synthetic exit code of a step that never started is not reported as the step's.
    assert "failedStepName" not in details and "exitCode" not in details
    assert "did not change the cluster" in details["naturalLanguageSummary"]


def test_image_pull_failure_as_real_tekton_writes_it_is_not_an_execution_failure() -> None:
    # Tekton v1.12.0 (seen on the e2e tier): the step that never got its image is "terminated" with
    # Tekton's placeholder exit code 1, the pod's start time as startedAt, and terminationReason.
    never_pulled = step("run", exit_code=1, reason="TaskRunImagePullFailed")
    never_pulled["terminated"]["message"] = (
        "Step run terminated as pod wfe-1-remediate-pod is terminated"
    )
    never_pulled["terminationReason"] = "TaskRunImagePullFailed"
    pulled = task_run(
        "remediate",
        status="False",
        reason="TaskRunImagePullFailed",
        message='the step "run" in TaskRun "wfe-1-remediate" failed to pull the image "". The pod '
        'errored with the message: "Back-off pulling image "registry.invalid/tool:v1"."',
        steps=[never_pulled],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[pulled])

    details = failure_details(pr, [pulled], NOW)

    assert details["reason"] == FailureReason.IMAGE_PULL_BACK_OFF
    assert details["wasExecutionFailure"] is False
    assert "failedStepName" not in details and "exitCode" not in details


def test_configuration_error_before_any_task_was_created() -> None:
    message = (
        "Error retrieving pipeline for pipelinerun kubernaut-workflows/wfe-cf0cc089293b1165: "
        'error requesting remote resource: error getting "bundleresolver": could not find '
        "object in image with kind: pipeline and name: workflow"
    )
    pr = pipeline_run(
        reason="CouldntGetPipeline", message=message, completed="2025-03-01T10:00:02Z"
    )

    details = failure_details(pr, [], NOW)

    assert details["reason"] == FailureReason.CONFIGURATION_ERROR
    assert details["message"] == message
    assert "failedTaskIndex" not in details and "failedTaskName" not in details
    assert details["wasExecutionFailure"] is False
    assert details["requiresManualReview"] is False
    assert details["executionTimeBeforeFailure"] == "2s"
    assert "before any step ran" in details["naturalLanguageSummary"]


def test_create_container_config_error() -> None:
    broken = task_run(
        "patch",
        status="False",
        reason="CreateContainerConfigError",
        message="Failed to create pod due to config error",
        steps=[step("patch", waiting_reason="CreateContainerConfigError")],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[broken])
    details = failure_details(pr, [broken], NOW)
    assert details["reason"] == FailureReason.CONFIGURATION_ERROR
    assert details["wasExecutionFailure"] is False


def test_rbac_rejection_of_the_task_pod_is_forbidden() -> None:
    rejected = task_run(
        "patch",
        status="False",
        reason="PodCreationFailed",
        message='failed to create task run pod "wfe-cf0cc089293b1165-patch": pods '
        '"wfe-cf0cc089293b1165-patch-pod" is forbidden: error looking up service account '
        'kubernaut-workflows/runner: serviceaccount "runner" not found. Maybe invalid TaskSpec',
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[rejected])
    details = failure_details(pr, [rejected], NOW)
    assert details["reason"] == FailureReason.FORBIDDEN
    assert details["wasExecutionFailure"] is False


def test_task_failed_with_exit_code_names_the_first_failing_step() -> None:
    patch = task_run(
        "patch-deployment",
        status="False",
        reason="Failed",
        message='"step-patch" exited with code 2',
        steps=[
            step("check", exit_code=0, reason="Completed"),
            step("patch", exit_code=2, reason="Error"),
            # Tekton's entrypoint skips the steps after a failed one: they exit 1 at once.
            step("verify", exit_code=1, reason="Error"),
        ],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[patch])

    details = failure_details(pr, [patch], NOW)

    assert details["reason"] == FailureReason.TASK_FAILED
    assert (details["failedStepName"], details["exitCode"]) == ("patch", 2)
    assert details["message"] == '"step-patch" exited with code 2'
    assert details["wasExecutionFailure"] is True
    assert 'Step "patch" exited with code 2.' in details["naturalLanguageSummary"]


def test_cancelled_pipeline_run() -> None:
    running = task_run(
        "restart",
        status="False",
        reason="TaskRunCancelled",
        message="TaskRun cancelled as the PipelineRun it belongs to has been cancelled.",
        steps=[step("restart", exit_code=1, reason="TaskRunCancelled")],
    )
    message = 'PipelineRun "wfe-cf0cc089293b1165" was cancelled'
    pr = pipeline_run(reason="Cancelled", message=message, task_runs=[running])
    details = failure_details(pr, [running], NOW)
    assert details["reason"] == FailureReason.CANCELLED
    assert details["message"] == message
    assert details["wasExecutionFailure"] is True


def test_genuine_failure_is_blamed_over_an_earlier_listed_cancelled_task() -> None:
    cancelled = task_run(
        "a-side",
        status="False",
        reason="TaskRunCancelled",
        message="cancelled",
        completed="2025-03-01T10:02:00Z",
    )
    failed = task_run(
        "b-main",
        status="False",
        reason="Failed",
        message='"step-run" exited with code 1',
        steps=[step("run", exit_code=1, reason="Error")],
        completed="2025-03-01T10:02:30Z",
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[cancelled, failed])
    details = failure_details(pr, [cancelled, failed], NOW)
    assert (details["failedTaskIndex"], details["failedTaskName"]) == (1, "b-main")


def test_earliest_of_two_failures_is_blamed() -> None:
    late = task_run(
        "late", status="False", reason="Failed", message="late", completed="2025-03-01T10:04:00Z"
    )
    early = task_run(
        "early", status="False", reason="Failed", message="early", completed="2025-03-01T10:02:00Z"
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[late, early])
    assert failure_details(pr, [late, early], NOW)["failedTaskName"] == "early"


def test_ignored_task_failure_is_not_blamed() -> None:
    ignored = task_run(
        "optional-lint",
        status="False",
        reason="FailureIgnored",
        message='"step-lint" exited with code 1',
        steps=[step("lint", exit_code=1, reason="Error")],
        completed="2025-03-01T10:01:00Z",
    )
    failed = task_run(
        "apply",
        status="False",
        reason="Failed",
        message='"step-apply" exited with code 3',
        steps=[step("apply", exit_code=3, reason="Error")],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[ignored, failed])
    details = failure_details(pr, [ignored, failed], NOW)
    assert (details["failedTaskName"], details["exitCode"]) == ("apply", 3)


def test_task_runs_missing_from_the_cache_make_the_verdict_conservative() -> None:
    unseen = task_run("restart", status="False", reason="Failed")
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[unseen])
    details = failure_details(pr, [], NOW)
    assert details["reason"] == FailureReason.UNKNOWN
    assert details["wasExecutionFailure"] is True
    assert details["requiresManualReview"] is True
    assert details["message"] == TASKS_FAILED


def test_pipeline_run_without_times_falls_back_to_now() -> None:
    pr = {
        "metadata": {"name": "x"},
        "status": {"conditions": [{"type": "Succeeded", "status": "False"}]},
    }
    details = failure_details(pr, [], NOW)
    assert details["failedAt"] == "2025-03-01T10:05:00Z"
    assert "executionTimeBeforeFailure" not in details
    assert details["reason"] == FailureReason.UNKNOWN
    assert details["message"] == "PipelineRun failed with reason unknown"


def test_huge_message_is_clipped() -> None:
    failed = task_run("t", status="False", reason="Failed", message="e" * 20_000)
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[failed])
    details = failure_details(pr, [failed], NOW)
    assert len(details["message"].encode()) == 4096 and details["message"].endswith("…")
    assert len(details["naturalLanguageSummary"]) < 2000


@pytest.mark.parametrize(
    ("reason", "was_execution_failure"),
    [
        (FailureReason.FORBIDDEN, False),
        (FailureReason.CONFIGURATION_ERROR, False),
        (FailureReason.PIPELINE_RUN_DELETED, True),
        (FailureReason.DEADLINE_EXCEEDED, True),
    ],
)
def test_controller_made_failures_have_the_same_shape(
    reason: FailureReason, was_execution_failure: bool
) -> None:
    details = controller_failure_details(
        reason,
        "message from the controller",
        now=NOW,
        was_execution_failure=was_execution_failure,
        started_at=datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC),
    )
    assert details == {
        "reason": str(reason),
        "message": "message from the controller",
        "failedAt": "2025-03-01T10:05:00Z",
        "executionTimeBeforeFailure": "5m0s",
        "wasExecutionFailure": was_execution_failure,
        "requiresManualReview": was_execution_failure,
        "naturalLanguageSummary": details["naturalLanguageSummary"],
    }
    assert str(reason) in details["naturalLanguageSummary"]


def test_forbidden_on_create_before_start_has_no_execution_time() -> None:
    details = controller_failure_details(
        FailureReason.FORBIDDEN,
        'pipelineruns.tekton.dev is forbidden: User "system:serviceaccount:kubernaut-system:wfe" '
        'cannot create resource "pipelineruns" in namespace "kubernaut-workflows"',
        now=NOW,
        was_execution_failure=False,
    )
    assert "executionTimeBeforeFailure" not in details
    assert details["naturalLanguageSummary"].startswith(
        "The workflow failed before any step ran, with reason Forbidden."
    )


@pytest.mark.parametrize(
    "details",
    [
        failure_details(
            pipeline_run(
                reason="Failed",
                message=TASKS_FAILED,
                task_runs=[
                    task_run("t", status="False", reason="Failed", steps=[step("s", exit_code=1)])
                ],
            ),
            [task_run("t", status="False", reason="Failed", steps=[step("s", exit_code=1)])],
            NOW,
        ),
        failure_details(pipeline_run(reason="CouldntGetPipeline", message="m"), [], NOW),
        controller_failure_details(
            FailureReason.PIPELINE_RUN_DELETED, "gone", now=NOW, was_execution_failure=True
        ),
    ],
)
def test_details_are_accepted_by_the_api_model(details: dict[str, Any]) -> None:
    assert FailureDetails.model_validate(details).to_dict() == details


def test_synthetic_step_reasons_of_never_started_steps_do_not_classify() -> None:
    # The TaskRun failed on a step exit; Tekton then stopped a step that never started and
    # stamped it with its own reason. The exit code, not the stamp, is the cause.
    failed = task_run(
        "apply",
        status="False",
        reason="Failed",
        message='"step-apply" exited with code 4',
        steps=[
            step("apply", exit_code=4, reason="Error"),
            step("report", exit_code=1, reason="TaskRunCancelled", started=None),
        ],
    )
    pr = pipeline_run(reason="Failed", message=TASKS_FAILED, task_runs=[failed])
    assert failure_details(pr, [failed], NOW)["reason"] == FailureReason.TASK_FAILED
