"""Fixtures of the controller's integration tests: an execution namespace, a view of the cluster,
Tekton's role, and a factory that starts one isolated in-process controller per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from wfe.runtime.client import NAMESPACES, Client, is_not_found

from .harness import Cluster, RunningController, StartController, start_controller
from .tekton import Tekton


def _namespace(client: Client, name: str) -> Iterator[str]:
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        client.delete(NAMESPACES, name)
    except Exception as err:
        if not is_not_found(err):
            raise


@pytest.fixture
def execution_namespace(admin_client: Client, namespace: str) -> Iterator[str]:
    """Where this test's controller creates PipelineRuns (``<namespace>-x``)."""
    yield from _namespace(admin_client, f"{namespace}-x")


@pytest.fixture
def other_namespace(admin_client: Client, namespace: str) -> Iterator[str]:
    """A namespace this test's controller does not watch (``<namespace>-o``)."""
    yield from _namespace(admin_client, f"{namespace}-o")


@pytest.fixture
def cluster(admin_client: Client, namespace: str, execution_namespace: str) -> Cluster:
    return Cluster(admin_client, namespace, execution_namespace)


@pytest.fixture
def tekton(admin_client: Client, execution_namespace: str) -> Tekton:
    return Tekton(admin_client, execution_namespace)


@pytest.fixture
def start(admin_client: Client, cluster: Cluster) -> Iterator[StartController]:
    """``start(**settings)`` runs a controller for this test's namespaces until the test ends.

    Settings: ``cooldown_seconds``, ``default_timeout_seconds``, ``service_account``,
    ``max_concurrent_reconciles``, ``audit`` (a recorder) and ``client`` (the controller's client;
    the admin client by default, as no RBAC is installed here).
    """
    running: list[RunningController] = []

    def factory(*, client: Client | None = None, **settings: Any) -> RunningController:
        controller = start_controller(client or admin_client, cluster, **settings)
        running.append(controller)
        return controller

    yield factory
    for controller in reversed(running):
        controller.stop()
