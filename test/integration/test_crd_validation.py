"""The real API server enforces the generated CRD: malformed WorkflowExecutions are refused with a
message naming the field, valid ones (unicode, 10 KB values) are stored unchanged, spec is frozen,
and the pydantic models draw the same line as the server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from api.workflowexecution.v1alpha1 import (
    API_VERSION,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
    WorkflowExecutionSpec,
)
from wfe.runtime.envtest import ControlPlane

DIGEST = "sha256:" + "0123456789abcdef" * 4
SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "config/samples/workflowexecution_v1alpha1_workflowexecution.yaml"
)


@pytest.fixture(scope="module")
def api_client(control_plane: ControlPlane) -> Iterator[k8s.ApiClient]:
    api = k8s_config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="module")
def wfes(api_client: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(api_client)


def valid_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "remediationRequestRef": {"name": "rr-1", "namespace": "kubernaut-system"},
        "workflowRef": {
            "workflowId": "restart-deployment",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/workflows/restart:v1",
        },
        "targetResource": "payment/deployment/payment-api",
    }
    return spec | overrides


def body(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": f"wfe-{uuid.uuid4().hex[:8]}"},
        "spec": spec,
    }


def create(wfes: k8s.CustomObjectsApi, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    created = wfes.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body(spec))
    return cast(dict[str, Any], created)


def read(wfes: k8s.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    found = wfes.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return cast(dict[str, Any], found)


def invalid_message(refused: ApiException) -> str:
    """The message of a 422 Invalid answer."""
    assert refused.status == 422, refused.body
    assert refused.body is not None
    return str(json.loads(refused.body)["message"])


def rejection(wfes: k8s.CustomObjectsApi, namespace: str, spec: dict[str, Any]) -> str:
    """The API server's message for refusing a WorkflowExecution with `spec` (fails if accepted)."""
    with pytest.raises(ApiException) as refused:
        create(wfes, namespace, spec)
    return invalid_message(refused.value)


# ------------------------------------------------------------------------------------ accepted


def test_a_valid_workflow_execution_is_stored_unchanged(
    wfes: k8s.CustomObjectsApi, namespace: str
) -> None:
    spec = valid_spec(
        workflowRef=valid_spec()["workflowRef"] | {"containerDigest": DIGEST},
        parameters={"TARGET_NAMESPACE": "payment", "REPLICAS": "3"},
        confidence=0.92,
        rationale="restart picks up the fixed ConfigMap",
        executionConfig={"timeout": "1h30m", "serviceAccountName": "kubernaut-workflow-runner"},
    )
    created = create(wfes, namespace, spec)

    stored = read(wfes, namespace, created["metadata"]["name"])
    assert stored["spec"] == spec


def test_unicode_and_10kb_parameter_values_survive(
    wfes: k8s.CustomObjectsApi, namespace: str
) -> None:
    parameters = {
        "MESSAGE": "héllo wörld — 你好 🚀 ∑",
        "MANIFEST": "apiVersion: v1\nkind: ConfigMap\n" + "x" * 10_240,
    }
    created = create(wfes, namespace, valid_spec(parameters=parameters))

    stored = read(wfes, namespace, created["metadata"]["name"])
    assert stored["spec"]["parameters"] == parameters


def test_the_shipped_sample_is_accepted(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    sample = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    sample["metadata"]["namespace"] = namespace
    wfes.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, sample)
    assert read(wfes, namespace, sample["metadata"]["name"])["spec"] == sample["spec"]


def test_cluster_scoped_targets_are_accepted(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    created = create(wfes, namespace, valid_spec(targetResource="node/worker-node-1"))
    assert created["spec"]["targetResource"] == "node/worker-node-1"


# ------------------------------------------------------------------------------------ rejected


def test_malformed_target_resource_is_refused(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    message = rejection(wfes, namespace, valid_spec(targetResource="Payment/deployment/api/extra"))
    assert "spec.targetResource" in message
    assert "should match" in message


def test_lower_case_parameter_names_are_refused(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    message = rejection(wfes, namespace, valid_spec(parameters={"target_namespace": "payment"}))
    assert "spec.parameters" in message
    assert "parameter names must be UPPER_SNAKE_CASE" in message


@pytest.mark.parametrize("timeout", ["3000000h", "0s", "24h0m1s"])
def test_a_timeout_not_in_0_to_24h_is_refused(
    wfes: k8s.CustomObjectsApi, namespace: str, timeout: str
) -> None:
    # 3000000h matches the pattern but no Go duration holds it: it used to wedge the controller
    message = rejection(wfes, namespace, valid_spec(executionConfig={"timeout": timeout}))
    assert "spec.executionConfig.timeout" in message


def test_a_24h_timeout_is_accepted(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    create(wfes, namespace, valid_spec(executionConfig={"timeout": "24h"}))


@pytest.mark.parametrize(
    "parameters",
    [
        {f"P{i}": "v" for i in range(65)},
        {"BIG": "x" * (32 * 1024 + 1)},
    ],
    ids=["65-keys", "value-over-32KiB"],
)
def test_parameters_beyond_64_keys_or_32_kib_a_value_are_refused(
    wfes: k8s.CustomObjectsApi, namespace: str, parameters: dict[str, str]
) -> None:
    message = rejection(wfes, namespace, valid_spec(parameters=parameters))
    assert "spec.parameters" in message


def test_64_parameters_of_32_kib_each_are_accepted(
    wfes: k8s.CustomObjectsApi, namespace: str
) -> None:
    parameters = {f"P{i}": "é" * (32 * 1024) if i == 0 else "v" for i in range(64)}
    created = create(wfes, namespace, valid_spec(parameters=parameters))
    assert created["spec"]["parameters"] == parameters


def test_confidence_above_one_is_refused(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    message = rejection(wfes, namespace, valid_spec(confidence=2))
    assert "spec.confidence" in message
    assert "less than or equal to 1" in message


def test_missing_container_image_is_refused(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    workflow_ref = {"workflowId": "restart-deployment", "version": "1.0.0"}
    message = rejection(wfes, namespace, valid_spec(workflowRef=workflow_ref))
    assert "spec.workflowRef.containerImage: Required value" in message


def test_bad_container_digest_is_refused(wfes: k8s.CustomObjectsApi, namespace: str) -> None:
    workflow_ref = valid_spec()["workflowRef"] | {"containerDigest": "sha256:abc123"}
    message = rejection(wfes, namespace, valid_spec(workflowRef=workflow_ref))
    assert "spec.workflowRef.containerDigest" in message
    assert "should match" in message


@pytest.mark.parametrize(
    "change",
    [
        {"targetResource": "payment/deployment/other-api"},
        {"parameters": {"REPLICAS": "5"}},
        {"confidence": 0.5},
    ],
    ids=["target", "parameters", "confidence"],
)
def test_spec_cannot_change_after_creation(
    wfes: k8s.CustomObjectsApi, namespace: str, change: dict[str, Any]
) -> None:
    name = create(wfes, namespace, valid_spec())["metadata"]["name"]

    with pytest.raises(ApiException) as refused:
        wfes.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, {"spec": change}
        )
    assert "spec is immutable after creation" in invalid_message(refused.value)


def test_metadata_and_status_stay_writable_while_spec_is_frozen(
    wfes: k8s.CustomObjectsApi, namespace: str
) -> None:
    name = create(wfes, namespace, valid_spec())["metadata"]["name"]

    finalizers = {"metadata": {"finalizers": ["workflowexecution.kubernaut.ai/test"]}}
    wfes.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, finalizers)
    try:
        wfes.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Running"}}
        )
        stored = read(wfes, namespace, name)
        assert stored["metadata"]["finalizers"] == finalizers["metadata"]["finalizers"]
        assert stored["status"]["phase"] == "Running"
    finally:
        no_finalizers = {"metadata": {"finalizers": None}}
        wfes.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, no_finalizers)


# --------------------------------------------------------------- the models agree with the server


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("targetResource", "kube-system/Deployment/coredns"),
        ("targetResource", "db/statefulset/postgres.primary"),
        ("targetResource", "payment/deploy-ment/api"),
        ("targetResource", "payment/deployment/api\n"),
        ("targetResource", "ns/deployment/" + "n" * 254),
        ("containerImage", "localhost:5000/wf:latest"),
        ("containerImage", f"quay.io/kubernaut/wf:v1@{DIGEST}"),
        ("containerImage", "kubernaut/wf:v1"),
        ("containerImage", "quay.io/Kubernaut/wf"),
        ("timeout", "10µs"),
        ("timeout", "1h 30m"),
        ("timeout", "3000000h"),
        ("timeout", "0s"),
        ("timeout", "24h"),
        ("timeout", "1441m"),
        ("parameter", "ÄB"),
        ("parameter", "A_1"),
    ],
)
def test_models_and_api_server_accept_and_refuse_the_same_values(
    wfes: k8s.CustomObjectsApi, namespace: str, field: str, value: str
) -> None:
    spec = valid_spec()
    if field == "containerImage":
        spec["workflowRef"] = spec["workflowRef"] | {"containerImage": value}
    elif field == "timeout":
        spec["executionConfig"] = {"timeout": value}
    elif field == "parameter":
        spec["parameters"] = {value: "v"}
    else:
        spec[field] = value

    try:
        WorkflowExecutionSpec.model_validate(spec)
        model_accepts = True
    except ValidationError:
        model_accepts = False
    try:
        create(wfes, namespace, spec)
        server_accepts = True
    except ApiException as refused:
        assert refused.status == 422, refused.body
        server_accepts = False

    assert model_accepts == server_accepts


# ---------------------------------------------------------------------------- printer columns


def table_row(api_client: k8s.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """The object as `kubectl get -o wide` receives it: the server-side Table row, by column."""
    request = api_client.param_serialize(
        method="GET",
        resource_path=f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        auth_settings=["BearerToken"],
    )
    response = api_client.call_api(*request)
    response.read()
    assert response.data is not None
    table = json.loads(response.data)
    columns = [column["name"] for column in table["columnDefinitions"]]
    return dict(zip(columns, table["rows"][0]["cells"], strict=True))


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (
            {
                "phase": "Failed",
                "duration": "3m30s",
                "failureDetails": {"reason": "OOMKilled", "message": "step apply was OOM killed"},
            },
            "OOMKilled",
        ),
        (
            {
                "phase": "Skipped",
                "skipDetails": {
                    "reason": "ResourceBusy",
                    "message": "another execution runs on this target",
                    "skippedAt": "2025-01-02T03:04:05Z",
                },
            },
            "ResourceBusy",
        ),
        ({"phase": "Running"}, None),
    ],
    ids=["failed", "skipped", "running"],
)
def test_kubectl_get_shows_phase_target_workflow_and_the_failure_or_skip_reason(
    api_client: k8s.ApiClient,
    wfes: k8s.CustomObjectsApi,
    namespace: str,
    status: dict[str, Any],
    reason: str | None,
) -> None:
    name = create(wfes, namespace, valid_spec())["metadata"]["name"]
    wfes.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": status}
    )

    row = table_row(api_client, namespace, name)
    assert row["Phase"] == status["phase"]
    assert row["Target"] == "payment/deployment/payment-api"
    assert row["WorkflowID"] == "restart-deployment"
    assert row["Duration"] == status.get("duration")
    assert row["Reason"] == reason
