"""The PipelineRun the controller creates (SPEC §4), and attributing one back to its owner."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from wfe.controller.pipelinerun import (
    ExecutionSettings,
    Owner,
    build_pipeline_run,
    bundle_reference,
    owner_of,
)

SETTINGS = ExecutionSettings(
    execution_namespace="kubernaut-workflows",
    default_service_account="kubernaut-workflow-runner",
    default_timeout_seconds=30 * 60,
)
IMAGE = "quay.io/kubernaut/workflows/restart-pod:v1.2.0"
DIGEST = "sha256:" + "ab" * 32


def make_wfe(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "remediationRequestRef": {"name": "rr-7f3a", "namespace": "kubernaut-system"},
        "workflowRef": {"workflowId": "restart-pod", "version": "1.2.0", "containerImage": IMAGE},
        "targetResource": "payment/deployment/payment-api",
        "parameters": {"NAMESPACE": "payment", "DEPLOYMENT": "payment-api"},
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "workflowexecution.kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "name": "wfe-restart-payment",
            "namespace": "kubernaut-system",
            "uid": "0b9f6f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "generation": 1,
        },
        "spec": spec,
    }


def test_pipeline_run_with_controller_defaults() -> None:
    assert build_pipeline_run(make_wfe(), SETTINGS) == {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": "wfe-cf0cc089293b1165",
            "namespace": "kubernaut-workflows",
            "labels": {
                "kubernaut.ai/workflow-execution": "wfe-restart-payment",
                "kubernaut.ai/source-namespace": "kubernaut-system",
                "kubernaut.ai/workflow-id": "restart-pod",
                "app.kubernetes.io/managed-by": "workflowexecution-controller",
            },
            "annotations": {
                "kubernaut.ai/target-resource": "payment/deployment/payment-api",
                "kubernaut.ai/workflow-execution-uid": "0b9f6f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            },
        },
        "spec": {
            "pipelineRef": {
                "resolver": "bundles",
                "params": [
                    {"name": "bundle", "value": IMAGE},
                    {"name": "name", "value": "workflow"},
                    {"name": "kind", "value": "pipeline"},
                ],
            },
            "params": [
                {"name": "DEPLOYMENT", "value": "payment-api"},
                {"name": "NAMESPACE", "value": "payment"},
            ],
            "timeouts": {"pipeline": "30m0s"},
            "taskRunTemplate": {
                "serviceAccountName": "kubernaut-workflow-runner",
                "podTemplate": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    }
                },
            },
        },
    }


def test_spec_execution_config_overrides_the_defaults() -> None:
    wfe = make_wfe(executionConfig={"timeout": "1h30m", "serviceAccountName": "payment-fixer"})
    spec = build_pipeline_run(wfe, SETTINGS)["spec"]
    assert spec["timeouts"] == {"pipeline": "1h30m"}
    assert spec["taskRunTemplate"]["serviceAccountName"] == "payment-fixer"


def test_default_timeout_is_written_as_a_go_duration() -> None:
    settings = ExecutionSettings("ns", "sa", default_timeout_seconds=3600 + 90)
    assert build_pipeline_run(make_wfe(), settings)["spec"]["timeouts"] == {"pipeline": "1h1m30s"}


def test_params_are_sorted_by_name() -> None:
    wfe = make_wfe(parameters={"ZETA": "z", "ALPHA": "a", "MIDDLE_1": "m", "B": "b"})
    params = build_pipeline_run(wfe, SETTINGS)["spec"]["params"]
    assert [param["name"] for param in params] == ["ALPHA", "B", "MIDDLE_1", "ZETA"]


def test_parameter_values_survive_unchanged_through_json() -> None:
    big = "x" * 10_240
    tricky = {
        "UNICODE": "héllo wörld — 日本語 🚀",
        "BIG": big,
        "JSON_LIKE": '{"a": [1, 2], "b": null}',
        "EMPTY": "",
        "MULTILINE": "line 1\nline 2\ttabbed",
        "NUMERIC": "007",
    }
    pipeline_run = build_pipeline_run(make_wfe(parameters=tricky), SETTINGS)
    sent = json.loads(json.dumps(pipeline_run))
    assert {p["name"]: p["value"] for p in sent["spec"]["params"]} == tricky
    assert all(isinstance(p["value"], str) for p in sent["spec"]["params"])


def test_no_parameters_means_no_params_field() -> None:
    assert "params" not in build_pipeline_run(make_wfe(parameters=None), SETTINGS)["spec"]
    assert "params" not in build_pipeline_run(make_wfe(parameters={}), SETTINGS)["spec"]


def test_a_digest_pins_the_bundle_the_resolver_pulls_and_is_annotated() -> None:
    without = build_pipeline_run(make_wfe(), SETTINGS)
    assert "kubernaut.ai/container-digest" not in without["metadata"]["annotations"]
    assert without["spec"]["pipelineRef"]["params"][0] == {"name": "bundle", "value": IMAGE}

    wfe = make_wfe()
    wfe["spec"]["workflowRef"]["containerDigest"] = DIGEST
    pipeline_run = build_pipeline_run(wfe, SETTINGS)
    assert pipeline_run["metadata"]["annotations"]["kubernaut.ai/container-digest"] == DIGEST
    assert pipeline_run["spec"]["pipelineRef"]["params"][0] == {
        "name": "bundle",
        "value": f"quay.io/kubernaut/workflows/restart-pod@{DIGEST}",
    }


@pytest.mark.parametrize(
    ("image", "digest", "bundle"),
    [
        ("quay.io/w/restart:v1", None, "quay.io/w/restart:v1"),
        ("quay.io/w/restart:v1", DIGEST, f"quay.io/w/restart@{DIGEST}"),
        ("quay.io/w/restart", DIGEST, f"quay.io/w/restart@{DIGEST}"),
        # a registry port is not a tag
        ("localhost:5000/w/restart", DIGEST, f"localhost:5000/w/restart@{DIGEST}"),
        ("localhost:5000/w/restart:v1", DIGEST, f"localhost:5000/w/restart@{DIGEST}"),
        # already pinned to the same digest
        (f"quay.io/w/restart:v1@{DIGEST}", DIGEST, f"quay.io/w/restart@{DIGEST}"),
        (f"quay.io/w/restart@{DIGEST}", None, f"quay.io/w/restart@{DIGEST}"),
    ],
)
def test_bundle_reference(image: str, digest: str | None, bundle: str) -> None:
    assert bundle_reference(image, digest) == bundle


def test_an_image_pinned_to_another_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="pinned to sha256:cd"):
        bundle_reference(f"quay.io/w/restart@sha256:{'cd' * 32}", DIGEST)


def test_workflow_id_label_is_sanitised_and_target_annotation_is_raw() -> None:
    wfe = make_wfe(targetResource="node/worker-node-1")
    wfe["spec"]["workflowRef"]["workflowId"] = "Drain Node/v2 " + "x" * 80
    metadata = build_pipeline_run(wfe, SETTINGS)["metadata"]
    label = metadata["labels"]["kubernaut.ai/workflow-id"]
    assert len(label) <= 63 and " " not in label and "/" not in label
    assert metadata["name"] == "wfe-ac45b7d6911e97a5"
    assert metadata["annotations"]["kubernaut.ai/target-resource"] == "node/worker-node-1"


def test_never_sets_owner_references() -> None:
    assert "ownerReferences" not in build_pipeline_run(make_wfe(), SETTINGS)["metadata"]


def test_building_does_not_modify_the_workflow_execution() -> None:
    wfe = make_wfe(parameters={"B": "2", "A": "1"})
    before = copy.deepcopy(wfe)
    build_pipeline_run(wfe, SETTINGS)
    assert wfe == before


def test_name_too_long_for_a_label_is_refused() -> None:
    wfe = make_wfe()
    wfe["metadata"]["name"] = "w" * 64
    with pytest.raises(ValueError, match="63 characters"):
        build_pipeline_run(wfe, SETTINGS)


def test_owner_of_a_built_pipeline_run_is_its_workflow_execution() -> None:
    wfe = make_wfe()
    assert owner_of(build_pipeline_run(wfe, SETTINGS)) == Owner.of(wfe)
    assert Owner.of(wfe) == Owner(
        namespace="kubernaut-system",
        name="wfe-restart-payment",
        uid="0b9f6f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    )


def test_a_recreated_workflow_execution_with_the_same_name_is_not_the_owner() -> None:
    pipeline_run = build_pipeline_run(make_wfe(), SETTINGS)
    successor = make_wfe()
    successor["metadata"]["uid"] = "another-uid"
    assert owner_of(pipeline_run) != Owner.of(successor)


@pytest.mark.parametrize(
    "strip",
    [
        ("labels", "kubernaut.ai/workflow-execution"),
        ("labels", "kubernaut.ai/source-namespace"),
        ("annotations", "kubernaut.ai/workflow-execution-uid"),
    ],
)
def test_pipeline_run_missing_an_owner_mark_is_debris(strip: tuple[str, str]) -> None:
    pipeline_run = build_pipeline_run(make_wfe(), SETTINGS)
    section, key = strip
    del pipeline_run["metadata"][section][key]
    assert owner_of(pipeline_run) is None


def test_unlabelled_pipeline_run_is_debris() -> None:
    assert owner_of({"metadata": {"name": "wfe-cf0cc089293b1165"}}) is None
    assert owner_of({}) is None
