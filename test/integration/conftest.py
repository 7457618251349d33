"""The integration tier's fixtures: one real control plane per test session, a namespace per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.envtest_assets import crd_paths, envtest_assets
from support.identities import CONTROLLER_USER
from support.namespaces import temporary_namespace

from wfe.runtime.client import Client
from wfe.runtime.envtest import ControlPlane


@pytest.fixture(scope="session")
def control_plane(pytestconfig: pytest.Config) -> Iterator[ControlPlane]:
    assets = envtest_assets()
    plane = ControlPlane(
        binaries=assets, crd_paths=crd_paths(assets), extra_users=[CONTROLLER_USER]
    )
    plane.start()
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    line = f"local control plane (etcd + kube-apiserver) up in {plane.startup_seconds:.1f}s at {plane.url}"
    if reporter is not None:
        reporter.write_line(line)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def admin_client(control_plane: ControlPlane) -> Client:
    return control_plane.client()


@pytest.fixture
def namespace(admin_client: Client) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    with temporary_namespace(admin_client) as name:
        yield name
