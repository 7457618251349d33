"""The real binary, as its ServiceAccount under exactly config/rbac, runs a workflow end to end.

This is what a cluster deployment does, minus the container: `python -m wfe` in a subprocess with
leader election on its own Lease, PipelineRuns in the execution namespace config/rbac ships
(kubernaut-workflows), authenticated as
system:serviceaccount:kubernaut-system:workflowexecution-controller, serving /metrics over HTTPS
behind TokenReview and SubjectAccessReview. Any permission the controller needs but config/rbac
lacks fails this test with a 403 in its log.
"""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import CONTROLLER_LEASE, EXECUTION_NAMESPACE, apply_controller_rbac
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import EVENTS, LEASES, Client
from wfe.runtime.envtest import ControlPlane, processes

from .harness import workflow_execution
from .tekton import Tekton


@pytest.fixture
def controller_process(
    control_plane: ControlPlane,
    admin_client: Client,
    namespace: str,
    tmp_path: Path,
) -> Iterator[tuple[Path, int]]:
    apply_controller_rbac(admin_client)
    if admin_client.get_or_none(LEASES, CONTROLLER_LEASE, "kubernaut-system") is not None:
        admin_client.delete(LEASES, CONTROLLER_LEASE, "kubernaut-system")
    log = tmp_path / "controller.log"
    metrics_port = processes.free_port()
    args = [
        sys.executable,
        "-m",
        "wfe",
        f"--kubeconfig={control_plane.kubeconfig_for(CONTROLLER_USER)}",
        f"--metrics-bind-address=127.0.0.1:{metrics_port}",
        "--health-probe-bind-address=127.0.0.1:0",
        "--leader-elect",
        "--leader-election-namespace=kubernaut-system",
        f"--watch-namespace={namespace}",
        f"--execution-namespace={EXECUTION_NAMESPACE}",
        "--cooldown-period=1s",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield log, metrics_port
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=40)
        text = log.read_text()
        assert "403 Forbidden" not in text and "is forbidden" not in text, text[-3000:]
        assert code == 0, text[-3000:]
        processes.stop(process)


def scrape(port: int, token: str | None) -> tuple[int, str]:
    """GET the binary's /metrics over HTTPS (its certificate is self-signed)."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"https://127.0.0.1:{port}/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_a_workflow_runs_end_to_end_under_least_privilege(
    controller_process: tuple[Path, int],
    control_plane: ControlPlane,
    admin_client: Client,
    namespace: str,
) -> None:
    # a target of this test's own: the execution namespace is shared with any other test using it
    target = f"{namespace}/deployment/least-privilege-{uuid.uuid4().hex[:6]}"
    admin_client.create(
        WORKFLOW_EXECUTIONS, workflow_execution("least-privilege", namespace, target=target)
    )

    def phase() -> str | None:
        wfe = admin_client.get(WORKFLOW_EXECUTIONS, "least-privilege", namespace)
        return (wfe.get("status") or {}).get("phase")

    wait_for(lambda: phase() == "Running", timeout=30, message="Running (PipelineRun created)")
    name = pipeline_run_name(target)
    now = datetime.now(UTC).replace(microsecond=0)
    Tekton(admin_client, EXECUTION_NAMESPACE).succeed(
        name, started=now - timedelta(seconds=5), completed=now
    )
    wait_for(lambda: phase() == "Completed", timeout=15, message="Completed")
    # cooldown (1 s) over: the lock PipelineRun is deleted by the controller itself
    wait_for(
        lambda: admin_client.get_or_none(PIPELINE_RUNS, name, EXECUTION_NAMESPACE) is None,
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
    # /metrics: the binary's own identity reviews the scraper's token (config/rbac's metrics-auth)
    _, metrics_port = controller_process
    assert scrape(metrics_port, None)[0] == 401
    status, text = scrape(metrics_port, control_plane.admin.token)
    assert status == 200 and "workflowexecution_total" in text
    # deletion runs the finalizer as the controller identity
    admin_client.delete(WORKFLOW_EXECUTIONS, "least-privilege", namespace)
    wait_for(
        lambda: admin_client.get_or_none(WORKFLOW_EXECUTIONS, "least-privilege", namespace) is None,
        timeout=15,
        message="the finalizer to be removed",
    )
