"""config/policy on a real API server: the ValidatingAdmissionPolicy admits the WorkflowExecutions
the site allows and refuses each violation with a message naming the rule and the reason.

The shipped policy is applied unchanged; only its binding is narrowed to this module's namespaces
(so other tests' WorkflowExecutions are not judged) and points at this module's parameters.
Requests are dry runs: admission runs in full, nothing is stored.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from support.manifests import CONFIG_DIR
from support.wait import wait_for

from api.workflowexecution.v1alpha1.constants import API_VERSION, KIND
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import NAMESPACES, ApiError, Client, Object, Resource

POLICY_DIR = CONFIG_DIR / "policy"
POLICIES = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicies",
    "ValidatingAdmissionPolicy",
    namespaced=False,
)
BINDINGS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding",
    namespaced=False,
)
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")

DIGEST = "sha256:" + "ab" * 32
APPROVED = "quay.io/kubernaut/workflows/restart:v1.0.0"
RUNNER = "kubernaut-workflow-runner"


def manifest(name: str) -> Object:
    loaded: Object = yaml.safe_load((POLICY_DIR / name).read_text())
    return loaded


class Admission:
    """Namespaces judged by the policy: ``team`` (an ordinary one) and ``operator``."""

    def __init__(self, client: Client, team: str, operator: str) -> None:
        self.client, self.team, self.operator = client, team, operator

    def create(
        self,
        namespace: str,
        *,
        image: str = APPROVED,
        digest: str | None = DIGEST,
        target: str | None = None,
        service_account: str | None = None,
    ) -> str | None:
        """None when admitted; the refusal's message otherwise (dry run: nothing is stored)."""
        workflow_ref: dict[str, Any] = {
            "workflowId": "restart",
            "version": "1",
            "containerImage": image,
        }
        if digest is not None:
            workflow_ref["containerDigest"] = digest
        spec: dict[str, Any] = {
            "remediationRequestRef": {"name": "rr-1"},
            "workflowRef": workflow_ref,
            "targetResource": target or f"{namespace}/deployment/api",
        }
        if service_account is not None:
            spec["executionConfig"] = {"serviceAccountName": service_account}
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": f"wfe-{uuid.uuid4().hex[:8]}", "namespace": namespace},
            "spec": spec,
        }
        try:
            self.client.request(
                "POST",
                WORKFLOW_EXECUTIONS.path(namespace),
                query={"dryRun": "All"},
                body=body,
            )
        except ApiError as err:
            assert err.status in (403, 422), err
            return err.message
        return None


@pytest.fixture(scope="module")
def admission(admin_client: Client) -> Iterator[Admission]:
    suffix = uuid.uuid4().hex[:8]
    label = {"wfe-admission-test": suffix}
    team, operator = f"team-{suffix}", f"operator-{suffix}"
    for name in (team, operator):
        admin_client.create(
            NAMESPACES,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": label}},
        )
    params = manifest("params.yaml")
    params["metadata"]["namespace"] = operator
    params["data"] = {
        "allowedBundleRegistries": "quay.io/kubernaut/workflows, registry.example.com:5000/",
        "requireContainerDigest": "true",
        "operatorNamespaces": operator,
        "allowedServiceAccounts": f"{RUNNER},payments-runner",
    }
    admin_client.create(CONFIG_MAPS, params)
    policy = admin_client.create(POLICIES, manifest("policy.yaml"))
    binding = manifest("binding.yaml")
    binding["spec"]["paramRef"]["namespace"] = operator
    binding["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": label}}
    binding = admin_client.create(BINDINGS, binding)
    judged = Admission(admin_client, team, operator)
    # the API server loads policies through an informer: wait until it enforces this one
    wait_for(
        lambda: judged.create(team, image="evil.example.com/x:1") is not None,
        timeout=30,
        message="the admission policy to be enforced",
    )
    yield judged
    admin_client.delete(BINDINGS, binding["metadata"]["name"])
    admin_client.delete(POLICIES, policy["metadata"]["name"])
    for name in (team, operator):
        admin_client.delete(NAMESPACES, name)


def test_an_approved_workflow_on_its_own_namespace_is_admitted(admission: Admission) -> None:
    # also proves every expression compiles: with failurePolicy Fail a broken one refuses all
    assert admission.create(admission.team) is None
    assert admission.create(admission.team, service_account="payments-runner") is None
    assert admission.create(admission.team, image=f"registry.example.com:5000/w/x@{DIGEST}") is None


@pytest.mark.parametrize(
    "image",
    [
        "evil.example.com/kubernaut/workflows/restart:v1",
        # a look-alike host and a look-alike path are not the allowed prefix
        "quay.io.evil.example.com/kubernaut/workflows/restart:v1",
        "quay.io/kubernaut/workflows-evil/restart:v1",
    ],
)
def test_a_bundle_from_another_registry_is_refused(admission: Admission, image: str) -> None:
    refusal = admission.create(admission.team, image=image)
    assert refusal is not None
    assert "rule allowed-bundle-registries" in refusal and image in refusal
    assert "quay.io/kubernaut/workflows/" in refusal  # says what is allowed


def test_a_workflow_without_a_digest_is_refused(admission: Admission) -> None:
    refusal = admission.create(admission.team, digest=None)
    assert refusal is not None
    assert "rule required-container-digest" in refusal and "tag is mutable" in refusal


@pytest.mark.parametrize("target", ["other/deployment/api", "node/worker-1"])
def test_a_target_outside_the_workflow_executions_namespace_is_refused(
    admission: Admission, target: str
) -> None:
    refusal = admission.create(admission.team, target=target)
    assert refusal is not None
    assert "rule target-namespace" in refusal and target in refusal
    assert admission.operator in refusal  # says who may


@pytest.mark.parametrize("target", ["other/deployment/api", "node/worker-1"])
def test_an_operator_namespace_may_target_any_namespace_and_cluster_objects(
    admission: Admission, target: str
) -> None:
    assert admission.create(admission.operator, target=target) is None


def test_a_runner_service_account_not_allowed_is_refused(admission: Admission) -> None:
    refusal = admission.create(admission.team, service_account="cluster-admin-sa")
    assert refusal is not None
    assert "rule allowed-service-accounts" in refusal and "cluster-admin-sa" in refusal


def test_without_its_parameters_the_policy_refuses_everything(
    admission: Admission, admin_client: Client
) -> None:
    params = admin_client.get(CONFIG_MAPS, "workflowexecution-admission", admission.operator)
    admin_client.delete(CONFIG_MAPS, "workflowexecution-admission", admission.operator)
    try:
        wait_for(
            lambda: admission.create(admission.team) is not None,
            timeout=30,
            message="refusal without parameters",
        )
    finally:
        restored = copy.deepcopy(params)
        restored["metadata"] = {"name": params["metadata"]["name"], "namespace": admission.operator}
        admin_client.create(CONFIG_MAPS, restored)
    wait_for(
        lambda: admission.create(admission.team) is None,
        timeout=30,
        message="admission once the parameters are back",
    )
