"""The WorkflowExecution models accept what the CRD accepts, refuse what it refuses, and speak the
API server's JSON (camelCase, RFC 3339 times, unset fields omitted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from api.workflowexecution.v1alpha1 import (
    API_VERSION,
    KIND,
    Condition,
    ConditionStatus,
    ConditionType,
    FailureDetails,
    FailureReason,
    Phase,
    SkipDetails,
    SkipReason,
    WorkflowExecution,
    WorkflowExecutionSpec,
    WorkflowExecutionStatus,
)

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "config/samples/workflowexecution_v1alpha1_workflowexecution.yaml"
)
DIGEST = "sha256:" + "0123456789abcdef" * 4


def spec(**overrides: Any) -> dict[str, Any]:
    """A valid spec in API (camelCase) form, with top-level fields replaced by `overrides`."""
    base: dict[str, Any] = {
        "remediationRequestRef": {"name": "rr-1"},
        "workflowRef": {
            "workflowId": "restart-deployment",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/workflows/restart:v1",
        },
        "targetResource": "payment/deployment/payment-api",
    }
    return base | overrides


def workflow_ref(**overrides: Any) -> dict[str, Any]:
    return dict(spec()["workflowRef"]) | overrides


def rejected_field(spec_dict: dict[str, Any]) -> str:
    """The dotted camelCase location of the first validation error."""
    with pytest.raises(ValidationError) as failure:
        WorkflowExecutionSpec.model_validate(spec_dict)
    return ".".join(str(part) for part in failure.value.errors()[0]["loc"])


# ------------------------------------------------------------------------------- targetResource


@pytest.mark.parametrize(
    "target",
    [
        "payment/deployment/payment-api",
        "node/worker-node-1",
        "kube-system/deployments/coredns",
        "db/statefulset/postgres.primary",
        "ns/po/a",
        "a/b",
        ("n" * 63) + "/deployment/x",
        "ns/deployment/" + ".".join(["l" * 63] * 3),
    ],
)
def test_target_resource_accepts_namespaced_and_cluster_scoped_targets(target: str) -> None:
    assert (
        WorkflowExecutionSpec.model_validate(spec(targetResource=target)).target_resource == target
    )


@pytest.mark.parametrize(
    "target",
    [
        "",
        "payment-api",
        "a/b/c/d",
        "Payment/deployment/payment-api",
        "payment/deployment/Payment-API",
        "kube-system/Deployment/coredns",  # kinds are lowercase: one object, one lock key
        "ns/Pod/a",
        "payment/deploy-ment/payment-api",
        "payment/1deployment/payment-api",
        "-payment/deployment/payment-api",
        "payment//payment-api",
        "payment/deployment/",
        "/deployment/payment-api",
        "payment/deployment/payment_api",
        ("n" * 64) + "/deployment/x",
        "node/worker-node-1\n",
        "payment/deployment/payment-api ",
    ],
)
def test_target_resource_rejects_malformed_targets(target: str) -> None:
    assert rejected_field(spec(targetResource=target)) == "targetResource"


# ----------------------------------------------------------------------------------- parameters


def test_parameters_accept_upper_snake_case_names() -> None:
    params = {"A": "1", "TARGET_NAMESPACE": "payment", "X1_2_": "y"}
    assert WorkflowExecutionSpec.model_validate(spec(parameters=params)).parameters == params


@pytest.mark.parametrize("name", ["target", "Target", "_X", "1X", "A-B", "A.B", "", "ÄB"])
def test_parameters_reject_other_names(name: str) -> None:
    assert rejected_field(spec(parameters={name: "v"})).startswith("parameters")


def test_parameter_values_survive_unchanged_including_unicode_and_10kb() -> None:
    values = {
        "UNICODE": "héllo wörld — 你好 🚀",
        "BIG": "x" * 10_240,
        "MULTILINE": "line 1\nline 2\n",
        "EMPTY": "",
    }
    parsed = WorkflowExecutionSpec.model_validate(spec(parameters=values))
    assert parsed.to_dict()["parameters"] == values


# ------------------------------------------------------------------------- confidence, ids, sa


@pytest.mark.parametrize("confidence", [0, 0.5, 1, 1.0])
def test_confidence_accepts_zero_to_one(confidence: float) -> None:
    assert (
        WorkflowExecutionSpec.model_validate(spec(confidence=confidence)).confidence == confidence
    )


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 2])
def test_confidence_rejects_values_outside_zero_to_one(confidence: float) -> None:
    assert rejected_field(spec(confidence=confidence)) == "confidence"


@pytest.mark.parametrize("workflow_id", ["w", "x" * 253])
def test_workflow_id_accepts_1_to_253_characters(workflow_id: str) -> None:
    WorkflowExecutionSpec.model_validate(spec(workflowRef=workflow_ref(workflowId=workflow_id)))


@pytest.mark.parametrize("workflow_id", ["", "x" * 254])
def test_workflow_id_rejects_empty_and_overlong_ids(workflow_id: str) -> None:
    field = rejected_field(spec(workflowRef=workflow_ref(workflowId=workflow_id)))
    assert field == "workflowRef.workflowId"


@pytest.mark.parametrize("account", ["kubernaut-workflow-runner", "runner.v2"])
def test_service_account_name_accepts_dns_subdomains(account: str) -> None:
    parsed = WorkflowExecutionSpec.model_validate(
        spec(executionConfig={"serviceAccountName": account})
    )
    assert parsed.execution_config is not None
    assert parsed.execution_config.service_account_name == account


@pytest.mark.parametrize("account", ["", "Runner", "runner_1", "x" * 254])
def test_service_account_name_rejects_invalid_names(account: str) -> None:
    field = rejected_field(spec(executionConfig={"serviceAccountName": account}))
    assert field == "executionConfig.serviceAccountName"


# -------------------------------------------------------------------------- image and digest


@pytest.mark.parametrize(
    "image",
    [
        "quay.io/kubernaut/workflows/restart:v1",
        "ghcr.io/org/repo",
        "docker.io/library/busybox:1.36",
        "localhost/wf",
        "localhost:5000/wf:latest",
        "registry:5000/team/wf",
        "10.0.0.7:5000/wf",
        "registry.example.com/a/b/c/wf_1:v1.2.3-rc.1",
        f"quay.io/kubernaut/wf@{DIGEST}",
        f"quay.io/kubernaut/wf:v1@{DIGEST}",
    ],
)
def test_container_image_accepts_oci_references_with_a_registry(image: str) -> None:
    WorkflowExecutionSpec.model_validate(spec(workflowRef=workflow_ref(containerImage=image)))


@pytest.mark.parametrize(
    "image",
    [
        "",
        "nginx",
        "nginx:latest",
        "kubernaut/wf:v1",
        "quay.io/Kubernaut/wf",
        "quay.io/kubernaut/wf:",
        "quay.io/kubernaut//wf",
        "quay.io/kubernaut/wf@sha256:abc",
        f"quay.io/kubernaut/wf@md5:{DIGEST[7:]}",
        "https://quay.io/kubernaut/wf",
        "quay.io/kubernaut/wf:v1 ",
        "quay.io/kubernaut/wf:" + "t" * 129,
    ],
)
def test_container_image_rejects_other_strings(image: str) -> None:
    field = rejected_field(spec(workflowRef=workflow_ref(containerImage=image)))
    assert field == "workflowRef.containerImage"


def test_container_digest_accepts_sha256_with_64_lowercase_hex() -> None:
    parsed = WorkflowExecutionSpec.model_validate(
        spec(workflowRef=workflow_ref(containerDigest=DIGEST))
    )
    assert parsed.workflow_ref.container_digest == DIGEST


@pytest.mark.parametrize(
    "digest", ["", DIGEST.upper(), DIGEST[:-1], "sha512:" + "ab" * 64, DIGEST[7:], DIGEST + "0"]
)
def test_container_digest_rejects_anything_else(digest: str) -> None:
    field = rejected_field(spec(workflowRef=workflow_ref(containerDigest=digest)))
    assert field == "workflowRef.containerDigest"


# ------------------------------------------------------------------------------------- timeout


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [("30m", 1800.0), ("1h30m", 5400.0), ("2.5s", 2.5), ("500ms", 0.5), ("10µs", 1e-5)],
)
def test_timeout_accepts_go_durations(timeout: str, seconds: float) -> None:
    parsed = WorkflowExecutionSpec.model_validate(spec(executionConfig={"timeout": timeout}))
    assert parsed.execution_config is not None
    assert parsed.execution_config.timeout_seconds == pytest.approx(seconds)


@pytest.mark.parametrize("timeout", ["", "30", "1d", "-5m", "1h 30m", "0", "PT30M"])
def test_timeout_rejects_other_strings(timeout: str) -> None:
    assert rejected_field(spec(executionConfig={"timeout": timeout})) == "executionConfig.timeout"


# ------------------------------------------------------------------------------ required fields


@pytest.mark.parametrize(
    ("path", "expected_field"),
    [
        (("remediationRequestRef",), "remediationRequestRef"),
        (("remediationRequestRef", "name"), "remediationRequestRef.name"),
        (("workflowRef",), "workflowRef"),
        (("workflowRef", "workflowId"), "workflowRef.workflowId"),
        (("workflowRef", "version"), "workflowRef.version"),
        (("workflowRef", "containerImage"), "workflowRef.containerImage"),
        (("targetResource",), "targetResource"),
    ],
)
def test_required_fields_are_required(path: tuple[str, ...], expected_field: str) -> None:
    incomplete = spec()
    parent = incomplete
    for key in path[:-1]:
        parent[key] = dict(parent[key])
        parent = parent[key]
    del parent[path[-1]]
    assert rejected_field(incomplete) == expected_field


# ------------------------------------------------------------------------------ JSON round trip


def full_object() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": "wfe-1", "namespace": "kubernaut-system", "generation": 1},
        "spec": spec(
            remediationRequestRef={
                "apiVersion": "remediation.kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": "rr-1",
                "namespace": "kubernaut-system",
                "uid": "5f0c4a52-3f1e-4b43-9d39-1b5a8f1f8c11",
            },
            workflowRef=workflow_ref(containerDigest=DIGEST),
            parameters={"TARGET_NAMESPACE": "payment"},
            confidence=0.87,
            rationale="restart fixes the stale config",
            executionConfig={"timeout": "15m", "serviceAccountName": "runner"},
        ),
        "status": {
            "phase": "Failed",
            "observedGeneration": 1,
            "startTime": "2025-01-02T03:04:05Z",
            "completionTime": "2025-01-02T03:07:35Z",
            "duration": "3m30s",
            "outcome": "Failure",
            "message": "Task apply failed with exit code 1.",
            "pipelineRunRef": {"name": "wfe-cf0cc089293b1165", "namespace": "kubernaut-workflows"},
            "pipelineRunStatus": {
                "status": "False",
                "reason": "Failed",
                "message": "Tasks Completed: 2 (Failed: 1)",
                "completedTasks": 2,
                "totalTasks": 3,
            },
            "failureReason": "TaskFailed",
            "failureDetails": {
                "failedTaskIndex": 1,
                "failedTaskName": "apply",
                "failedStepName": "kubectl",
                "exitCode": 1,
                "reason": "TaskFailed",
                "message": "step kubectl exited with 1",
                "failedAt": "2025-01-02T03:07:35Z",
                "executionTimeBeforeFailure": "3m30s",
                "wasExecutionFailure": True,
                "requiresManualReview": True,
                "naturalLanguageSummary": "Task 2 of 3 (apply) failed.",
            },
            "conditions": [
                {
                    "type": "ExecutionComplete",
                    "status": "False",
                    "observedGeneration": 1,
                    "lastTransitionTime": "2025-01-02T03:07:35Z",
                    "reason": "TaskFailed",
                    "message": "step kubectl exited with 1",
                }
            ],
        },
    }


def test_camel_case_json_round_trips_unchanged() -> None:
    obj = full_object()
    assert WorkflowExecution.from_object(obj).to_dict() == obj


def test_skip_details_round_trip_unchanged() -> None:
    skip = {
        "reason": "RecentlyRemediated",
        "message": "restart-deployment ran on this target 2m ago",
        "skippedAt": "2025-01-02T03:04:05Z",
        "recentRemediation": {
            "name": "wfe-0",
            "namespace": "kubernaut-system",
            "workflowId": "restart-deployment",
            "completedAt": "2025-01-02T03:02:05Z",
            "outcome": "Success",
            "targetResource": "payment/deployment/payment-api",
            "cooldownRemaining": "3m0s",
        },
    }
    assert SkipDetails.model_validate(skip).to_dict() == skip


def test_models_are_built_with_python_names_and_serialised_with_api_names() -> None:
    status = WorkflowExecutionStatus(
        phase=Phase.SKIPPED,
        skip_details=SkipDetails(
            reason=SkipReason.RESOURCE_BUSY,
            message="busy",
            skipped_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
    )
    assert status.to_dict() == {
        "phase": "Skipped",
        "skipDetails": {
            "reason": "ResourceBusy",
            "message": "busy",
            "skippedAt": "2025-01-02T03:04:05Z",
        },
    }


def test_unset_fields_are_omitted_but_false_flags_are_kept() -> None:
    details = FailureDetails(reason=FailureReason.CONFIGURATION_ERROR, message="bad spec")
    assert details.to_dict() == {
        "reason": "ConfigurationError",
        "message": "bad spec",
        "wasExecutionFailure": False,
        "requiresManualReview": False,
    }


def test_times_are_written_as_utc_rfc3339_with_second_precision() -> None:
    offset = timezone(timedelta(hours=2))
    condition = Condition(
        type=ConditionType.READY,
        status=ConditionStatus.TRUE,
        last_transition_time=datetime(2025, 1, 2, 5, 4, 5, 987654, tzinfo=offset),
        reason="Completed",
        message="",
    )
    assert condition.to_dict()["lastTransitionTime"] == "2025-01-02T03:04:05Z"


def test_times_without_a_timezone_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Condition(
            type="Ready",
            status=ConditionStatus.TRUE,
            last_transition_time=datetime(2025, 1, 2, 3, 4, 5),
            reason="Completed",
            message="",
        )


@pytest.mark.parametrize("reason", ["", "has space", "1Leading", "Trailing,"])
def test_condition_reasons_follow_metav1_rules(reason: str) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": "2025-01-02T03:04:05Z",
                "reason": reason,
                "message": "",
            }
        )


def test_unknown_fields_from_newer_servers_are_ignored() -> None:
    obj = full_object()
    obj["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    obj["status"]["someFutureField"] = {"x": 1}
    parsed = WorkflowExecution.from_object(obj)
    assert "someFutureField" not in parsed.to_dict()["status"]
    assert parsed.metadata["managedFields"] == [{"manager": "kubectl"}]


def test_terminal_phases() -> None:
    assert {phase for phase in Phase if phase.is_terminal} == {
        Phase.COMPLETED,
        Phase.FAILED,
        Phase.SKIPPED,
    }


def test_the_shipped_sample_is_a_valid_workflow_execution() -> None:
    sample = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    parsed = WorkflowExecution.from_object(sample)
    assert parsed.api_version == API_VERSION
    assert parsed.kind == KIND
