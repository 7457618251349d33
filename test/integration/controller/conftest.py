"""Fixtures of the controller's integration tests: an execution namespace, a view of the cluster,
Tekton's role, the controller's RBAC, and a factory that starts one isolated in-process controller
per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.namespaces import namespace_named

from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client

from .harness import Cluster, RunningController, StartController, start_controller
from .rbac import ControllerRbac, install_controller_cluster_role
from .tekton import Tekton


@pytest.fixture
def execution_namespace(admin_client: Client, namespace: str) -> Iterator[str]:
    """Where this test's controller creates PipelineRuns (``<namespace>-x``)."""
    with namespace_named(admin_client, f"{namespace}-x") as name:
        yield name


@pytest.fixture
def other_namespace(admin_client: Client, namespace: str) -> Iterator[str]:
    """A namespace this test's controller does not watch (``<namespace>-o``)."""
    with namespace_named(admin_client, f"{namespace}-o") as name:
        yield name


@pytest.fixture
def cluster(admin_client: Client, namespace: str, execution_namespace: str) -> Cluster:
    return Cluster(admin_client, namespace, execution_namespace)


@pytest.fixture
def tekton(admin_client: Client, execution_namespace: str) -> Tekton:
    return Tekton(admin_client, execution_namespace)


@pytest.fixture(scope="session")
def controller_cluster_role(admin_client: Client) -> str:
    return install_controller_cluster_role(admin_client)


@pytest.fixture
def rbac(admin_client: Client, namespace: str, controller_cluster_role: str) -> ControllerRbac:
    return ControllerRbac(admin_client, namespace, controller_cluster_role)


@pytest.fixture
def start(cluster: Cluster, rbac: ControllerRbac) -> Iterator[StartController]:
    """``start(**settings)`` runs a controller for this test's namespaces until the test ends.

    It runs as this test's controller ServiceAccount, granted config/rbac's ClusterRole in the test's
    namespace and its execution Role in the test's execution namespace (``grant=False``: the test
    granted what it wants itself). Settings:
    ``cooldown_seconds``, ``default_timeout_seconds``, ``timeout_grace_seconds``,
    ``service_account``, ``max_concurrent_reconciles``, ``audit_sink`` and ``client``.
    """
    running: list[RunningController] = []

    def factory(
        *, client: Client | None = None, grant: bool = True, **settings: Any
    ) -> RunningController:
        if grant:
            rbac.grant(cluster.namespace)
            rbac.grant_execution(cluster.execution_namespace)
            rbac.wait_until_allowed(WORKFLOW_EXECUTIONS, cluster.namespace)
            rbac.wait_until_allowed(PIPELINE_RUNS, cluster.execution_namespace)
        controller = start_controller(client or rbac.client(), cluster, **settings)
        running.append(controller)
        return controller

    yield factory
    for controller in reversed(running):
        controller.stop()
