"""What the e2e scenarios do with WorkflowExecutions: create one, wait for its outcome, read what
Tekton and the controller left behind (PipelineRun, TaskRuns, pods, Events)."""

from __future__ import annotations

import uuid
from typing import Any

from support.wait import wait_for

from api.workflowexecution.v1alpha1 import constants as wfe_api
from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, TASK_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import EVENTS, Client, Object, Resource

EXECUTION_NAMESPACE = "kubernaut-workflows"
PODS = Resource("", "v1", "pods", "Pod")
TERMINAL = {"Completed", "Failed", "Skipped"}


def unique_target(namespace: str, kind: str = "deployment") -> str:
    return f"{namespace}/{kind}/app-{uuid.uuid4().hex[:8]}"


def workflow_execution(
    namespace: str,
    name: str,
    image: str,
    *,
    target: str | None = None,
    parameters: dict[str, str] | None = None,
    timeout: str = "5m",
    workflow_id: str = "e2e-remediation",
    digest: str | None = None,
) -> Object:
    workflow_ref = {"workflowId": workflow_id, "version": "1.0.0", "containerImage": image}
    if digest:
        workflow_ref["containerDigest"] = digest
    return {
        "apiVersion": wfe_api.API_VERSION,
        "kind": wfe_api.KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "remediationRequestRef": {
                "apiVersion": "remediation.kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": f"rr-{name}",
                "namespace": namespace,
            },
            "workflowRef": workflow_ref,
            "targetResource": target or unique_target(namespace),
            "parameters": parameters or {},
            "executionConfig": {"timeout": timeout},
        },
    }


def create(admin: Client, wfe: Object) -> Object:
    return admin.create(WORKFLOW_EXECUTIONS, wfe)


def status_of(admin: Client, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = admin.get(WORKFLOW_EXECUTIONS, name, namespace).get("status") or {}
    return status


def wait_for_phase(
    admin: Client, namespace: str, name: str, phases: set[str], timeout: float = 90.0
) -> dict[str, Any]:
    return wait_for(
        lambda: (status := status_of(admin, namespace, name)).get("phase") in phases and status,
        timeout=timeout,
        interval=0.25,
        message=f"WFE {namespace}/{name} to reach {sorted(phases)}",
    )


def wait_terminal(
    admin: Client, namespace: str, name: str, timeout: float = 90.0
) -> dict[str, Any]:
    return wait_for_phase(admin, namespace, name, TERMINAL, timeout)


def pipeline_run_for(admin: Client, wfe: Object) -> Object | None:
    return admin.get_or_none(
        PIPELINE_RUNS, pipeline_run_name(wfe["spec"]["targetResource"]), EXECUTION_NAMESPACE
    )


def task_runs_of(admin: Client, pipeline_run: str) -> list[Object]:
    items: list[Object] = admin.list(
        TASK_RUNS, EXECUTION_NAMESPACE, label_selector=f"tekton.dev/pipelineRun={pipeline_run}"
    )["items"]
    return items


def pods_of(admin: Client, pipeline_run: str) -> list[Object]:
    items: list[Object] = admin.list(
        PODS, EXECUTION_NAMESPACE, label_selector=f"tekton.dev/pipelineRun={pipeline_run}"
    )["items"]
    return items


def event_reasons(admin: Client, namespace: str, name: str) -> dict[str, str]:
    """reason -> type of every Event about the WFE."""
    events = admin.list(EVENTS, namespace, field_selector=f"involvedObject.name={name}")["items"]
    return {e["reason"]: e["type"] for e in events}


def wait_for_events(
    admin: Client, namespace: str, name: str, expected: dict[str, str], timeout: float = 15.0
) -> dict[str, str]:
    """Events are sent asynchronously: wait until every expected reason (with its type) is there."""
    return wait_for(
        lambda: (
            (found := event_reasons(admin, namespace, name)).items() >= expected.items() and found
        ),
        timeout=timeout,
        interval=0.25,
        message=f"Events {expected} about {namespace}/{name}",
    )


def condition(status: dict[str, Any], type_: str) -> tuple[str, str]:
    found = get_condition(status.get("conditions"), type_)
    assert found is not None, f"no {type_} condition in {status.get('conditions')}"
    return found["status"], found["reason"]


def succeeded_condition(obj: Object) -> dict[str, Any]:
    found = get_condition((obj.get("status") or {}).get("conditions"), "Succeeded")
    assert found is not None, f"no Succeeded condition on {obj['metadata']['name']}"
    return found
