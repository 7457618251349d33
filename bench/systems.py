"""The systems under test and how each is started as a process of its own.

* ``python``: this project's ``wfe-controller`` console script from a runtime-only virtualenv, as
  deployed (``bench.controller_venv``; audit sink ``none``, metrics over plain HTTP on loopback so
  the harness can scrape);
* ``go``: the controller-runtime peer; ``kopf``: the kopf peer (see ``bench.peers``).

All watch every namespace; each run gets an execution namespace of its own.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from pathlib import Path

from bench import controller_venv
from bench.controller_process import ControllerProcess
from bench.peers import Peers

PYTHON, GO, KOPF = "python", "go", "kopf"
SYSTEMS = (PYTHON, GO, KOPF)
PEERS = (GO, KOPF)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wfe_controller() -> Path:
    """The console script of the runtime virtualenv (built on first use; ``bench.controller_venv``
    says how, and how to choose another)."""
    return controller_venv.controller().script


def controller_process(
    system: str,
    *,
    kubeconfig: Path,
    execution_namespace: str,
    workers: int,
    log_path: Path,
    cpus: Collection[int] | None,
    peers: Peers | None,
) -> ControllerProcess:
    metrics, probes = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), PYTHONDONTWRITEBYTECODE="1")
    ready_url: str | None = f"http://{probes}/readyz"
    metrics_url: str | None = f"http://{metrics}/metrics"
    if system == PYTHON:
        argv = [
            str(wfe_controller()),
            "--kubeconfig",
            str(kubeconfig),
            "--execution-namespace",
            execution_namespace,
            "--audit-sink",
            "none",
            "--metrics-bind-address",
            metrics,
            "--metrics-secure=false",
            "--health-probe-bind-address",
            probes,
            "--max-concurrent-reconciles",
            str(workers),
        ]
    elif peers is None:
        raise ValueError(f"{system}: the peers were not prepared")
    elif system == GO:
        argv = [
            str(peers.go_binary),
            "--kubeconfig",
            str(kubeconfig),
            "--execution-namespace",
            execution_namespace,
            "--metrics-bind-address",
            metrics,
            "--health-probe-bind-address",
            probes,
            "--max-concurrent-reconciles",
            str(workers),
        ]
    elif system == KOPF:
        env.update(WFE_EXECUTION_NAMESPACE=execution_namespace, WFE_MAX_WORKERS=str(workers))
        argv = [
            str(peers.kopf_executable),
            "run",
            "-A",
            f"--liveness=http://{probes}/healthz",
            str(peers.kopf_operator),
        ]
        ready_url, metrics_url = f"http://{probes}/healthz", None
    else:
        raise ValueError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
    return ControllerProcess(
        argv,
        log_path=log_path,
        env=env,
        ready_url=ready_url,
        metrics_url=metrics_url,
        cpus=cpus,
        name=system,
    )
