"""The objects the benchmark writes: WorkflowExecutions for given targets (as the
RemediationOrchestrator creates them) and Tekton's verdict on a PipelineRun."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import API_VERSION, KIND

Object = dict[str, Any]

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


def pipeline_run_succeeded_status(now: str) -> Object:
    """Tekton's last write on a PipelineRun, sent as one merge patch of the status subresource
    (needs no prior read, cannot conflict): ``Succeeded=True``, start and completion, one task."""
    return {
        "startTime": now,
        "completionTime": now,
        "pipelineSpec": {"tasks": [{"name": "run"}]},
        "conditions": [
            {
                "type": "Succeeded",
                "status": "True",
                "reason": "Succeeded",
                "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                "lastTransitionTime": now,
            }
        ],
    }
