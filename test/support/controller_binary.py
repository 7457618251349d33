"""Runs the controller binary (``python -m wfe``) as an operator would, against a control plane,
and scrapes its metrics once it leads."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.wait import wait_for
from wfe.runtime.envtest import processes

LEASE = "workflowexecution.kubernaut.ai"


@dataclass(frozen=True)
class ControllerProcess:
    process: subprocess.Popen[bytes]
    metrics_port: int
    probe_port: int
    log: Path
    token: str

    def scrape(self) -> str:
        """The metrics text (HTTPS with a bearer token, the certificate not verified: it is the
        controller's self-signed one), empty while the server does not answer."""
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.metrics_port}/metrics",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as answer:
                return str(answer.read().decode())
        except (urllib.error.URLError, OSError):
            return ""

    def scrape_as_leader(self, timeout: float = 30.0) -> str:
        """A scrape taken once this process leads and its controller registered its families."""
        scrape: str = wait_for(
            lambda: (
                (text := self.scrape())
                and f'leader_election_master_status{{name="{LEASE}"}} 1.0' in text
                and "controller_runtime_max_concurrent_reconciles" in text
                and text
            ),
            timeout=timeout,
            message="the elected controller's metrics",
        )
        return scrape


@contextmanager
def controller_binary(
    kubeconfig: Path, namespace: str, workdir: Path, token: str
) -> Iterator[ControllerProcess]:
    """The controller watching and executing in ``namespace``, electing itself there."""
    metrics_port, probe_port = processes.free_port(), processes.free_port()
    log = workdir / "controller.log"
    args = [
        sys.executable,
        "-m",
        "wfe",
        "--kubeconfig",
        str(kubeconfig),
        f"--metrics-bind-address=127.0.0.1:{metrics_port}",
        f"--health-probe-bind-address=127.0.0.1:{probe_port}",
        "--leader-elect",
        f"--leader-election-namespace={namespace}",
        f"--execution-namespace={namespace}",
        f"--watch-namespace={namespace}",
        f"--audit-spool-dir={workdir / 'spool'}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        yield ControllerProcess(process, metrics_port, probe_port, log, token)
    finally:
        processes.stop(process, timeout=35)
