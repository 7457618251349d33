"""Applies the controller's RBAC from config/rbac to a test API server, so tests that run the
controller as its ServiceAccount identity get exactly the permissions a real deployment has.

config/rbac grants Tekton access in the execution namespace ``kubernaut-workflows`` only (which
config/runner creates) and leader election on one named Lease: ``EXECUTION_NAMESPACE`` and
``CONTROLLER_LEASE`` are read from those manifests, so tests use what a deployment uses."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import yaml

from support.manifests import CONFIG_DIR, kustomization_manifests
from support.wait import wait_for
from wfe.runtime.client import NAMESPACES, Client, Object, Resource, is_already_exists

CONTROLLER_RBAC_DIR = CONFIG_DIR / "rbac"
CONTROLLER_NAMESPACE_MANIFEST = CONFIG_DIR / "manager" / "namespace.yaml"
EXECUTION_NAMESPACE_MANIFEST = CONFIG_DIR / "runner" / "namespace.yaml"


def _load(path: Path) -> Object:
    loaded: Object = yaml.safe_load(path.read_text())
    return loaded


EXECUTION_ROLE: Object = _load(CONTROLLER_RBAC_DIR / "execution_role.yaml")
EXECUTION_NAMESPACE: str = EXECUTION_ROLE["metadata"]["namespace"]
CONTROLLER_LEASE: str = next(
    name
    for rule in _load(CONTROLLER_RBAC_DIR / "leader_election_role.yaml")["rules"]
    for name in rule.get("resourceNames", ())
)

_RBAC_GROUP = "rbac.authorization.k8s.io"
RESOURCES_BY_KIND: dict[str, Resource] = {
    "Namespace": NAMESPACES,
    "ServiceAccount": Resource("", "v1", "serviceaccounts", "ServiceAccount"),
    "ClusterRole": Resource(_RBAC_GROUP, "v1", "clusterroles", "ClusterRole", namespaced=False),
    "ClusterRoleBinding": Resource(
        _RBAC_GROUP, "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False
    ),
    "Role": Resource(_RBAC_GROUP, "v1", "roles", "Role"),
    "RoleBinding": Resource(_RBAC_GROUP, "v1", "rolebindings", "RoleBinding"),
}
SUBJECT_ACCESS_REVIEWS = Resource(
    "authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False
)


def apply(admin_client: Client, manifest: Object) -> Object:
    """Creates ``manifest``, or replaces the object when it already exists (idempotent)."""
    resource = RESOURCES_BY_KIND.get(manifest["kind"])
    if resource is None:
        raise ValueError(f"no resource known for kind {manifest['kind']!r}")
    try:
        return admin_client.create(resource, manifest)
    except Exception as err:
        if not is_already_exists(err):
            raise
    meta = manifest["metadata"]
    current = admin_client.get(resource, meta["name"], meta.get("namespace"))
    replacement = {
        **manifest,
        "metadata": {**meta, "resourceVersion": current["metadata"]["resourceVersion"]},
    }
    return admin_client.update(resource, replacement)


def apply_controller_rbac(admin_client: Client, timeout: float = 10.0) -> None:
    """Creates kubernaut-system, kubernaut-workflows and everything in config/rbac (the controller's
    ServiceAccount, roles and bindings), then waits until the API server's authorizer honours each
    binding."""
    manifests = [
        *yaml.safe_load_all(CONTROLLER_NAMESPACE_MANIFEST.read_text()),
        *yaml.safe_load_all(EXECUTION_NAMESPACE_MANIFEST.read_text()),
        *kustomization_manifests(CONTROLLER_RBAC_DIR),
    ]
    for manifest in manifests:
        apply(admin_client, manifest)
    account = next(m for m in manifests if m["kind"] == "ServiceAccount")["metadata"]
    # The RBAC authorizer learns of new bindings through its own watch: wait for one permission of
    # each binding rather than let the first request of a test race it.
    probes = [
        {
            "verb": "watch",
            "group": "workflowexecution.kubernaut.ai",
            "resource": "workflowexecutions",
        },
        {
            "verb": "update",
            "group": "coordination.k8s.io",
            "resource": "leases",
            "namespace": account["namespace"],
            "name": CONTROLLER_LEASE,
        },
        {
            "verb": "create",
            "group": "tekton.dev",
            "resource": "pipelineruns",
            "namespace": EXECUTION_NAMESPACE,
        },
        {"verb": "create", "group": "authentication.k8s.io", "resource": "tokenreviews"},
    ]
    for attributes in probes:
        wait_for(
            partial(service_account_may, admin_client, account, attributes),
            timeout=timeout,
            message=f"RBAC to grant {attributes} to {account['name']}",
        )


def service_account_may(
    admin_client: Client, account: dict[str, Any], resource_attributes: dict[str, str]
) -> bool:
    """Asks the API server (SubjectAccessReview) whether the ServiceAccount may do this."""
    namespace, name = account["namespace"], account["name"]
    review = admin_client.create(
        SUBJECT_ACCESS_REVIEWS,
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": f"system:serviceaccount:{namespace}:{name}",
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{namespace}",
                    "system:authenticated",
                ],
                "resourceAttributes": resource_attributes,
            },
        },
    )
    return bool(review.get("status", {}).get("allowed"))


LEADER_ELECTION_ROLE: Object = _load(CONTROLLER_RBAC_DIR / "leader_election_role.yaml")


def grant_controller_elsewhere(
    admin_client: Client, execution_namespace: str, lease_names: tuple[str, ...] = ()
) -> None:
    """What a deployment does when it changes --execution-namespace or --leader-election-id: the
    same config/rbac Roles, moved to ``execution_namespace`` and renamed to ``lease_names``, bound
    to the controller's ServiceAccount. Nothing wider than config/rbac is granted."""
    account = _load(CONTROLLER_RBAC_DIR / "service_account.yaml")["metadata"]
    subject = {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    roles = [_moved(EXECUTION_ROLE, namespace=execution_namespace)]
    if lease_names:
        leases = _moved(LEADER_ELECTION_ROLE, name_suffix="-" + "-".join(lease_names)[:40])
        for rule in leases["rules"]:
            if "resourceNames" in rule:
                rule["resourceNames"] = list(lease_names)
        roles.append(leases)
    for role in roles:
        apply(admin_client, role)
        meta = role["metadata"]
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "roleRef": {"apiGroup": _RBAC_GROUP, "kind": "Role", "name": meta["name"]},
            "subjects": [subject],
        }
        apply(admin_client, binding)
    wait_for(
        partial(
            service_account_may,
            admin_client,
            account,
            {
                "verb": "create",
                "group": "tekton.dev",
                "resource": "pipelineruns",
                "namespace": execution_namespace,
            },
        ),
        timeout=10,
        message=f"RBAC to grant PipelineRuns in {execution_namespace}",
    )


def _moved(role: Object, namespace: str | None = None, name_suffix: str = "") -> Object:
    moved: Object = yaml.safe_load(yaml.safe_dump(role))
    moved["metadata"]["name"] += name_suffix
    if namespace:
        moved["metadata"]["namespace"] = namespace
    return moved
