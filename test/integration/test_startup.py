"""The binary as an operator runs it: fail-fast start-up checks, probes, metrics, graceful SIGTERM."""

from __future__ import annotations

import re
import signal
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.controller_binary import ControllerProcess, controller_binary
from support.envtest_assets import PROJECT_CRDS, envtest_assets
from support.wait import wait_for

from wfe.cmd import EXIT_STARTUP_FAILED, StartupError, main, start_up_checks
from wfe.controller.engines import EngineRegistry
from wfe.runtime.envtest import ControlPlane

SPEC_METRICS = [
    "controller_runtime_reconcile_total",
    "controller_runtime_reconcile_errors_total",
    "controller_runtime_reconcile_time_seconds",
    "controller_runtime_active_workers",
    "controller_runtime_max_concurrent_reconciles",
    "workqueue_depth",
    "workqueue_adds_total",
    "workqueue_queue_duration_seconds",
    "workqueue_work_duration_seconds",
    "workqueue_retries_total",
    "workqueue_unfinished_work_seconds",
    "workqueue_longest_running_processor_seconds",
    "leader_election_master_status",
    "workflowexecution_total",
    "workflowexecution_duration_seconds",
    "workflowexecution_phase_transitions_total",
    "workflowexecution_skip_total",
    "workflowexecution_active",
    "workflowexecution_pipelinerun_creation_duration_seconds",
    "workflowexecution_resource_lock_check_duration_seconds",
    "workflowexecution_status_sync_latency_seconds",
    "workflowexecution_errors_total",
    "workflowexecution_audit_events_total",
    "workflowexecution_audit_backlog",
    "rest_client_requests_total",
    "rest_client_request_duration_seconds",
    "rest_client_rate_limiter_duration_seconds",
]


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    """GET ``url``; https without verifying the (self-signed) certificate, with a bearer token."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=5, context=tls) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def test_exits_non_zero_saying_tekton_must_be_installed(capsys: pytest.CaptureFixture[str]) -> None:
    # a control plane with the WorkflowExecution CRD but without Tekton
    with ControlPlane(binaries=envtest_assets(), crd_paths=[PROJECT_CRDS]) as bare:
        code = main(["--kubeconfig", str(bare.kubeconfig), "--metrics-bind-address", "0"])
    assert code == EXIT_STARTUP_FAILED
    assert "Tekton Pipelines must be installed" in capsys.readouterr().err


def test_without_tekton_the_job_engine_alone_starts_and_tekton_is_refused_by_name() -> None:
    with ControlPlane(binaries=envtest_assets(), crd_paths=[PROJECT_CRDS]) as bare:
        client = bare.client()
        # --engines=job: batch/v1 Jobs are always served, the checks pass and kinds are discovered
        kinds = start_up_checks(client, EngineRegistry.of(["job"]))
        assert kinds.key("ns/deployments/app") == kinds.key("ns/deployment/app")
        with pytest.raises(StartupError, match=r"--engines=job"):
            start_up_checks(client, EngineRegistry.of(["tekton", "job"]))


@pytest.fixture
def running_binary(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> Iterator[ControllerProcess]:
    with controller_binary(
        control_plane.kubeconfig, namespace, tmp_path, control_plane.admin.token
    ) as running:
        yield running


def test_binary_serves_probes_and_every_spec_metric_then_stops_on_sigterm(
    running_binary: ControllerProcess, control_plane: ControlPlane
) -> None:
    probes, metrics = running_binary.probe_port, running_binary.metrics_port
    process = running_binary.process
    wait_for(
        lambda: _get(f"http://127.0.0.1:{probes}/readyz")[0] == 200,
        timeout=30,
        message="/readyz to answer 200",
    )
    body = wait_for(
        lambda: (
            (answer := _get(f"http://127.0.0.1:{probes}/readyz?verbose"))[0] == 200 and answer[1]
        ),
        timeout=30,
        message="/readyz?verbose to answer 200",
    )
    assert "[+]informer-sync ok" in body and "[+]apiserver ok" in body and "check passed" in body
    health = _get(f"http://127.0.0.1:{probes}/healthz?verbose")
    assert health[0] == 200, health[1]
    # /metrics is HTTPS (self-signed) for identities the API server allows: the admin is
    assert _get(f"https://127.0.0.1:{metrics}/metrics") == (401, "Unauthorized\n")
    # leadership comes first, then the controller registers its metric families
    scrape = running_binary.scrape_as_leader(timeout=30)
    missing = [name for name in SPEC_METRICS if f"# TYPE {name} " not in scrape]
    assert missing == []
    assert "_created" not in scrape
    # the discovery, lists and watches of start-up, counted as client-go counts them
    assert re.search(
        r'rest_client_requests_total\{code="200",host="127\.0\.0\.1:\d+",method="GET"\} [1-9]',
        scrape,
    )

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=35) == 0
    log = running_binary.log.read_text()
    assert '"version"' in log.splitlines()[0]
