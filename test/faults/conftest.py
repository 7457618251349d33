"""The fault tier's fixtures: one real control plane for the session (etcd + kube-apiserver, the
controller's ServiceAccount and config/rbac applied), the run size, and one :class:`World` per test.
At the end the figures of every run are printed as one table."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from wfe.runtime.client import Client
from wfe.runtime.envtest import ControlPlane

from . import sizes
from .world import RESULTS, TABLE_HEADER, World, control_plane_for_faults, markdown_row, world


@pytest.fixture(scope="session")
def size() -> sizes.FaultSize:
    return sizes.current()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with control_plane_for_faults() as plane:
        yield plane


@pytest.fixture(scope="session")
def admin_client(control_plane: ControlPlane) -> Client:
    return control_plane.client()


@pytest.fixture
def fault_world(
    control_plane: ControlPlane, admin_client: Client, tmp_path: Path
) -> Iterator[World]:
    with world(control_plane, admin_client, tmp_path) as built:
        yield built


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section(f"fault figures ({sizes.current().name} size)")
    for figures in RESULTS:
        terminalreporter.write_line(figures.line())
    report = os.environ.get("WFE_FAULTS_REPORT")
    if report:  # the table docs/reliability.md is made of
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(TABLE_HEADER + "".join(markdown_row(f) for f in RESULTS))
        terminalreporter.write_line(f"fault table written to {report}")
