"""The Job engine: the Job the controller creates, its verdict, and failure details from its pod."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wfe.controller.engines import EngineRegistry, Verdict
from wfe.controller.engines.job import JobEngine, build_job, job_failure_details, job_summary
from wfe.controller.pipelinerun import build_pipeline_run

from .test_pipelinerun_builder import DIGEST, IMAGE, SETTINGS, make_wfe

NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
ENGINE = JobEngine()


def job_wfe(**workflow_ref: Any) -> dict[str, Any]:
    wfe = make_wfe(executionConfig={"timeout": "90s", "serviceAccountName": "runner-x"})
    wfe["spec"]["workflowRef"].update({"executionEngine": "job", **workflow_ref})
    return wfe


def test_the_job_holds_the_same_lock_labels_and_annotations_as_a_pipeline_run() -> None:
    wfe = job_wfe(containerDigest=DIGEST)
    job = build_job(wfe, SETTINGS, "payment/Deployment/payment-api")
    pipeline_run = build_pipeline_run(wfe, SETTINGS, "payment/Deployment/payment-api")
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"] == pipeline_run["metadata"]
    assert "ownerReferences" not in job["metadata"]


def test_the_job_runs_the_pinned_image_once_within_the_timeout_under_restricted_security() -> None:
    job = build_job(
        job_wfe(containerDigest=DIGEST, resources={"limits": {"memory": "64Mi", "cpu": 1}}),
        SETTINGS,
    )
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 90
    assert "ttlSecondsAfterFinished" not in spec
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "runner-x"
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["image"] == f"quay.io/kubernaut/workflows/restart-pod@{DIGEST}"
    # parameters as env vars, sorted by name
    assert container["env"] == [
        {"name": "DEPLOYMENT", "value": "payment-api"},
        {"name": "NAMESPACE", "value": "payment"},
    ]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["resources"] == {"limits": {"memory": "64Mi", "cpu": 1}}
    # the pod carries the owner labels (events map back; kwok and operators can select on them)
    assert spec["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_the_controller_defaults_apply_without_execution_config() -> None:
    wfe = make_wfe()
    wfe["spec"]["workflowRef"]["executionEngine"] = "job"
    job = build_job(wfe, SETTINGS)
    assert job["spec"]["activeDeadlineSeconds"] == 30 * 60
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "kubernaut-workflow-runner"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert "resources" not in job["spec"]["template"]["spec"]["containers"][0]


def _job(*conditions: dict[str, str], **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "wfe-1", "namespace": "kubernaut-workflows", "uid": "job-uid"},
        "status": {"conditions": list(conditions), **status},
    }


COMPLETE = {"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-30T12:00:20Z"}
FAILED_BACKOFF = {
    "type": "Failed",
    "status": "True",
    "reason": "BackoffLimitExceeded",
    "message": "Job has reached the specified backoff limit",
    "lastTransitionTime": "2026-11-30T12:00:20Z",
}
FAILED_DEADLINE = {
    "type": "Failed",
    "status": "True",
    "reason": "DeadlineExceeded",
    "message": "Job was active longer than specified deadline",
    "lastTransitionTime": "2026-11-30T12:00:20Z",
}


def test_verdicts_come_from_the_final_conditions_only() -> None:
    assert ENGINE.verdict(_job()) == Verdict.RUNNING
    # the Job controller writes SuccessCriteriaMet / FailureTarget before its pods are gone
    assert ENGINE.verdict(_job({"type": "SuccessCriteriaMet", "status": "True"})) == Verdict.RUNNING
    assert ENGINE.verdict(_job({"type": "FailureTarget", "status": "True"})) == Verdict.RUNNING
    assert ENGINE.verdict(_job(COMPLETE)) == Verdict.SUCCEEDED
    assert ENGINE.verdict(_job(FAILED_BACKOFF)) == Verdict.FAILED


def test_summary_mirrors_progress_and_the_verdict() -> None:
    assert job_summary(_job(active=1))["reason"] == "Running"
    done = job_summary(_job(COMPLETE, succeeded=1))
    assert (done["status"], done["completedTasks"], done["totalTasks"]) == ("True", 1, 1)
    failed = job_summary(_job(FAILED_DEADLINE))
    assert (failed["status"], failed["reason"]) == ("False", "DeadlineExceeded")


def _pod(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "wfe-1-abcde",
            "namespace": "kubernaut-workflows",
            "creationTimestamp": "2026-11-30T12:00:01Z",
        },
        "status": {"containerStatuses": [{"name": "workflow", "state": state}]},
    }


STARTED = "2026-11-30T12:00:02Z"


@pytest.mark.parametrize(
    ("condition", "state", "reason", "exit_code", "ran"),
    [
        (
            FAILED_BACKOFF,
            {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": STARTED}},
            "TaskFailed",
            1,
            True,
        ),
        (
            FAILED_BACKOFF,
            {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": STARTED}},
            "OOMKilled",
            137,
            True,
        ),
        (
            FAILED_DEADLINE,
            {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": STARTED}},
            "DeadlineExceeded",
            137,
            True,
        ),
        (
            FAILED_DEADLINE,
            {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
            "ImagePullBackOff",
            None,
            False,
        ),
    ],
)
def test_failure_details_come_from_the_pod(
    condition: dict[str, str],
    state: dict[str, Any],
    reason: str,
    exit_code: int | None,
    ran: bool,
) -> None:
    job = _job(condition, startTime="2026-11-30T12:00:00Z")
    details = job_failure_details(job, [_pod(state)], NOW)
    assert details["reason"] == reason
    assert details.get("exitCode") == exit_code
    assert details["wasExecutionFailure"] is ran
    assert details["executionTimeBeforeFailure"] == "20s"
    assert f"with reason {reason}." in details["naturalLanguageSummary"]
    if exit_code is not None:
        assert f'Step "workflow" exited with code {exit_code}.' in details["naturalLanguageSummary"]
        assert (
            "kubectl -n kubernaut-workflows logs wfe-1-abcde -c workflow"
            in (details["naturalLanguageSummary"])
        )


def test_a_job_whose_pod_is_gone_is_reviewed_by_a_human() -> None:
    details = job_failure_details(_job(FAILED_DEADLINE), [], NOW)
    assert details["reason"] == "DeadlineExceeded"
    assert details["wasExecutionFailure"] is True


def test_the_registry_serves_the_engines_named_and_refuses_unknown_ones() -> None:
    registry = EngineRegistry.of(["job"])
    assert registry.names == ["job"]
    assert registry.for_workflow_execution(job_wfe()) is not None
    assert registry.for_workflow_execution(make_wfe()) is None  # unset means tekton
    with pytest.raises(ValueError, match="argo"):
        EngineRegistry.of(["tekton", "argo"])
