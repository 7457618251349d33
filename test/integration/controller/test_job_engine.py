"""The Job engine on the real API server: the Job the controller creates, its verdicts, failure
details from its pod, deletion, adoption after a crash, the stale lock, the cooldown, and a
controller that does not serve the engine a WorkflowExecution asks for (UnsupportedEngine).

The tests play the Job controller and the kubelet (jobs.py), as they play Tekton."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.wait import wait_for

from wfe.controller.conditions import get_condition
from wfe.controller.engines.job import build_job
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run
from wfe.controller.resources import JOBS, PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, Resource
from wfe.runtime.envtest import ControlPlane

from .harness import (
    DEFAULT_IMAGE,
    RUNNER_SERVICE_ACCOUNT,
    Cluster,
    StartController,
    whole_second,
    workflow_execution,
)
from .jobs import JobController
from .rbac import ControllerRbac

Object = dict[str, Any]
JOB = "wfe-cf0cc089293b1165"  # the lock name of payment/deployment/payment-api
DIGEST = "sha256:" + "cd" * 32
BOTH = ("tekton", "job")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")


@pytest.fixture
def jobs(admin_client: Client, execution_namespace: str) -> JobController:
    # the pods run as the namespace's default ServiceAccount: no ServiceAccount controller here
    if admin_client.get_or_none(SERVICE_ACCOUNTS, "default", execution_namespace) is None:
        admin_client.create(
            SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": execution_namespace}}
        )
    return JobController(admin_client, execution_namespace)


def job_wfe(cluster: Cluster, name: str, **spec: Any) -> Object:
    wfe = workflow_execution(name, cluster.namespace, **spec)
    wfe["spec"]["workflowRef"]["executionEngine"] = "job"
    return cluster.client.create(WORKFLOW_EXECUTIONS, wfe)


def test_a_job_runs_the_pinned_image_with_sorted_env_and_completes(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH, default_timeout_seconds=600)
    wfe = job_wfe(
        cluster,
        "restart-payment",
        parameters={"TARGET_NAMESPACE": "payment", "DRY_RUN": "false"},
        digest=DIGEST,
    )
    status = cluster.wait_for_phase("restart-payment", "Running")["status"]
    assert status["pipelineRunRef"] == {"name": JOB, "namespace": cluster.execution_namespace}
    job = jobs.job(JOB)
    assert job["metadata"]["labels"]["kubernaut.ai/workflow-execution"] == "restart-payment"
    assert (
        job["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"]
        == (wfe["metadata"]["uid"])
    )
    assert "ownerReferences" not in job["metadata"]
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 600
    assert "ttlSecondsAfterFinished" not in job["spec"]
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == RUNNER_SERVICE_ACCOUNT
    (container,) = pod["containers"]
    assert container["image"] == f"{DEFAULT_IMAGE.rsplit(':', 1)[0]}@{DIGEST}"
    assert [e["name"] for e in container["env"]] == ["DRY_RUN", "TARGET_NAMESPACE"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False

    now = whole_second(datetime.now(UTC))
    jobs.succeed(JOB, started=now - timedelta(seconds=7), at=now)
    status = cluster.wait_for_phase("restart-payment", "Completed")["status"]
    assert status["duration"]
    assert status["pipelineRunStatus"]["status"] == "True"
    created = get_condition(status["conditions"], "PipelineRunCreated")
    assert created is not None and created["message"] == f"Job {JOB} created."


def test_a_failed_job_is_explained_from_its_pod(
    cluster: Cluster, jobs: JobController, start: StartController, control_plane: ControlPlane
) -> None:
    start(engines=BOTH)
    job_wfe(cluster, "exits-1")
    cluster.wait_for_phase("exits-1", "Running")
    now = whole_second(datetime.now(UTC))
    jobs.start(JOB, at=now - timedelta(seconds=5))
    started = format_now(now - timedelta(seconds=4))
    jobs.set_container(
        JOB,
        {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": started,
                "finishedAt": started,
            }
        },
    )
    jobs.fail(
        JOB,
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
        started=now - timedelta(seconds=5),
        at=now,
    )
    status = cluster.wait_for_phase("exits-1", "Failed")["status"]
    details = status["failureDetails"]
    assert (details["reason"], details["exitCode"]) == ("TaskFailed", 1)
    assert details["wasExecutionFailure"] is True
    assert details["failedStepName"] == "workflow"
    summary = details["naturalLanguageSummary"]
    assert 'Step "workflow" exited with code 1.' in summary
    assert f"kubectl -n {cluster.execution_namespace} logs {JOB}-pod -c workflow" in summary

    # kubectl wfe explain shows the Job, not a PipelineRun that never existed
    explained = subprocess.run(
        [
            sys.executable,
            *("-m", "wfe.cli", "--kubeconfig", str(control_plane.kubeconfig)),
            *("explain", "exits-1", "-n", cluster.namespace),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert explained.returncode == 0, explained.stderr
    words = " ".join(explained.stdout.split())
    assert f"Job {cluster.execution_namespace}/{JOB}" in words, explained.stdout
    assert "False (BackoffLimitExceeded)" in words, explained.stdout


def test_a_job_past_its_deadline_fails_deadline_exceeded(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH)
    job_wfe(cluster, "too-slow", execution_config={"timeout": "30s"})
    cluster.wait_for_phase("too-slow", "Running")
    assert jobs.job(JOB)["spec"]["activeDeadlineSeconds"] == 30
    now = whole_second(datetime.now(UTC))
    jobs.fail(
        JOB,
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
        started=now - timedelta(seconds=30),
        at=now,
    )
    details = cluster.wait_for_phase("too-slow", "Failed")["status"]["failureDetails"]
    assert details["reason"] == "DeadlineExceeded"
    assert "active longer than specified deadline" in details["message"]


def test_an_image_that_never_comes_fails_image_pull_back_off_before_any_step(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH)
    job_wfe(cluster, "no-image")
    cluster.wait_for_phase("no-image", "Running")
    now = whole_second(datetime.now(UTC))
    jobs.start(JOB, at=now)
    jobs.set_container(
        JOB,
        {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
        phase="Pending",
    )
    jobs.fail(JOB, "DeadlineExceeded", "Job was active longer than specified deadline", now, now)
    details = cluster.wait_for_phase("no-image", "Failed")["status"]["failureDetails"]
    assert details["reason"] == "ImagePullBackOff"
    assert details["wasExecutionFailure"] is False


def test_a_job_deleted_by_someone_else_fails_the_workflow(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH)
    job_wfe(cluster, "orphaned")
    cluster.wait_for_phase("orphaned", "Running")
    cluster.client.delete(JOBS, JOB, cluster.execution_namespace)
    # the DELETE can reach the controller before the watch brought back its own Running write;
    # deciding on that stale Pending once re-created the Job (test_stale_cache shows it exactly)
    details = cluster.wait_for_phase("orphaned", "Failed")["status"]["failureDetails"]
    assert details["reason"] == "PipelineRunDeleted"
    assert f"Job {cluster.execution_namespace}/{JOB} was deleted" in details["message"]


def test_deleting_the_workflow_deletes_its_job_in_the_background(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH)
    job_wfe(cluster, "stop-me")
    cluster.wait_for_phase("stop-me", "Running")
    cluster.delete_wfe("stop-me")
    cluster.wait_until_gone("stop-me")
    wait_for(
        lambda: (
            cluster.client.get_or_none(JOBS, JOB, cluster.execution_namespace) is None
            or bool(
                cluster.client.get(JOBS, JOB, cluster.execution_namespace)["metadata"].get(
                    "deletionTimestamp"
                )
            )
        ),
        timeout=10,
        message="the Job to be deleted",
    )


def test_a_job_created_just_before_a_crash_is_adopted(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    wfe = job_wfe(cluster, "interrupted")
    settings = ExecutionSettings(cluster.execution_namespace, RUNNER_SERVICE_ACCOUNT, 1800)
    job = build_job(wfe, settings)
    job["metadata"]["name"] = JOB  # the lock name of the canonical target
    before = cluster.client.create(JOBS, job)
    start(engines=BOTH)
    status = cluster.wait_for_phase("interrupted", "Running")["status"]
    assert jobs.job(JOB)["metadata"]["uid"] == before["metadata"]["uid"]
    created = get_condition(status["conditions"], "PipelineRunCreated")
    assert created is not None and "adopted" in created["message"]


def test_the_cooldown_ends_by_deleting_the_job_and_the_next_workflow_runs(
    cluster: Cluster, jobs: JobController, start: StartController
) -> None:
    start(engines=BOTH, cooldown_seconds=1)
    job_wfe(cluster, "first")
    cluster.wait_for_phase("first", "Running")
    first_uid = jobs.job(JOB)["metadata"]["uid"]
    now = whole_second(datetime.now(UTC))
    jobs.succeed(JOB, started=now, at=now)

    def released(status: Object) -> bool:
        lock = get_condition(status.get("conditions"), "ResourceLockAcquired")
        return lock is not None and (lock["status"], lock["reason"]) == ("False", "LockReleased")

    cluster.wait_for_status("first", released, "lock released", timeout=10)
    assert "Job" in cluster.wait_for_event("first", "LockReleased")["message"]
    # foreground-free deletion: the Job may linger while the garbage collector is absent here;
    # the next workflow takes the lock over once it is gone (stale-lock removal otherwise)
    wait_for(
        lambda: (
            (job := cluster.client.get_or_none(JOBS, JOB, cluster.execution_namespace)) is None
            or job["metadata"]["uid"] != first_uid
        ),
        timeout=10,
        message="the first Job to be deleted",
    )
    job_wfe(cluster, "next")
    cluster.wait_for_phase("next", "Running")
    assert jobs.job(JOB)["metadata"]["labels"]["kubernaut.ai/workflow-execution"] == "next"


def test_a_workflow_asking_for_an_engine_not_served_fails_unsupported_engine(
    cluster: Cluster, start: StartController
) -> None:
    start(engines=("tekton",))
    job_wfe(cluster, "wants-jobs")
    status = cluster.wait_for_phase("wants-jobs", "Failed")["status"]
    details = status["failureDetails"]
    assert details["reason"] == "UnsupportedEngine"
    assert details["wasExecutionFailure"] is False
    assert "'job'" in details["message"] and "tekton" in details["message"]
    assert cluster.client.get_or_none(JOBS, JOB, cluster.execution_namespace) is None


def test_a_tekton_workflow_on_a_job_only_controller_fails_unsupported_engine(
    cluster: Cluster, start: StartController
) -> None:
    start(engines=("job",))
    cluster.create_wfe("wants-tekton")  # no executionEngine: Tekton, as before the field existed
    details = cluster.wait_for_phase("wants-tekton", "Failed")["status"]["failureDetails"]
    assert details["reason"] == "UnsupportedEngine"


def format_now(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_one_target_has_one_execution_across_engines(
    cluster: Cluster,
    jobs: JobController,
    start: StartController,
    other_namespace: str,
    rbac: ControllerRbac,
) -> None:
    # A PipelineRun holds the target's lock name for a Running WorkflowExecution the cache has not
    # seen (another namespace than the one watched): the Job of the same name must not run beside it.
    rbac.grant(other_namespace)  # the project binds its ClusterRole cluster-wide
    holder = cluster.client.create(
        WORKFLOW_EXECUTIONS, workflow_execution("tekton-holder", other_namespace)
    )
    cluster.write_wfe_status("tekton-holder", {"phase": "Running"}, namespace=other_namespace)
    settings = ExecutionSettings(cluster.execution_namespace, RUNNER_SERVICE_ACCOUNT, 1800)
    pipeline_run = build_pipeline_run(holder, settings)
    pipeline_run["metadata"]["name"] = JOB
    cluster.client.create(PIPELINE_RUNS, pipeline_run)
    start(engines=BOTH)
    job_wfe(cluster, "wants-jobs", target="payment/deployment/payment-api")
    status = cluster.wait_for_phase("wants-jobs", "Skipped")["status"]
    assert status["skipDetails"]["reason"] == "ResourceBusy"
    assert cluster.client.get_or_none(JOBS, JOB, cluster.execution_namespace) is None
