"""End to end on KIND with real Tekton: the deployed controller starts with its least-privilege RBAC,
turns a WorkflowExecution into a PipelineRun from an OCI bundle, and mirrors the outcome.

The successful run needs a pullable Tekton bundle of test/e2e/kind/bundle/pipeline.yaml; no registry
exists on the test machines, so it is provided from outside through ``WFE_E2E_BUNDLE`` (see
docs/deployment.md, "End-to-end tests").
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import LEASES, Client, Object, Resource

from ..workflow import workflow_execution

pytestmark = pytest.mark.timeout(1800)  # the first test pays for cluster, Tekton and image

CONTROLLER_NAMESPACE = "kubernaut-system"
CONTROLLER = "workflowexecution-controller"
EXECUTION_NAMESPACE = "kubernaut-workflows"
LEADER_LEASE = "workflowexecution.kubernaut.ai"
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
PODS = Resource("", "v1", "pods", "Pod")
BUNDLE = os.environ.get("WFE_E2E_BUNDLE", "")
TERMINAL_PHASES = {"Completed", "Failed", "Skipped"}


def run_to_the_end(client: Client, wfe: Object, timeout: float) -> dict[str, Any]:
    """Creates the WFE and returns its status once the phase is terminal."""
    client.create(WORKFLOW_EXECUTIONS, wfe)
    meta = wfe["metadata"]

    def terminal_status() -> dict[str, Any] | None:
        status: dict[str, Any] = client.get(
            WORKFLOW_EXECUTIONS, meta["name"], meta["namespace"]
        ).get("status", {})
        return status if status.get("phase") in TERMINAL_PHASES else None

    return wait_for(
        terminal_status, timeout=timeout, interval=1.0, message=f"WFE {meta['name']} to finish"
    )


def test_controller_starts_and_leads_with_its_own_rbac(client: Client) -> None:
    deployment = client.get(DEPLOYMENTS, CONTROLLER, CONTROLLER_NAMESPACE)
    assert deployment["status"].get("readyReplicas") == 1
    pods = client.list(
        PODS, CONTROLLER_NAMESPACE, label_selector=f"app.kubernetes.io/name={CONTROLLER}"
    )["items"]
    # A missing permission or a failed Tekton check would have crash-looped the container.
    restarts = [s["restartCount"] for pod in pods for s in pod["status"]["containerStatuses"]]
    assert restarts == [0]
    holder = wait_for(
        lambda: client.get(LEASES, LEADER_LEASE, CONTROLLER_NAMESPACE)["spec"].get(
            "holderIdentity"
        ),
        timeout=60,
        interval=1.0,
        message="the controller to take the leader lease",
    )
    assert holder.startswith(pods[0]["metadata"]["name"])


def test_unresolvable_bundle_fails_the_execution_with_details(
    client: Client, namespace: str
) -> None:
    wfe = workflow_execution(
        namespace, "missing-bundle", "registry.invalid/kubernaut/no-such-workflow:v1"
    )
    status = run_to_the_end(client, wfe, timeout=300)
    assert status["phase"] == "Failed"
    assert status["outcome"] == "Failure"
    assert status["failureDetails"]["message"]
    assert status["pipelineRunRef"] == {
        "name": pipeline_run_name(wfe["spec"]["targetResource"]),
        "namespace": EXECUTION_NAMESPACE,
    }


@pytest.mark.skipif(
    not BUNDLE,
    reason="WFE_E2E_BUNDLE is unset: push test/e2e/kind/bundle/pipeline.yaml with "
    "`hack/e2e-setup.sh bundle` and set WFE_E2E_BUNDLE to its reference",
)
def test_workflow_from_its_bundle_runs_to_completed(client: Client, namespace: str) -> None:
    wfe = workflow_execution(namespace, "echo", BUNDLE, parameters={"MESSAGE": "hello from e2e"})
    status = run_to_the_end(client, wfe, timeout=600)
    assert status["phase"] == "Completed", status.get("message")
    assert status["outcome"] == "Success"
    assert status["pipelineRunStatus"]["status"] == "True"
    pipeline_run = client.get(PIPELINE_RUNS, status["pipelineRunRef"]["name"], EXECUTION_NAMESPACE)
    assert pipeline_run["spec"]["params"] == [{"name": "MESSAGE", "value": "hello from e2e"}]
