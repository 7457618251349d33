"""The controller as deployed: ``python -m wfe`` in its own process, as its ServiceAccount, talking
to the API server through a :class:`FaultProxy`, auditing to a Data Storage double through a file
spool. Tests kill it with SIGKILL, restart it on the same spool, and read its /metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families
from support.wait import wait_for

from wfe.runtime.envtest import processes


def kubeconfig_via(original: Path, server_url: str, path: Path) -> Path:
    """A copy of ``original`` whose cluster is reached at ``server_url`` (the proxy)."""
    config = yaml.safe_load(original.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = server_url
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@dataclass
class ControllerProcess:
    """One replica. ``start()`` may be called again after ``kill()``: a pod restarted in place."""

    kubeconfig: Path
    namespace: str
    execution_namespace: str
    workdir: Path
    datastorage_url: str | None = None
    leader_election_id: str | None = None
    cooldown: str = "2s"
    extra_args: list[str] = field(default_factory=list)
    name: str = "controller"
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)
    metrics_port: int = field(init=False, default=0)
    health_port: int = field(init=False, default=0)
    starts: int = field(init=False, default=0)

    @property
    def spool_dir(self) -> Path:
        return self.workdir / f"{self.name}-spool"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> ControllerProcess:
        self.metrics_port, self.health_port = processes.free_port(), processes.free_port()
        args = [
            sys.executable,
            "-m",
            "wfe",
            f"--kubeconfig={self.kubeconfig}",
            f"--metrics-bind-address=127.0.0.1:{self.metrics_port}",
            "--metrics-secure=false",  # scraped here without a token; HTTPS + auth: integration
            f"--health-probe-bind-address=127.0.0.1:{self.health_port}",
            f"--watch-namespace={self.namespace}",
            f"--execution-namespace={self.execution_namespace}",
            f"--cooldown-period={self.cooldown}",
            "--log-format=json",
            *self.extra_args,
        ]
        if self.leader_election_id:
            args += [
                "--leader-elect",
                "--leader-election-namespace=kubernaut-system",
                f"--leader-election-id={self.leader_election_id}",
            ]
        if self.datastorage_url:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            args += [
                "--audit-sink=datastorage",
                f"--datastorage-url={self.datastorage_url}",
                "--datastorage-insecure",  # the Data Storage double serves plain HTTP on loopback
                f"--audit-spool-dir={self.spool_dir}",
            ]
        else:
            args.append("--audit-sink=none")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WFE_")}
        with self.log_path.open("ab") as log:
            log.write(f"--- start #{self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no lease release, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, as the kubelet does; SIGKILL after 40 s. Returns the exit code."""
        if self.process is None:
            return None
        processes.stop(self.process, timeout=40.0)
        return self.process.returncode

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_for(
            lambda: self._get(f"http://127.0.0.1:{self.health_port}/readyz") is not None,
            timeout,
            interval=0.2,
            message=f"{self.name} /readyz",
        )

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (0 when unreachable)."""
        text = self._get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        if text is None:
            return 0.0
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @staticmethod
    def _get(url: str) -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as answer:
                body: bytes = answer.read()
                return body.decode() if answer.status == 200 else None
        except OSError:
            return None
