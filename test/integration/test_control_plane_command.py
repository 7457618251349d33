"""`make control-plane`'s script: one KUBECONFIG=<path> line when ready, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from support.envtest_assets import REPO

from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client


def test_prints_the_kubeconfig_when_ready_and_stops_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, str(REPO / "hack" / "control_plane.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # blocks until ready (or the script died)
        assert line.startswith("KUBECONFIG="), line
        kubeconfig = Path(line.split("=", 1)[1])
        client = Client.from_kubeconfig(str(kubeconfig))
        assert client.is_served(WORKFLOW_EXECUTIONS) and client.is_served(PIPELINE_RUNS)

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""  # nothing else on stdout
        assert not kubeconfig.exists()  # its temporary directory is gone with it
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
