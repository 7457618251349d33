"""The deployment manifests under config/ keep SPEC §10/§11: least-privilege RBAC, a hardened
Deployment whose flags, ports and probes line up, and kustomizations that build."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.manifests import CONFIG_DIR, kustomization_manifests

from wfe import config as flags

Object = dict[str, Any]
Grants = dict[tuple[str, str], set[str]]

CONTROLLER_NAMESPACE = "kubernaut-system"
CONTROLLER_ACCOUNT = "workflowexecution-controller"
DEFAULTS = flags.parse([], environ={})
RBAC_KINDS = ("Role", "ClusterRole")

MANIFESTS: list[Object] = [
    doc
    for directory in ("rbac", "runner", "manager", "prometheus", "policy", "network-policy")
    for doc in kustomization_manifests(CONFIG_DIR / directory)
]
ROLES = [doc for doc in MANIFESTS if doc["kind"] in RBAC_KINDS]

# SPEC §11, resource by resource: cluster-wide only what lives in any namespace (WFEs, their Events),
# Tekton only in the execution namespace (creating a PipelineRun is creating pods).
CONTROLLER_GRANTS: Grants = {
    ("workflowexecution.kubernaut.ai", "workflowexecutions"): {
        "get",
        "list",
        "watch",
        "update",
        "patch",
    },
    ("workflowexecution.kubernaut.ai", "workflowexecutions/status"): {"get", "update", "patch"},
    ("workflowexecution.kubernaut.ai", "workflowexecutions/finalizers"): {"update"},
    ("", "events"): {"create", "patch"},
}
EXECUTION_GRANTS: Grants = {
    ("tekton.dev", "pipelineruns"): {"create", "get", "list", "watch", "delete"},
    ("tekton.dev", "taskruns"): {"get", "list", "watch"},
    # the Job engine: the Job is the lock; its pod is read (never watched) to explain a failure
    ("batch", "jobs"): {"create", "get", "list", "watch", "delete"},
    ("", "pods"): {"get", "list"},
}
METRICS_AUTH_GRANTS: Grants = {
    ("authentication.k8s.io", "tokenreviews"): {"create"},
    ("authorization.k8s.io", "subjectaccessreviews"): {"create"},
}
LEADER_ELECTION_GRANTS: Grants = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}
RUNNER_GRANTS: Grants = {
    **{
        ("apps", workload): {"get", "list", "patch", "update"}
        for workload in ("deployments", "statefulsets", "daemonsets", "replicasets")
    },
    ("", "pods"): {"get", "list", "delete"},
    ("", "nodes"): {"get", "list", "patch"},
    ("", "events"): {"create", "patch"},
}


def find(kind: str, name: str) -> Object:
    matches = [d for d in MANIFESTS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def grants(role: Object) -> Grants:
    granted: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in role["rules"]:
        for group in rule.get("apiGroups", []):
            for resource in rule["resources"]:
                granted[group, resource] |= set(rule["verbs"])
    return dict(granted)


def manager_container() -> Object:
    containers = find("Deployment", CONTROLLER_ACCOUNT)["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "manager")


def container_port(container: Object, name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def bind_port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


# --- RBAC --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_no_rule_uses_a_wildcard(role: Object) -> None:
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert not any("*" in value for value in rule.get(field, [])), (field, rule)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_no_role_reaches_secrets(role: Object) -> None:
    reached = {resource.split("/")[0] for _, resource in grants(role)}
    assert "secrets" not in reached


def test_controller_cluster_role_grants_exactly_spec_permissions() -> None:
    assert grants(find("ClusterRole", CONTROLLER_ACCOUNT)) == CONTROLLER_GRANTS


def test_tekton_is_granted_in_the_default_execution_namespace_only() -> None:
    role = find("Role", f"{CONTROLLER_ACCOUNT}-execution")
    assert role["metadata"]["namespace"] == DEFAULTS.execution_namespace
    assert grants(role) == EXECUTION_GRANTS
    binding = find("RoleBinding", f"{CONTROLLER_ACCOUNT}-execution")
    assert binding["metadata"]["namespace"] == DEFAULTS.execution_namespace
    cluster_wide = [
        role
        for role in ROLES
        if role["kind"] == "ClusterRole" and ("tekton.dev" in str(role) or "jobs" in str(role))
    ]
    assert cluster_wide == []


def test_leader_election_is_a_namespaced_role_for_its_own_lease_only() -> None:
    role = find("Role", f"{CONTROLLER_ACCOUNT}-leader-election")
    assert role["metadata"]["namespace"] == CONTROLLER_NAMESPACE
    assert grants(role) == LEADER_ELECTION_GRANTS
    by_verbs = {tuple(rule["verbs"]): rule.get("resourceNames") for rule in role["rules"]}
    # create cannot be limited by name; everything else is limited to the default Lease
    assert by_verbs == {("get", "update"): [DEFAULTS.leader_election_id], ("create",): None}


def test_metrics_are_authorized_through_token_and_access_reviews() -> None:
    assert grants(find("ClusterRole", f"{CONTROLLER_ACCOUNT}-metrics-auth")) == METRICS_AUTH_GRANTS
    reader = find("ClusterRole", f"{CONTROLLER_ACCOUNT}-metrics-reader")
    assert reader["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]


def test_runner_cluster_role_grants_exactly_the_remediation_permissions() -> None:
    assert grants(find("ClusterRole", DEFAULTS.service_account)) == RUNNER_GRANTS


@pytest.mark.parametrize(
    ("kind", "name", "role_kind", "account_namespace", "account"),
    [
        (
            "ClusterRoleBinding",
            CONTROLLER_ACCOUNT,
            "ClusterRole",
            CONTROLLER_NAMESPACE,
            CONTROLLER_ACCOUNT,
        ),
        (
            "RoleBinding",
            f"{CONTROLLER_ACCOUNT}-leader-election",
            "Role",
            CONTROLLER_NAMESPACE,
            CONTROLLER_ACCOUNT,
        ),
        (
            "RoleBinding",
            f"{CONTROLLER_ACCOUNT}-execution",
            "Role",
            CONTROLLER_NAMESPACE,
            CONTROLLER_ACCOUNT,
        ),
        (
            "ClusterRoleBinding",
            f"{CONTROLLER_ACCOUNT}-metrics-auth",
            "ClusterRole",
            CONTROLLER_NAMESPACE,
            CONTROLLER_ACCOUNT,
        ),
        (
            "ClusterRoleBinding",
            DEFAULTS.service_account,
            "ClusterRole",
            DEFAULTS.execution_namespace,
            DEFAULTS.service_account,
        ),
    ],
)
def test_binding_gives_its_role_to_the_right_service_account(
    kind: str, name: str, role_kind: str, account_namespace: str, account: str
) -> None:
    binding = find(kind, name)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role_kind,
        "name": name,
    }
    find(role_kind, name)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": account_namespace}
    ]
    assert find("ServiceAccount", account)["metadata"]["namespace"] == account_namespace


def test_runner_lives_where_the_controller_sends_pipeline_runs_by_default() -> None:
    find("Namespace", DEFAULTS.execution_namespace)
    runner = find("ServiceAccount", DEFAULTS.service_account)
    assert runner["metadata"]["namespace"] == DEFAULTS.execution_namespace


# --- Deployment --------------------------------------------------------------------------------


def test_deployment_runs_as_the_controller_service_account_with_leader_election() -> None:
    deployment = find("Deployment", CONTROLLER_ACCOUNT)
    assert deployment["metadata"]["namespace"] == CONTROLLER_NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == CONTROLLER_ACCOUNT
    assert flags.parse(manager_container()["args"], environ={}).leader_elect


def test_deployment_args_are_flags_the_controller_accepts() -> None:
    parsed = flags.parse(manager_container()["args"], environ={})
    assert (parsed.metrics_bind_address, parsed.health_probe_bind_address) == (":9090", ":8081")


def test_controller_is_non_root_read_only_and_without_capabilities() -> None:
    pod = find("Deployment", CONTROLLER_ACCOUNT)["spec"]["template"]["spec"]
    security = manager_container()["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65532
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize(
    ("probe", "path"), [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]
)
def test_probe_asks_the_health_endpoint_the_controller_serves(probe: str, path: str) -> None:
    container = manager_container()
    served_on = bind_port(flags.parse(container["args"], environ={}).health_probe_bind_address)
    request = container[probe]["httpGet"]
    assert request["path"] == path
    assert container_port(container, request["port"]) == served_on == 8081


def test_resources_keep_the_memory_promise() -> None:
    resources = manager_container()["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert resources["limits"] == {"cpu": "500m", "memory": "256Mi"}


def test_pod_namespace_comes_from_the_downward_api() -> None:
    env = {e["name"]: e for e in manager_container()["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_audit_spool_dir_is_a_writable_volume_despite_the_read_only_root() -> None:
    container = manager_container()
    spool_dir = flags.parse(container["args"], environ={}).audit_spool_dir
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == spool_dir)
    assert not mount.get("readOnly", False)
    volumes = find("Deployment", CONTROLLER_ACCOUNT)["spec"]["template"]["spec"]["volumes"]
    volume = next(v for v in volumes if v["name"] == mount["name"])
    assert "emptyDir" in volume


def test_metrics_service_and_service_monitor_reach_the_metrics_port() -> None:
    deployment = find("Deployment", CONTROLLER_ACCOUNT)
    container = manager_container()
    metrics_port = bind_port(flags.parse(container["args"], environ={}).metrics_bind_address)
    service = find("Service", f"{CONTROLLER_ACCOUNT}-metrics")
    port = next(p for p in service["spec"]["ports"] if p["name"] == "metrics")
    assert container_port(container, port["targetPort"]) == metrics_port == 9090
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    monitor = find("ServiceMonitor", CONTROLLER_ACCOUNT)
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]


# --- kustomize ---------------------------------------------------------------------------------

KUSTOMIZATIONS = sorted(CONFIG_DIR.glob("*/kustomization.yaml"))


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: p.parent.name)
def test_kustomization_lists_only_what_exists(kustomization: Path) -> None:
    for entry in yaml.safe_load(kustomization.read_text()).get("resources", []):
        target = kustomization.parent / entry
        assert target.exists(), f"{kustomization} lists missing {entry}"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), (
                f"{kustomization} lists {entry}, which has no kustomization.yaml"
            )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) not on PATH")
def test_default_kustomization_keeps_each_object_in_its_namespace() -> None:
    build = subprocess.run(
        ["kubectl", "kustomize", str(CONFIG_DIR / "default")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert build.returncode == 0, build.stderr
    namespaces = {
        (doc["kind"], doc["metadata"]["name"]): doc["metadata"].get("namespace")
        for doc in yaml.safe_load_all(build.stdout)
    }
    assert namespaces[("Deployment", CONTROLLER_ACCOUNT)] == CONTROLLER_NAMESPACE
    assert namespaces[("ServiceAccount", CONTROLLER_ACCOUNT)] == CONTROLLER_NAMESPACE
    assert namespaces[("ServiceAccount", DEFAULTS.service_account)] == DEFAULTS.execution_namespace
    assert {name for kind, name in namespaces if kind == "Namespace"} == {
        CONTROLLER_NAMESPACE,
        DEFAULTS.execution_namespace,
    }
    assert (
        "CustomResourceDefinition",
        "workflowexecutions.workflowexecution.kubernaut.ai",
    ) in namespaces


# --- security (issue 11) -----------------------------------------------------------------------


def test_data_storage_gets_a_projected_token_of_its_own_audience_never_the_api_token() -> None:
    container = manager_container()
    token_file = flags.parse(container["args"], environ={}).datastorage_token_file
    assert token_file is not None
    assert not token_file.startswith("/var/run/secrets/kubernetes.io/")
    mount = next(m for m in container["volumeMounts"] if token_file.startswith(m["mountPath"]))
    assert mount["readOnly"] is True
    volumes = find("Deployment", CONTROLLER_ACCOUNT)["spec"]["template"]["spec"]["volumes"]
    (source,) = next(v for v in volumes if v["name"] == mount["name"])["projected"]["sources"]
    projected = source["serviceAccountToken"]
    assert token_file == f"{mount['mountPath']}/{projected['path']}"
    assert projected["audience"] and projected["expirationSeconds"] <= 3600


def test_metrics_are_scraped_over_https_by_an_identity_allowed_to_read_them() -> None:
    assert flags.parse(manager_container()["args"], environ={}).metrics_secure is True
    (endpoint,) = find("ServiceMonitor", CONTROLLER_ACCOUNT)["spec"]["endpoints"]
    assert endpoint["scheme"] == "https"
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    binding = find("ClusterRoleBinding", f"{CONTROLLER_ACCOUNT}-metrics-reader")
    assert binding["roleRef"]["name"] == f"{CONTROLLER_ACCOUNT}-metrics-reader"


def test_network_policy_selects_the_controller_pod_and_opens_only_its_ports() -> None:
    policy = find("NetworkPolicy", CONTROLLER_ACCOUNT)
    pod_labels = find("Deployment", CONTROLLER_ACCOUNT)["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    container_ports = {p["name"] for p in manager_container()["ports"]}
    opened = {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}
    assert opened == container_ports == {"metrics", "health"}


def test_admission_policy_binding_uses_the_shipped_parameters() -> None:
    policy = find("ValidatingAdmissionPolicy", "workflowexecution-admission.kubernaut.ai")
    binding = find("ValidatingAdmissionPolicyBinding", "workflowexecution-admission.kubernaut.ai")
    params = find("ConfigMap", "workflowexecution-admission")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["paramRef"]["name"] == params["metadata"]["name"]
    assert binding["spec"]["paramRef"]["namespace"] == params["metadata"]["namespace"]
    assert binding["spec"]["paramRef"]["parameterNotFoundAction"] == "Deny"
    assert policy["spec"]["paramKind"] == {"apiVersion": "v1", "kind": "ConfigMap"}
    # only CREATE: re-judging metadata updates (the finalizer) could strand deletions
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["operations"] == ["CREATE"]
