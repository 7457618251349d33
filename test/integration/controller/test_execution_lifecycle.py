"""A WorkflowExecution runs as exactly the PipelineRun SPEC §4 describes and mirrors its outcome."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from support.wait import wait_for

from api.workflowexecution.v1alpha1.constants import FINALIZER
from wfe.controller.conditions import get_condition
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time, parse_time

from .harness import DEFAULT_IMAGE, Cluster, StartController, metric
from .tekton import Tekton

DIGEST = "sha256:" + "ab" * 32


def reconciles_done() -> float:
    """Reconciles that finished without error (a Running workflow asks to be woken at its deadline)."""
    return sum(
        metric("controller_runtime_reconcile_total", controller="workflowexecution", result=result)
        for result in ("success", "requeue", "requeue_after")
    )


def condition(status: dict[str, Any], type_: str) -> tuple[str, str]:
    found = get_condition(status.get("conditions"), type_)
    assert found is not None, f"no {type_} condition in {status.get('conditions')}"
    return found["status"], found["reason"]


def test_pipeline_run_pulls_the_bundle_with_sorted_params_and_hardened_pods(
    cluster: Cluster, start: StartController
) -> None:
    start(default_timeout_seconds=1800, service_account="kubernaut-workflow-runner")
    wfe = cluster.create_wfe(
        "restart-payment",
        parameters={"TARGET_NAMESPACE": "payment", "DRY_RUN": "false", "B_2": "x"},
        digest=DIGEST,
    )

    cluster.wait_for_phase("restart-payment", "Running")
    pipeline_run = cluster.pipeline_run("wfe-cf0cc089293b1165")

    assert pipeline_run is not None, "the PipelineRun is named after the target's hash"
    meta = pipeline_run["metadata"]
    assert meta["namespace"] == cluster.execution_namespace
    assert "ownerReferences" not in meta
    assert meta["labels"] == {
        "kubernaut.ai/workflow-execution": "restart-payment",
        "kubernaut.ai/source-namespace": cluster.namespace,
        "kubernaut.ai/workflow-id": "restart-deployment",
        "app.kubernetes.io/managed-by": "workflowexecution-controller",
    }
    assert meta["annotations"] == {
        "kubernaut.ai/target-resource": "payment/deployment/payment-api",
        "kubernaut.ai/workflow-execution-uid": wfe["metadata"]["uid"],
        "kubernaut.ai/container-digest": DIGEST,
    }
    assert pipeline_run["spec"] == {
        "pipelineRef": {
            "resolver": "bundles",
            "params": [
                # pinned: the resolver pulls the approved bundle, not whatever the tag is now
                {
                    "name": "bundle",
                    "value": f"{DEFAULT_IMAGE.rsplit(':', 1)[0]}@{DIGEST}",
                },
                {"name": "name", "value": "workflow"},
                {"name": "kind", "value": "pipeline"},
            ],
        },
        "params": [
            {"name": "B_2", "value": "x"},
            {"name": "DRY_RUN", "value": "false"},
            {"name": "TARGET_NAMESPACE", "value": "payment"},
        ],
        "timeouts": {"pipeline": "30m0s"},
        "taskRunTemplate": {
            "serviceAccountName": "kubernaut-workflow-runner",
            "podTemplate": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                }
            },
        },
    }


def test_execution_config_overrides_timeout_and_service_account(
    cluster: Cluster, start: StartController
) -> None:
    start(default_timeout_seconds=1800, service_account="kubernaut-workflow-runner")
    cluster.create_wfe(
        "custom-config", execution_config={"timeout": "1h30m", "serviceAccountName": "payment-sa"}
    )

    cluster.wait_for_phase("custom-config", "Running")
    pipeline_run = cluster.pipeline_run_for()

    assert pipeline_run is not None
    assert pipeline_run["spec"]["timeouts"] == {"pipeline": "1h30m"}
    assert pipeline_run["spec"]["taskRunTemplate"]["serviceAccountName"] == "payment-sa"


def test_succeeded_pipeline_run_completes_the_workflow_with_timing_and_conditions(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    completed_before = metric("workflowexecution_total", outcome="Success")
    to_running = metric(
        "workflowexecution_phase_transitions_total", from_phase="Pending", to_phase="Running"
    )
    to_completed = metric(
        "workflowexecution_phase_transitions_total", from_phase="Running", to_phase="Completed"
    )
    controller = start()
    cluster.create_wfe("happy")

    running = cluster.wait_for_phase("happy", "Running")
    status = running["status"]
    assert FINALIZER in running["metadata"]["finalizers"]
    assert status["pipelineRunRef"] == {
        "name": "wfe-cf0cc089293b1165",
        "namespace": cluster.execution_namespace,
    }
    assert condition(status, "ResourceLockAcquired") == ("True", "LockAcquired")
    assert condition(status, "PipelineRunCreated") == ("True", "PipelineRunCreated")
    assert condition(status, "ExecutionRunning") == ("True", "ExecutionStarted")
    assert status["observedGeneration"] == running["metadata"]["generation"]
    wait_for(lambda: metric("workflowexecution_active") == 1, 2, message="one active workflow")
    started = parse_time(status["startTime"])
    assert started is not None

    tekton.start("wfe-cf0cc089293b1165", started, tasks=("scale", "verify"))
    tekton.report_progress("wfe-cf0cc089293b1165", started + timedelta(seconds=60), completed=1)
    in_progress = cluster.wait_for_status(
        "happy",
        lambda s: (s.get("pipelineRunStatus") or {}).get("completedTasks") == 1,
        "pipelineRunStatus mirrors Tekton's progress",
    )
    assert in_progress["status"]["phase"] == "Running"
    assert in_progress["status"]["pipelineRunStatus"] == {
        "status": "Unknown",
        "reason": "Running",
        "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
        "completedTasks": 1,
        "totalTasks": 2,
    }

    finished = started + timedelta(minutes=3, seconds=30)
    tekton.succeed(
        "wfe-cf0cc089293b1165", started=started, completed=finished, tasks=("scale", "verify")
    )
    done = cluster.wait_for_phase("happy", "Completed")["status"]

    assert done["outcome"] == "Success"
    assert done["startTime"] == format_time(started)
    assert done["completionTime"] == format_time(finished)
    assert done["duration"] == "3m30s"
    assert done["pipelineRunRef"]["name"] == "wfe-cf0cc089293b1165"
    assert done["pipelineRunStatus"]["status"] == "True"
    assert done["pipelineRunStatus"]["completedTasks"] == 2
    assert "failureDetails" not in done
    assert condition(done, "ExecutionComplete") == ("True", "Succeeded")
    assert condition(done, "ExecutionRunning") == ("False", "ExecutionFinished")
    assert condition(done, "Ready") == ("True", "Completed")
    assert condition(done, "ResourceLockAcquired") == ("True", "LockAcquired")
    cluster.wait_for_status(
        "happy",
        lambda s: condition(s, "AuditRecorded") == ("True", "AuditSucceeded"),
        "the audit trail was accepted",
    )
    assert controller.audit_sink.event_types("happy") == [
        "workflowexecution.execution.started",
        "workflowexecution.workflow.completed",
    ]
    cluster.wait_for_event("happy", "PipelineRunCreated")
    cluster.wait_for_event("happy", "WorkflowCompleted")
    assert metric("workflowexecution_total", outcome="Success") == completed_before + 1
    assert (
        metric(
            "workflowexecution_phase_transitions_total", from_phase="Pending", to_phase="Running"
        )
        == to_running + 1
    )
    assert (
        metric(
            "workflowexecution_phase_transitions_total", from_phase="Running", to_phase="Completed"
        )
        == to_completed + 1
    )
    wait_for(lambda: metric("workflowexecution_active") == 0, 2, message="no active workflow")
    assert cluster.pipeline_run_for() is not None, "the PipelineRun (its logs) is kept in cooldown"


def test_a_pipeline_run_verdict_reaches_the_workflow_through_the_watch_within_two_seconds(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    # the safety-net requeue is 30m + 5m away: only the PipelineRun watch can deliver the verdict
    start(default_timeout_seconds=1800)
    cluster.create_wfe("watched")
    status = cluster.wait_for_phase("watched", "Running")["status"]
    started = parse_time(status["startTime"])
    assert started is not None

    tekton.succeed(
        "wfe-cf0cc089293b1165", started=started, completed=started + timedelta(seconds=5)
    )
    written = time.monotonic()
    cluster.wait_for_phase("watched", "Completed", timeout=2.0)

    assert time.monotonic() - written < 2.0


def test_a_run_tekton_never_settles_fails_as_deadline_exceeded_after_timeout_and_grace(
    cluster: Cluster, start: StartController
) -> None:
    start(timeout_grace_seconds=1)
    cluster.create_wfe("stuck", execution_config={"timeout": "1s"})
    cluster.wait_for_phase("stuck", "Running")

    # no PipelineRun change arrives: only the controller's own deadline can end this
    status = cluster.wait_for_phase("stuck", "Failed", timeout=6)["status"]

    details = status["failureDetails"]
    assert details["reason"] == "DeadlineExceeded"
    assert details["wasExecutionFailure"] is True
    assert "No verdict from Tekton" in details["message"]
    assert cluster.pipeline_run_for() is not None, "kept for its logs until the cooldown ends"


def test_an_unchanged_pipeline_run_status_causes_no_status_write(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    controller = start()
    cluster.create_wfe("steady")
    started = parse_time(cluster.wait_for_phase("steady", "Running")["status"]["startTime"])
    assert started is not None
    tekton.start("wfe-cf0cc089293b1165", started)
    settled = cluster.wait_for_status(
        "steady",
        lambda s: (s.get("pipelineRunStatus") or {}).get("reason") == "Running",
        "Tekton's Running mirrored",
    )
    controller.wait_until_idle()
    reconciles = reconciles_done()

    cluster.client.patch(
        PIPELINE_RUNS,
        "wfe-cf0cc089293b1165",
        {"metadata": {"annotations": {"tekton.dev/touched": "yes"}}},
        cluster.execution_namespace,
    )
    wait_for(
        lambda: reconciles_done() > reconciles,
        5,
        message="the PipelineRun change to be reconciled",
    )

    current = cluster.get_wfe("steady")
    assert current is not None
    assert current["metadata"]["resourceVersion"] == settled["metadata"]["resourceVersion"]


def test_a_malformed_tekton_status_is_mirrored_within_the_schema_not_refused_forever(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    # issue 9: a status of "Maybe" and a megabyte message were copied as they were; the API
    # server refused the WFE status (422) on every retry
    start()
    cluster.create_wfe("odd")
    started = parse_time(cluster.wait_for_phase("odd", "Running")["status"]["startTime"])
    assert started is not None
    huge = "Tasks Completed: 1 \x1b[2J" + "x" * (1024 * 1024)

    def mutate(status: dict[str, Any]) -> None:
        status["startTime"] = format_time(started)
        status["conditions"] = [
            {
                "type": "Succeeded",
                "status": "Maybe",
                "reason": "Running",
                "message": huge,
                "lastTransitionTime": format_time(started),
            }
        ]

    pipeline_run = cluster.pipeline_run_for()
    assert pipeline_run is not None
    tekton.write_status(pipeline_run["metadata"]["name"], mutate)

    mirrored = cluster.wait_for_status(
        "odd", lambda s: bool(s.get("pipelineRunStatus")), "pipelineRunStatus mirrored"
    )["status"]["pipelineRunStatus"]
    assert mirrored["status"] == "Unknown"
    assert len(mirrored["message"].encode()) <= 4096
    assert "\x1b" not in mirrored["message"]
    assert mirrored["completedTasks"] == 1
