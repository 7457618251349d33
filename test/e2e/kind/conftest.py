"""The e2e tier on KIND (``WFE_E2E=kind``): a KIND cluster (pytest-kind) with real Tekton Pipelines
and the controller deployed from config/default as a container. Without ``WFE_E2E=kind``, or where
Docker, kind or kubectl is missing, every test here skips with the reason; nothing is downloaded,
started or waited on. The default e2e tier runs on the local cluster instead (test/e2e/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from pytest_kind import KindCluster
from support.namespaces import temporary_namespace

from wfe.runtime.client import Client

E2E_DIR = Path(__file__).resolve().parent
SETUP_SCRIPT = E2E_DIR.parents[2] / "hack" / "e2e-setup.sh"
IMAGE = "workflowexecution-controller:e2e"
REQUIRED_TOOLS = ("docker", "kind", "kubectl")
DOCKER_PROBE_SECONDS = 20
SETUP_SECONDS = 1500  # image build + Tekton install on a cold machine


@cache
def missing_prerequisite() -> str | None:
    """Why KIND cannot run here, or None when it can."""
    if os.environ.get("WFE_E2E") != "kind":
        return "WFE_E2E is not 'kind' (the e2e tier runs on the local cluster by default)"
    for tool in REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    try:
        probe = subprocess.run(
            ["docker", "info"],
            capture_output=True,
            text=True,
            timeout=DOCKER_PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {DOCKER_PROBE_SECONDS}s"
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`docker info` failed, no container engine is running ({detail})"
    return None


def pytest_configure(config: pytest.Config) -> None:
    # pytest-kind downloads its own (old) kind and kubectl unless told where they are.
    for option, tool in (("kind_bin", "kind"), ("kind_kubectl_bin", "kubectl")):
        if getattr(config.option, option, None) is None and (path := shutil.which(tool)):
            setattr(config.option, option, path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e_items = [item for item in items if E2E_DIR in item.path.parents]
    if not e2e_items:
        return
    reason = missing_prerequisite()
    for item in e2e_items:
        item.add_marker(pytest.mark.e2e)
        if reason:  # ahead of the tests' own skip conditions: this is the reason that matters
            item.add_marker(
                pytest.mark.skipif(
                    True, reason=f"the KIND e2e tier needs KIND and Docker: {reason}"
                ),
                append=False,
            )


def run_setup(cluster: KindCluster, *steps: str) -> None:
    """Runs steps of hack/e2e-setup.sh against ``cluster`` (the same steps a human runs)."""
    environment = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig_path),
        "KIND_CLUSTER": cluster.name,
        "IMG": IMAGE,
    }
    subprocess.run(
        ["bash", str(SETUP_SCRIPT), *steps], env=environment, check=True, timeout=SETUP_SECONDS
    )


@pytest.fixture(scope="session")
def cluster(kind_cluster: KindCluster) -> KindCluster:
    """The KIND cluster with Tekton Pipelines installed and the controller image deployed."""
    run_setup(kind_cluster, "tekton", "image", "deploy")
    return kind_cluster


@pytest.fixture(scope="session")
def client(cluster: KindCluster) -> Client:
    return Client.from_kubeconfig(str(cluster.kubeconfig_path))


@pytest.fixture
def namespace(client: Client) -> Iterator[str]:
    with temporary_namespace(client, prefix="e2e") as name:
        yield name
