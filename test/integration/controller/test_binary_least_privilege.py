"""The real binary, as its ServiceAccount under exactly config/rbac, runs a workflow end to end.

This is what a cluster deployment does, minus the container: `python -m wfe` in a subprocess with
leader election, authenticated as system:serviceaccount:kubernaut-system:workflowexecution-controller.
Any permission the controller needs but config/rbac lacks fails this test with a 403 in its log.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import apply_controller_rbac
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import EVENTS, Client
from wfe.runtime.envtest import ControlPlane, processes

from .harness import DEFAULT_TARGET, workflow_execution
from .tekton import Tekton


@pytest.fixture
def controller_process(
    control_plane: ControlPlane,
    admin_client: Client,
    namespace: str,
    execution_namespace: str,
    tmp_path: Path,
) -> Iterator[Path]:
    apply_controller_rbac(admin_client)
    log = tmp_path / "controller.log"
    args = [
        sys.executable,
        "-m",
        "wfe",
        f"--kubeconfig={control_plane.kubeconfig_for(CONTROLLER_USER)}",
        "--metrics-bind-address=0",
        "--health-probe-bind-address=127.0.0.1:0",
        "--leader-elect",
        "--leader-election-namespace=kubernaut-system",
        f"--leader-election-id=wfe-{uuid.uuid4().hex[:8]}",
        f"--watch-namespace={namespace}",
        f"--execution-namespace={execution_namespace}",
        "--cooldown-period=1s",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=40)
        text = log.read_text()
        assert "403 Forbidden" not in text and "is forbidden" not in text, text[-3000:]
        assert code == 0, text[-3000:]
        processes.stop(process)


def test_a_workflow_runs_end_to_end_under_least_privilege(
    controller_process: Path, admin_client: Client, namespace: str, execution_namespace: str
) -> None:
    admin_client.create(WORKFLOW_EXECUTIONS, workflow_execution("least-privilege", namespace))

    def phase() -> str | None:
        wfe = admin_client.get(WORKFLOW_EXECUTIONS, "least-privilege", namespace)
        return (wfe.get("status") or {}).get("phase")

    wait_for(lambda: phase() == "Running", timeout=30, message="Running (PipelineRun created)")
    name = pipeline_run_name(DEFAULT_TARGET)
    now = datetime.now(UTC).replace(microsecond=0)
    Tekton(admin_client, execution_namespace).succeed(
        name, started=now - timedelta(seconds=5), completed=now
    )
    wait_for(lambda: phase() == "Completed", timeout=15, message="Completed")
    # cooldown (1 s) over: the lock PipelineRun is deleted by the controller itself
    wait_for(
        lambda: admin_client.get_or_none(PIPELINE_RUNS, name, execution_namespace) is None,
        timeout=15,
        message="the lock to be released",
    )

    def reasons() -> set[str]:
        events = admin_client.list(
            EVENTS, namespace, field_selector="involvedObject.name=least-privilege"
        )["items"]
        return {e["reason"] for e in events}

    # Events are sent asynchronously: wait for them rather than read once
    wait_for(
        lambda: {"PipelineRunCreated", "WorkflowCompleted", "LockReleased"} <= reasons(),
        timeout=15,
        message="the lifecycle Events",
    )
    # deletion runs the finalizer as the controller identity
    admin_client.delete(WORKFLOW_EXECUTIONS, "least-privilege", namespace)
    wait_for(
        lambda: admin_client.get_or_none(WORKFLOW_EXECUTIONS, "least-privilege", namespace) is None,
        timeout=15,
        message="the finalizer to be removed",
    )
