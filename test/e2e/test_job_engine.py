"""The Job engine on the local cluster: kube-controller-manager's Job controller runs the Jobs the
controller creates, kwok plays the kubelet of their pods (WFE parameters arrive as the container's
env, so WFE_SIM_EXIT_CODE / WFE_SIM_HANG steer the simulated run). Success, exit 1, the deadline
and deletion of a running workflow, all at once (each on its own target)."""

from __future__ import annotations

from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import JOBS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, Object

from .conftest import Workflows
from .controller_process import ControllerProcess
from .workflow import (
    EXECUTION_NAMESPACE,
    PODS,
    create,
    wait_for_phase,
    wait_terminal,
    workflow_execution,
)


def job_workflow(
    namespace: str, name: str, image: str, parameters: dict[str, str], timeout: str = "5m"
) -> Object:
    wfe = workflow_execution(namespace, name, image, parameters=parameters, timeout=timeout)
    wfe["spec"]["workflowRef"]["executionEngine"] = "job"
    wfe["spec"]["workflowRef"]["resources"] = {"limits": {"memory": "64Mi", "cpu": 1}}
    return wfe


def job_for(admin: Client, wfe: Object) -> Object | None:
    return admin.get_or_none(
        JOBS, pipeline_run_name(wfe["spec"]["targetResource"]), EXECUTION_NAMESPACE
    )


def test_jobs_succeed_fail_time_out_and_stop_on_deletion(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    del controller  # running: it serves --engines=tekton,job
    image = workflows.remediation_tag
    wfes = {
        "succeeds": job_workflow(namespace, "job-succeeds", image, {"REPLICAS": "3"}),
        "exits-1": job_workflow(namespace, "job-exits-1", image, {"WFE_SIM_EXIT_CODE": "1"}),
        "deadline": job_workflow(
            namespace, "job-deadline", image, {"WFE_SIM_HANG": "true"}, timeout="3s"
        ),
        "deleted": job_workflow(namespace, "job-deleted", image, {"WFE_SIM_HANG": "true"}),
    }
    for wfe in wfes.values():
        create(admin, wfe)

    # deletion of a running workflow: its Job and the Job's pod go (propagation Background)
    deleted = wfes["deleted"]
    wait_for_phase(admin, namespace, "job-deleted", {"Running"})
    job = wait_for(lambda: job_for(admin, deleted), timeout=30, message="the Job to exist")
    assert job["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "WFE_SIM_HANG", "value": "true"}
    ]
    assert job["spec"]["backoffLimit"] == 0 and "ttlSecondsAfterFinished" not in job["spec"]
    job_uid = job["metadata"]["uid"]
    wait_for(
        lambda: _pods_of(admin, job_uid),
        timeout=30,
        message="the Job controller to create the pod",
    )
    admin.delete(WORKFLOW_EXECUTIONS, "job-deleted", namespace)
    wait_for(
        lambda: admin.get_or_none(WORKFLOW_EXECUTIONS, "job-deleted", namespace) is None,
        timeout=30,
        message="the WFE's finalizer to finish",
    )
    wait_for(lambda: job_for(admin, deleted) is None, timeout=30, message="the Job to be deleted")
    wait_for(
        lambda: not _pods_of(admin, job_uid),
        timeout=60,
        message="the garbage collector to delete the Job's pod",
    )

    succeeded = wait_terminal(admin, namespace, "job-succeeds", timeout=90)
    assert succeeded["phase"] == "Completed", succeeded
    assert succeeded["pipelineRunRef"]["name"] == pipeline_run_name(
        wfes["succeeds"]["spec"]["targetResource"]
    )
    assert succeeded["pipelineRunStatus"]["status"] == "True"

    failed = wait_terminal(admin, namespace, "job-exits-1", timeout=90)
    assert failed["phase"] == "Failed", failed
    details = failed["failureDetails"]
    assert details["reason"] == "TaskFailed"
    assert details["exitCode"] == 1
    assert details["wasExecutionFailure"] is True
    assert 'Step "workflow" exited with code 1.' in details["naturalLanguageSummary"]

    timed_out = wait_terminal(admin, namespace, "job-deadline", timeout=90)
    assert timed_out["phase"] == "Failed", timed_out
    assert timed_out["failureDetails"]["reason"] == "DeadlineExceeded"
    assert timed_out["pipelineRunStatus"]["reason"] == "DeadlineExceeded"


def _pods_of(admin: Client, job_uid: str) -> list[Object]:
    listed = admin.list(
        PODS, EXECUTION_NAMESPACE, label_selector=f"batch.kubernetes.io/controller-uid={job_uid}"
    )
    items: list[Object] = listed.get("items") or []
    return items
