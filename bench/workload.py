"""The objects the benchmark creates: WorkflowExecutions for given targets, and tiny ConfigMaps."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import API_VERSION, KIND
from wfe.runtime.client import Resource

Object = dict[str, Any]

CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")

WORKFLOW_ID = "restart-deployment"


def target(scenario: str, index: int) -> str:
    """A ``namespace/kind/name`` target; each scenario has its own, so cooldowns never cross over."""
    return f"bench-{scenario}/deployment/app-{index}"


def workflow_execution(name: str, namespace: str, target_resource: str) -> Object:
    """A WorkflowExecution as the RemediationOrchestrator would create it."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "remediationRequestRef": {
                "apiVersion": "remediation.kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": f"rr-{name}",
                "namespace": namespace,
            },
            "workflowRef": {
                "workflowId": WORKFLOW_ID,
                "version": "1.0.0",
                "containerImage": "quay.io/kubernaut/workflows/restart-deployment:v1.0.0",
            },
            "targetResource": target_resource,
            "parameters": {"TARGET_DEPLOYMENT": target_resource.rsplit("/", 1)[-1]},
            "confidence": 0.9,
            "rationale": "benchmark load",
        },
    }


def config_map(name: str, namespace: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"key": "value"},
    }
