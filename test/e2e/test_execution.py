"""A workflow from a real bundle, run by the real Tekton: success, a failing step, a timeout and a
bundle that does not exist, each checked in the whole WFE status, its Events and the metrics."""

from __future__ import annotations

from datetime import timedelta

from support.cluster import LocalCluster
from support.wait import wait_for

from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import Client

from .conftest import Workflows
from .controller_process import ControllerProcess, wait_for_metric
from .workflow import (
    EXECUTION_NAMESPACE,
    condition,
    create,
    pipeline_run_for,
    pods_of,
    succeeded_condition,
    task_runs_of,
    wait_for_events,
    wait_terminal,
    workflow_execution,
)

UNICODE_NOTE = "Grüße aus der Leitstelle ✓ — 修复完成 🚑 " + "x" * 10_240


def test_a_bundle_with_unicode_and_10kb_parameters_completes_as_tekton_says(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    successes = controller.metric("workflowexecution_total", outcome="Success")
    synced = controller.metric("workflowexecution_status_sync_latency_seconds_count")
    parameters = {"NOTE": UNICODE_NOTE, "TARGET": "payment/deployment/payment-api"}
    # the production shape an admission policy asks for: a tag, and the approved digest
    wfe = create(
        admin,
        workflow_execution(
            namespace,
            "succeeds",
            workflows.remediation_tag,
            parameters=parameters,
            digest=workflows.remediation_digest,
        ),
    )

    status = wait_terminal(admin, namespace, "succeeds")

    pipeline_run = pipeline_run_for(admin, wfe)
    assert pipeline_run is not None, "the PipelineRun is kept (its logs) during the cooldown"
    assert pipeline_run["spec"]["params"] == [
        {"name": "NOTE", "value": UNICODE_NOTE},
        {"name": "TARGET", "value": "payment/deployment/payment-api"},
    ], "parameters reach Tekton unchanged, sorted by name"
    assert pipeline_run["spec"]["pipelineRef"] == {
        "resolver": "bundles",
        "params": [
            {"name": "bundle", "value": workflows.remediation},
            {"name": "name", "value": "workflow"},
            {"name": "kind", "value": "pipeline"},
        ],
    }, "the resolver pulls the approved digest, not the mutable tag"
    tekton_verdict = succeeded_condition(pipeline_run)
    assert (tekton_verdict["status"], tekton_verdict["reason"]) == ("True", "Succeeded")
    assert len(task_runs_of(admin, pipeline_run["metadata"]["name"])) == 3

    assert status["phase"] == "Completed", status.get("message")
    assert status["outcome"] == "Success"
    assert status["completionTime"] == pipeline_run["status"]["completionTime"]
    started, completed = parse_time(status["startTime"]), parse_time(status["completionTime"])
    assert started is not None and completed is not None and started <= completed
    assert status["duration"] == format_go_duration((completed - started).total_seconds())
    assert status["pipelineRunRef"] == {
        "name": pipeline_run["metadata"]["name"],
        "namespace": EXECUTION_NAMESPACE,
    }
    assert status["pipelineRunStatus"] == {
        "status": "True",
        "reason": "Succeeded",
        "message": tekton_verdict["message"],
        "completedTasks": 3,
        "totalTasks": 3,
    }
    assert "failureDetails" not in status and "skipDetails" not in status
    assert condition(status, "ResourceLockAcquired") == ("True", "LockAcquired")
    assert condition(status, "PipelineRunCreated") == ("True", "PipelineRunCreated")
    assert condition(status, "ExecutionRunning") == ("False", "ExecutionFinished")
    assert condition(status, "ExecutionComplete") == ("True", "Succeeded")
    assert condition(status, "Ready") == ("True", "Completed")
    wait_for_events(
        admin,
        namespace,
        "succeeds",
        {"PipelineRunCreated": "Normal", "WorkflowCompleted": "Normal"},
    )
    wait_for_metric(controller, "workflowexecution_total", successes + 1, outcome="Success")
    assert controller.metric("workflowexecution_status_sync_latency_seconds_count") >= synced + 1


def test_a_step_failing_in_task_2_of_3_is_reported_with_the_real_task_and_step(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    failures = controller.metric("workflowexecution_total", outcome="Failure")
    task_failed = controller.metric(
        "workflowexecution_errors_total", category="execution", reason="TaskFailed"
    )
    wfe = create(
        admin,
        workflow_execution(
            namespace, "fails", workflows.remediation, parameters={"REMEDIATE_EXIT_CODE": "1"}
        ),
    )

    status = wait_terminal(admin, namespace, "fails")

    pipeline_run = pipeline_run_for(admin, wfe)
    assert pipeline_run is not None
    verdict = succeeded_condition(pipeline_run)
    assert status["phase"] == "Failed", status.get("message")
    assert status["outcome"] == "Failure"
    assert status["completionTime"] == pipeline_run["status"]["completionTime"]
    details = status["failureDetails"]
    failed_at = parse_time(details.pop("failedAt"))
    assert failed_at is not None
    summary = details.pop("naturalLanguageSummary")
    message = details.pop("message")
    assert details == {
        "failedTaskIndex": 1,
        "failedTaskName": "remediate",
        "failedStepName": "run",
        "exitCode": 1,
        "reason": "TaskFailed",
        "executionTimeBeforeFailure": details["executionTimeBeforeFailure"],
        "wasExecutionFailure": True,
        "requiresManualReview": True,
    }
    assert "exited with code 1" in message, message
    for fact in ("Task 2 of 3", '"remediate"', 'Step "run"', "exited with code 1"):
        assert fact in summary, f"{fact!r} missing from the summary: {summary}"
    assert status["failureReason"] == "TaskFailed"
    assert status["pipelineRunStatus"]["status"] == "False"
    assert status["pipelineRunStatus"]["reason"] == verdict["reason"]
    assert condition(status, "ExecutionComplete") == ("False", "TaskFailed")
    assert condition(status, "Ready") == ("True", "Failed"), "Ready means finished (docs/api.md)"
    wait_for_events(
        admin, namespace, "fails", {"PipelineRunCreated": "Normal", "WorkflowFailed": "Warning"}
    )
    wait_for_metric(controller, "workflowexecution_total", failures + 1, outcome="Failure")
    wait_for_metric(
        controller,
        "workflowexecution_errors_total",
        task_failed + 1,
        category="execution",
        reason="TaskFailed",
    )


def test_a_pipeline_timeout_is_deadline_exceeded_and_tekton_removes_the_pods(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    wfe = create(
        admin,
        workflow_execution(
            namespace,
            "times-out",
            workflows.remediation,
            parameters={"REMEDIATE_HANG": "true"},
            timeout="15s",
        ),
    )

    status = wait_terminal(admin, namespace, "times-out", timeout=120)

    pipeline_run = pipeline_run_for(admin, wfe)
    assert pipeline_run is not None
    assert pipeline_run["spec"]["timeouts"] == {"pipeline": "15s"}
    assert succeeded_condition(pipeline_run)["reason"] == "PipelineRunTimeout"
    assert status["phase"] == "Failed"
    details = status["failureDetails"]
    assert details["reason"] == "DeadlineExceeded"
    assert details["wasExecutionFailure"] is True, "check-target ran before the timeout"
    assert details["failedTaskName"] == "remediate"
    # real Tekton's words: 'PipelineRun "wfe-…" failed to finish within "15s"'
    assert 'failed to finish within "15s"' in details["message"], details["message"]
    started, completed = parse_time(status["startTime"]), parse_time(status["completionTime"])
    assert started is not None and completed is not None
    assert completed - started >= timedelta(seconds=14), "Tekton enforced the 15 s timeout"
    wait_for(
        lambda: not pods_of(admin, pipeline_run["metadata"]["name"]),
        timeout=60,
        message="Tekton to delete the timed-out pods",
    )
    wait_for_events(admin, namespace, "times-out", {"WorkflowFailed": "Warning"})


def test_a_bundle_that_does_not_exist_is_a_configuration_error_before_execution(
    admin: Client,
    controller: ControllerProcess,
    workflows: Workflows,
    cluster: LocalCluster,
    namespace: str,
) -> None:
    wfe = create(admin, workflow_execution(namespace, "no-bundle", workflows.missing))

    status = wait_terminal(admin, namespace, "no-bundle")

    pipeline_run = pipeline_run_for(admin, wfe)
    assert pipeline_run is not None
    assert succeeded_condition(pipeline_run)["reason"] == "CouldntGetPipeline"
    assert status["phase"] == "Failed"
    details = status["failureDetails"]
    assert details["reason"] == "ConfigurationError"
    assert details["wasExecutionFailure"] is False
    assert details["requiresManualReview"] is False
    assert "failedTaskName" not in details and "exitCode" not in details
    assert "no-such-workflow" in details["message"], details["message"]
    assert not task_runs_of(admin, pipeline_run["metadata"]["name"]), "nothing ran"
    wait_for_events(admin, namespace, "no-bundle", {"WorkflowFailed": "Warning"})
