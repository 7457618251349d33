"""When the API server refuses the PipelineRun, the workflow fails before anything ran, and the
message says what to fix: RBAC for a permission denial, the quota for a quota rejection (SPEC §7)."""

from __future__ import annotations

from typing import Any

from wfe.controller.conditions import get_condition
from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import Client, Resource

from .harness import RUNNER_SERVICE_ACCOUNT, Cluster, StartController, metric, start_controller
from .rbac import ControllerRbac

RESOURCE_QUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")

# The controller's rights on Tekton in the execution namespace, minus "create" on PipelineRuns.
NO_CREATE: list[dict[str, Any]] = [
    {
        "apiGroups": ["tekton.dev"],
        "resources": ["pipelineruns"],
        "verbs": ["get", "list", "watch", "delete"],
    },
    {"apiGroups": ["tekton.dev"], "resources": ["taskruns"], "verbs": ["get", "list", "watch"]},
]


def errors(category: str, reason: str) -> float:
    return metric("workflowexecution_errors_total", category=category, reason=reason)


def created_condition(status: dict[str, Any]) -> tuple[str, str]:
    found = get_condition(status["conditions"], "PipelineRunCreated")
    assert found is not None
    return found["status"], found["reason"]


def test_a_controller_not_allowed_to_create_pipeline_runs_fails_the_workflow_as_forbidden(
    cluster: Cluster, rbac: ControllerRbac, start: StartController
) -> None:
    rbac.grant(cluster.namespace)
    rbac.grant_rules(cluster.execution_namespace, NO_CREATE)
    rbac.wait_until_allowed(PIPELINE_RUNS, cluster.execution_namespace)
    forbidden_before = errors("permission", "Forbidden")
    start(grant=False)

    cluster.create_wfe("denied")
    status = cluster.wait_for_phase("denied", "Failed")["status"]

    details = status["failureDetails"]
    assert details["reason"] == "Forbidden"
    assert details["wasExecutionFailure"] is False
    assert cluster.execution_namespace in details["message"]
    assert RUNNER_SERVICE_ACCOUNT in details["message"]
    assert created_condition(status) == ("False", "Forbidden")
    assert "startTime" not in status
    assert "Forbidden" in cluster.wait_for_event("denied", "WorkflowFailed")["message"]
    # each refused create counts; a reconcile on a cache that lags the Failed write may try once more
    assert errors("permission", "Forbidden") >= forbidden_before + 1


def test_a_pipeline_run_refused_by_a_resource_quota_fails_as_resource_exhausted(
    cluster: Cluster, start: StartController
) -> None:
    quota = cluster.client.create(
        RESOURCE_QUOTAS,
        {
            "metadata": {"name": "no-more-runs", "namespace": cluster.execution_namespace},
            "spec": {"hard": {"count/pipelineruns.tekton.dev": "0"}},
        },
    )
    # no quota controller runs here: publish the usage it would have computed
    quota["status"] = {
        "hard": {"count/pipelineruns.tekton.dev": "0"},
        "used": {"count/pipelineruns.tekton.dev": "0"},
    }
    cluster.client.update_status(RESOURCE_QUOTAS, quota)
    start()

    cluster.create_wfe("over-quota")
    status = cluster.wait_for_phase("over-quota", "Failed")["status"]

    details = status["failureDetails"]
    assert details["reason"] == "ResourceExhausted"
    assert details["wasExecutionFailure"] is False
    assert "no-more-runs" in details["message"]
    assert "RBAC" not in details["naturalLanguageSummary"]
    assert "ResourceQuota" in details["naturalLanguageSummary"]
    assert created_condition(status) == ("False", "CreationFailed")
    assert cluster.pipeline_runs() == []


def test_a_missing_execution_namespace_is_visible_at_once_then_fails_as_configuration_error(
    admin_client: Client, namespace: str
) -> None:
    # issue 9: the WFE stayed without status, condition or Event while the create was retried
    missing = Cluster(admin_client, namespace, f"{namespace}-missing")
    controller = start_controller(admin_client, missing, create_retry_window_seconds=4)
    try:
        missing.create_wfe("nowhere")

        def creation_failed(status: dict[str, Any]) -> bool:
            found = get_condition(status.get("conditions"), "PipelineRunCreated")
            return found is not None and found["reason"] == "CreationFailed"

        pending = missing.wait_for_status("nowhere", creation_failed, "CreationFailed")["status"]
        assert pending.get("phase", "Pending") == "Pending"
        assert "does not exist" in pending["message"]
        warning = missing.wait_for_event("nowhere", "CreateFailed")
        assert warning["type"] == "Warning"
        assert f"{namespace}-missing" in warning["message"]

        status = missing.wait_for_phase("nowhere", "Failed", timeout=20)["status"]
    finally:
        controller.stop()

    details = status["failureDetails"]
    assert details["reason"] == "ConfigurationError"
    assert details["wasExecutionFailure"] is False
    assert "does not exist" in details["message"]
    assert "--create-retry-window" in details["message"]
    assert created_condition(status) == ("False", "CreationFailed")
    assert "startTime" not in status
    # the retries were one aggregated Event, not one Event each
    assert len([e for e in missing.events_for("nowhere") if e["reason"] == "CreateFailed"]) == 1
