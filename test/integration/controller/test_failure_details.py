"""A failed PipelineRun fails its WorkflowExecution with details an SRE (or an LLM) can act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from wfe.controller.conditions import get_condition
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time, parse_time

from .harness import Cluster, PipelineRunWatch, StartController, metric
from .tekton import TaskRunSpec, Tekton, progress, terminated_step, waiting_step

PIPELINE_RUN = "wfe-cf0cc089293b1165"
StepsAt = Callable[[datetime], tuple[dict[str, Any], ...]]


@dataclass(frozen=True)
class FailedRun:
    """How Tekton reports one class of failure, and the failureDetails the user must see."""

    pipeline_reason: str
    pipeline_message: str
    task_runs: tuple[tuple[str, str, str, StepsAt], ...]  # (task, reason, message, steps)
    expected: dict[str, Any]
    pipeline_tasks: tuple[str, ...] = ()
    succeeded_tasks: tuple[str, ...] = ()


def _oom_steps(at: datetime) -> tuple[dict[str, Any], ...]:
    return (terminated_step("apply", 137, "OOMKilled", at, at + timedelta(seconds=40)),)


def _running_then_killed(at: datetime) -> tuple[dict[str, Any], ...]:
    return (terminated_step("wait-rollout", 1, "TaskRunTimeout", at, at + timedelta(minutes=30)),)


def _image_pull(_: datetime) -> tuple[dict[str, Any], ...]:
    return (waiting_step("apply", "ImagePullBackOff", 'Back-off pulling image "kubectl:nope"'),)


def _exit_2(at: datetime) -> tuple[dict[str, Any], ...]:
    return (
        terminated_step("prepare", 0, "Completed", at, at + timedelta(seconds=5)),
        terminated_step("check", 2, "Error", at + timedelta(seconds=5), at + timedelta(seconds=9)),
    )


CASES = {
    "oom": FailedRun(
        "Failed",
        progress(0, failed=1),
        (("scale", "Failed", '"step-apply" exited with code 137 (OOMKilled)', _oom_steps),),
        {
            "reason": "OOMKilled",
            "failedTaskIndex": 0,
            "failedTaskName": "scale",
            "failedStepName": "apply",
            "exitCode": 137,
            "wasExecutionFailure": True,
        },
    ),
    "timeout": FailedRun(
        "PipelineRunTimeout",
        f'PipelineRun "{PIPELINE_RUN}" failed to finish within "30m0s"',
        (("rollout", "TaskRunCancelled", "TaskRun cancelled: timeout", _running_then_killed),),
        {
            "reason": "DeadlineExceeded",
            "failedTaskName": "rollout",
            "message": f'PipelineRun "{PIPELINE_RUN}" failed to finish within "30m0s"',
            "wasExecutionFailure": True,
        },
    ),
    "image-pull": FailedRun(
        "Failed",
        progress(0, failed=1),
        (("scale", "TaskRunImagePullFailed", 'failed to pull image "kubectl:nope"', _image_pull),),
        {
            "reason": "ImagePullBackOff",
            "failedTaskName": "scale",
            "message": 'failed to pull image "kubectl:nope"',
            "wasExecutionFailure": False,
        },
    ),
    "configuration-before-start": FailedRun(
        "CouldntGetPipeline",
        "Error retrieving pipeline for pipelinerun: could not find object in image with kind: "
        "pipeline and name: workflow",
        (),
        {
            "reason": "ConfigurationError",
            "message": "Error retrieving pipeline for pipelinerun: could not find object in image "
            "with kind: pipeline and name: workflow",
            "wasExecutionFailure": False,
        },
    ),
    "task-failed-with-exit-code": FailedRun(
        "Failed",
        progress(1, failed=1),
        (("verify", "Failed", '"step-check" exited with code 2', _exit_2),),
        {
            "reason": "TaskFailed",
            "failedTaskIndex": 1,
            "failedTaskName": "verify",
            "failedStepName": "check",
            "exitCode": 2,
            "message": '"step-check" exited with code 2',
            "wasExecutionFailure": True,
        },
        pipeline_tasks=("scale", "verify"),
        succeeded_tasks=("scale",),
    ),
    "cancelled": FailedRun(
        "Cancelled",
        f'PipelineRun "{PIPELINE_RUN}" was cancelled',
        (),
        {
            "reason": "Cancelled",
            "message": f'PipelineRun "{PIPELINE_RUN}" was cancelled',
            "wasExecutionFailure": False,
        },
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_failed_pipeline_run_fails_the_workflow_with_classified_details(
    case: FailedRun, cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    failures_before = metric("workflowexecution_total", outcome="Failure")
    reason = case.expected["reason"]
    execution_errors_before = metric(
        "workflowexecution_errors_total", category="execution", reason=reason
    )
    start()
    cluster.create_wfe("remediate")
    started = parse_time(cluster.wait_for_phase("remediate", "Running")["status"]["startTime"])
    assert started is not None
    failed_at = started + timedelta(minutes=2, seconds=5)

    done_tasks = [
        TaskRunSpec(task, "True", "Succeeded", "All Steps have completed executing", ())
        for task in case.succeeded_tasks
    ]
    failed_tasks = [
        TaskRunSpec(task, "False", reason, message, steps(started))
        for task, reason, message, steps in case.task_runs
    ]
    tekton.fail(
        PIPELINE_RUN,
        reason=case.pipeline_reason,
        message=case.pipeline_message,
        started=started,
        completed=failed_at,
        task_runs=[*done_tasks, *failed_tasks],
        pipeline_tasks=case.pipeline_tasks or None,
    )
    status = cluster.wait_for_phase("remediate", "Failed")["status"]

    details = status["failureDetails"]
    assert {key: details.get(key) for key in case.expected} == case.expected
    assert details["requiresManualReview"] == details["wasExecutionFailure"]
    assert details["failedAt"] == format_time(failed_at)
    assert details["executionTimeBeforeFailure"] == "2m5s"
    summary = details["naturalLanguageSummary"]
    assert case.expected["reason"] in summary and "Recommendation:" in summary
    if "exitCode" in case.expected:
        assert f"exited with code {case.expected['exitCode']}" in summary
    assert status["outcome"] == "Failure"
    assert status["failureReason"] == case.expected["reason"]
    assert status["completionTime"] == format_time(failed_at)
    assert status["duration"] == "2m5s"
    assert status["pipelineRunStatus"]["status"] == "False"
    assert status["pipelineRunStatus"]["reason"] == case.pipeline_reason
    complete = get_condition(status["conditions"], "ExecutionComplete")
    assert complete is not None
    assert (complete["status"], complete["reason"]) == ("False", case.expected["reason"])
    event = cluster.wait_for_event("remediate", "WorkflowFailed")
    assert event["type"] == "Warning" and case.expected["reason"] in event["message"]
    assert metric("workflowexecution_total", outcome="Failure") == failures_before + 1
    # SPEC §7: an execution failure is counted in its category and never retried
    assert (
        metric("workflowexecution_errors_total", category="execution", reason=reason)
        == execution_errors_before + 1
    )


def test_a_failed_workflow_completes_when_its_pipeline_run_does_not_when_the_task_failed(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    # a `finally` task cleans up for 20 minutes after the failed task: the cooldown (10 minutes
    # here) must count from the end of the run, or a twin could start while cleanup still runs
    controller = start(cooldown_seconds=600)
    cluster.create_wfe("with-finally")
    started = parse_time(cluster.wait_for_phase("with-finally", "Running")["status"]["startTime"])
    assert started is not None
    task_failed_at = started + timedelta(minutes=1)
    run_finished_at = task_failed_at + timedelta(minutes=20)
    steps = (terminated_step("apply", 1, "Error", started, task_failed_at),)
    tekton.fail(
        PIPELINE_RUN,
        reason="Failed",
        message=progress(1, failed=1),
        started=started,
        completed=run_finished_at,
        task_runs=[
            TaskRunSpec("apply", "False", "Failed", "exited 1", steps, completed=task_failed_at),
            TaskRunSpec("cleanup", "True", "Succeeded", "All Steps have completed executing"),
        ],
    )
    status = cluster.wait_for_phase("with-finally", "Failed")["status"]

    assert status["failureDetails"]["failedAt"] == format_time(task_failed_at)
    assert status["completionTime"] == format_time(run_finished_at)
    assert status["duration"] == "21m0s"
    # 5 minutes after the run ended (25 after the task failed): still cooling down
    controller.clock.set(run_finished_at + timedelta(minutes=5))
    cluster.create_wfe("twin")
    twin = cluster.wait_for_phase("twin", "Skipped")["status"]
    assert twin["skipDetails"]["reason"] == "RecentlyRemediated"


def test_a_pipeline_run_deleted_underneath_fails_the_workflow_without_recreating_it(
    cluster: Cluster, start: StartController
) -> None:
    start()
    cluster.create_wfe("orphaned")
    cluster.wait_for_phase("orphaned", "Running")
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        cluster.client.delete(PIPELINE_RUNS, PIPELINE_RUN, cluster.execution_namespace)
        status = cluster.wait_for_phase("orphaned", "Failed")["status"]
        event = cluster.wait_for_event("orphaned", "WorkflowFailed")
        recreated = watch.count("ADDED")
    finally:
        watch.close()

    details = status["failureDetails"]
    assert details["reason"] == "PipelineRunDeleted"
    assert details["wasExecutionFailure"] is True
    assert PIPELINE_RUN in details["message"]
    assert "PipelineRunDeleted" in event["message"]
    assert not recreated
    assert cluster.pipeline_run(PIPELINE_RUN) is None
