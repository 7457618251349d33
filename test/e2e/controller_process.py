"""The controller as the e2e tier runs it: its own OS process (`python -m wfe`, what the container
runs), authenticated as its ServiceAccount with a TokenRequest token and bound only to config/rbac."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import urllib3
import yaml
from prometheus_client.parser import text_string_to_metric_families
from support.rbac import RESOURCES_BY_KIND, apply
from support.wait import wait_for

from wfe.runtime.client import Client
from wfe.runtime.envtest import processes

SERVICE_ACCOUNTS = RESOURCES_BY_KIND["ServiceAccount"]
MetricKey = tuple[str, frozenset[tuple[str, str]]]


def service_account_kubeconfig(
    admin: Client, admin_kubeconfig: Path, namespace: str, name: str, path: Path
) -> Path:
    """A kubeconfig for ``namespace/name`` with a token from the TokenRequest API (1 h), the way a
    pod's projected ServiceAccount token authenticates it."""
    answer = admin.request(
        "POST",
        SERVICE_ACCOUNTS.path(namespace, name, "token"),
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    config: dict[str, Any] = copy.deepcopy(yaml.safe_load(admin_kubeconfig.read_text()))
    user = f"system:serviceaccount:{namespace}:{name}"
    config["users"] = [{"name": user, "user": {"token": answer["status"]["token"]}}]
    for context in config["contexts"]:
        context["context"]["user"] = user
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def apply_manifests(admin: Client, documents: list[dict[str, Any]]) -> None:
    for document in documents:
        apply(admin, document)


class ControllerProcess:
    """Start, SIGKILL, restart and stop the controller binary; read its probes and metrics."""

    def __init__(self, kubeconfig: Path, log: Path, extra_args: list[str], scrape_token: str):
        """``scrape_token``: a bearer token the API server authorizes to GET /metrics (the
        controller serves it over HTTPS behind TokenReview + SubjectAccessReview, as deployed)."""
        self.kubeconfig = kubeconfig
        self.log = log
        self.extra_args = extra_args
        self.metrics_port = processes.free_port()
        self.probe_port = processes.free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._http = urllib3.PoolManager()
        # the certificate is the controller's self-signed one: who it is matters less than the
        # token check behind it, which is what a scrape here exercises
        self._metrics_http = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_hostname=False)
        self._scrape_headers = {"Authorization": f"Bearer {scrape_token}"}

    @property
    def args(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "wfe",
            f"--kubeconfig={self.kubeconfig}",
            f"--metrics-bind-address=127.0.0.1:{self.metrics_port}",
            f"--health-probe-bind-address=127.0.0.1:{self.probe_port}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_for(self._ready, timeout=timeout, interval=0.2, message="the controller to be ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease release, in-flight work lost, as a node failure."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=10)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM and the exit code (a clean shutdown is 0)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout=timeout)
        finally:
            processes.stop(self._process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> dict[MetricKey, float]:
        """Every sample of /metrics, keyed by name and labels."""
        answer = self._metrics_http.request(
            "GET",
            f"https://127.0.0.1:{self.metrics_port}/metrics",
            headers=self._scrape_headers,
            timeout=5.0,
        )
        assert answer.status == 200, f"/metrics answered {answer.status}: {answer.data[:300]!r}"
        samples: dict[MetricKey, float] = {}
        for family in text_string_to_metric_families(answer.data.decode()):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics().get((name, frozenset(labels.items())), 0.0)

    def _ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise AssertionError(
                f"the controller exited with {self._process.returncode}:\n{self.log_text()[-3000:]}"
            )
        try:
            answer = self._http.request(
                "GET", f"http://127.0.0.1:{self.probe_port}/readyz", timeout=2.0, retries=False
            )
        except urllib3.exceptions.HTTPError:
            return False
        return answer.status == 200


def wait_for_metric(
    controller: ControllerProcess, name: str, at_least: float, timeout: float = 15.0, **labels: str
) -> float:
    """Counters are bumped right after the status write a test waits on: wait for them too."""
    return wait_for(
        lambda: (value := controller.metric(name, **labels)) >= at_least and value,
        timeout=timeout,
        interval=0.2,
        message=f"{name}{labels} >= {at_least}",
    )
