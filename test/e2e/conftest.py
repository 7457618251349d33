"""The e2e tier on the local cluster (the default): a real Tekton Pipelines controller and resolvers
pull the workflows from a local OCI registry, kube-scheduler and kwok run their pods (simulated: no
container runs), kube-controller-manager garbage-collects; the controller runs as its own process
with its ServiceAccount's token, bound only to config/rbac. Tekton writes every status here.

``WFE_E2E=kind`` runs the KIND tier (test/e2e/kind) instead, where Docker exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.cluster import LocalCluster, cluster_binaries
from support.envtest_assets import crd_paths, envtest_assets
from support.manifests import CONFIG_DIR, kustomization_manifests
from support.namespaces import temporary_namespace
from support.rbac import apply_controller_rbac

from wfe.runtime.client import Client

from .controller_process import ControllerProcess, apply_manifests, service_account_kubeconfig

E2E_DIR = Path(__file__).resolve().parent
KIND_DIR = E2E_DIR / "kind"
WORKFLOWS_DIR = E2E_DIR / "workflows"
CONTROLLER_NAMESPACE = "kubernaut-system"
CONTROLLER_ACCOUNT = "workflowexecution-controller"
EXECUTION_NAMESPACE = "kubernaut-workflows"
RBAC_DENIAL = re.compile(r"cannot (get|list|watch|create|update|patch|delete) resource")
# Short enough for the suite to watch a lock being released, long enough to see a twin skipped.
COOLDOWN_SECONDS = 8


# The KIND tier is collected only when asked for: here it could only skip.
collect_ignore = [] if os.environ.get("WFE_E2E") == "kind" else ["kind"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in item.path.parents and KIND_DIR not in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if os.environ.get("WFE_E2E") == "kind":
                item.add_marker(
                    pytest.mark.skip(reason="WFE_E2E=kind: the KIND tier (test/e2e/kind) runs")
                )


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    assets = envtest_assets()
    with LocalCluster(
        envtest=assets, binaries=cluster_binaries(), crd_paths=crd_paths(assets)
    ) as running:
        yield running


@pytest.fixture(scope="session")
def admin(cluster: LocalCluster) -> Client:
    return cluster.client()


@dataclass(frozen=True)
class Workflows:
    """References of the suite's workflow bundles in the local registry."""

    remediation: str  # pinned by digest, as pushed
    remediation_tag: str

    @property
    def remediation_digest(self) -> str:
        return self.remediation.rsplit("@", 1)[1]

    missing: str  # a repository nothing was ever pushed to


@pytest.fixture(scope="session")
def workflows(cluster: LocalCluster) -> Workflows:
    tag = "e2e/remediation:v1"
    pinned = cluster.push_bundle(tag, [WORKFLOWS_DIR / "remediation.yaml"])
    return Workflows(
        remediation=pinned,
        remediation_tag=f"{cluster.registry}/{tag}",
        missing=f"{cluster.registry}/e2e/no-such-workflow:v1",
    )


@pytest.fixture(scope="session")
def controller(
    cluster: LocalCluster, admin: Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerProcess]:
    """The controller, deployed as config/ says (RBAC, runner namespace and ServiceAccount)."""
    apply_controller_rbac(admin)
    apply_manifests(admin, kustomization_manifests(CONFIG_DIR / "runner"))
    workdir = tmp_path_factory.mktemp("controller")
    kubeconfig = service_account_kubeconfig(
        admin,
        cluster.kubeconfig,
        CONTROLLER_NAMESPACE,
        CONTROLLER_ACCOUNT,
        workdir / "controller.kubeconfig",
    )
    process = ControllerProcess(
        kubeconfig,
        workdir / "controller.log",
        [
            "--leader-elect",
            f"--leader-election-namespace={CONTROLLER_NAMESPACE}",
            f"--execution-namespace={EXECUTION_NAMESPACE}",
            f"--cooldown-period={COOLDOWN_SECONDS}s",
            "--engines=tekton,job",
        ],
        scrape_token=cluster.plane.admin.token,
    )
    process.start()
    yield process
    code = process.stop()
    text = process.log_text()
    # RBAC's refusal reads 'User "…" cannot <verb> resource …'; a 403 for an Event in a namespace
    # being deleted (the namespace controller removes a test's WFEs) is not about permissions
    denied = RBAC_DENIAL.search(text)
    assert denied is None, text[max(0, denied.start() - 2000) : denied.end() + 500]
    assert code == 0, text[-3000:]


@pytest.fixture
def namespace(admin: Client) -> Iterator[str]:
    with temporary_namespace(admin, prefix="e2e") as name:
        yield name
