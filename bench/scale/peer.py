"""The Go controller-runtime peer (``bench.peers``) as a reference in the scale run: started the way
``bench/scale/controller.py`` starts this project's controller (its own process, metrics over plain
HTTP on loopback, readiness from its probe, all namespaces watched, audit-free), with the same
number of workers. Its metrics carry the same controller-runtime names as ours
(``controller_runtime_reconcile_total{controller="workflowexecution"}``, ``workqueue_depth``,
``controller_runtime_active_workers``), so the cold start and the flip are measured by the same
code; it exposes no lock-check or status-sync histogram."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from bench.controller_process import ControllerProcess
from bench.peers import go_peer, peers_dir
from bench.scale import controller

GO_PEER_SOURCE = "go-controller-runtime"
WORKERS = 4  # this project's default, and the peer's


def go_binary() -> Path:
    """The peer's binary, built into ``~/.cache/wfe-bench`` if missing (never into the peers dir)."""
    return go_peer(peers_dir() / GO_PEER_SOURCE)


@dataclass(frozen=True)
class GoPeerLaunch:
    binary: Path
    kubeconfig: Path
    execution_namespace: str
    log: Path
    workers: int = WORKERS
    # controller-runtime's own log lines (zap, JSON, "ts" in epoch seconds): the informers start,
    # then the workers once every cache has synced
    cache_starting: ClassVar[str] = "Starting EventSource"
    workers_starting: ClassVar[str] = "Starting workers"

    def command(self, metrics_port: int, probe_port: int) -> list[str]:
        return [
            str(self.binary),
            f"--kubeconfig={self.kubeconfig}",
            f"--execution-namespace={self.execution_namespace}",
            f"--metrics-bind-address=127.0.0.1:{metrics_port}",
            f"--health-probe-bind-address=127.0.0.1:{probe_port}",
            f"--max-concurrent-reconciles={self.workers}",
            "--zap-time-encoding=epoch",  # its phases to the millisecond (the default: seconds)
        ]

    def start(self) -> ControllerProcess:
        return controller.start_process(self.command, self.log, "go-peer")
