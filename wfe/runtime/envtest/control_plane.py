"""Runs a real etcd and kube-apiserver on free loopback ports, with RBAC on and static token users."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
import yaml

from wfe.runtime.client import Client, load_configuration
from wfe.runtime.envtest import pki, processes
from wfe.runtime.envtest.crds import install_crds


class ControlPlaneError(RuntimeError):
    """The control plane could not be started; the message carries the tail of the process log."""


@dataclass(frozen=True)
class User:
    """A static-token identity. The admin is in ``system:masters``; others get only what RBAC grants."""

    name: str
    groups: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class ControlPlane:
    """``start()`` brings up etcd + kube-apiserver; ``stop()`` tears both down and removes the temp dir."""

    binaries: Path
    crd_paths: list[Path] = field(default_factory=list)
    extra_users: list[User] = field(default_factory=list)
    extra_apiserver_args: list[str] = field(default_factory=list)
    startup_timeout: float = 60.0
    workdir: Path = field(init=False)
    api_port: int = field(init=False, default=0)
    etcd_port: int = field(init=False, default=0)
    admin: User = field(init=False)
    startup_seconds: float = field(init=False, default=0.0)
    _etcd: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _apiserver: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _pki: pki.Pki | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.admin = User("admin", ("system:masters",))
        self.workdir = Path(tempfile.mkdtemp(prefix="wfe-envtest-"))

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ControlPlane:
        began = time.monotonic()
        try:
            self._start_etcd()
            self._start_apiserver()
            self._wait_ready()
            if self.crd_paths:
                install_crds(self.client(), self.crd_paths, timeout=self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        processes.stop(self._apiserver)
        processes.stop(self._etcd)
        self._apiserver = self._etcd = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self, *, down_for: float = 0.0, kill: bool = False) -> float:
        """Stops kube-apiserver alone (SIGTERM, or SIGKILL with ``kill``), keeps etcd and its data,
        waits ``down_for`` seconds, and starts it again on the same port with the same keys, so
        clients reconnect to the same URL. Returns the seconds until /readyz answered again."""
        if self._apiserver is None:
            raise ControlPlaneError("the control plane is not running")
        if kill:
            self._apiserver.kill()
            self._apiserver.wait(timeout=10)
        else:
            processes.stop(self._apiserver)
        self._apiserver = None
        time.sleep(down_for)
        began = time.monotonic()
        self._start_apiserver()
        self._wait_ready()
        return time.monotonic() - began

    def compact_etcd(self) -> int:
        """Compacts etcd's history so that every resourceVersion handed out so far is gone: a
        watch or list from any of them is answered 410 Gone. Returns the compaction revision."""
        pool = urllib3.PoolManager()
        marker = base64.b64encode(b"/wfe-envtest/compaction-marker").decode()
        revision = 0
        # two writes outside Kubernetes' keys: the newest version any client holds is now at least
        # two revisions old, so even a watch resuming right after it asks for a compacted one
        for _ in range(2):
            answer = pool.request(
                "POST",
                f"{self.etcd_endpoint}/v3/kv/put",
                json={"key": marker, "value": marker},
                timeout=5.0,
            )
            revision = int(answer.json()["header"]["revision"])
        answer = pool.request(
            "POST",
            f"{self.etcd_endpoint}/v3/kv/compaction",
            json={"revision": revision, "physical": True},
            timeout=30.0,
        )
        if answer.status != 200:
            raise ControlPlaneError(f"etcd compaction failed: {answer.status} {answer.data!r}")
        return revision

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- what callers use --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.kubeconfig_for(self.admin)

    def kubeconfig_for(self, user: User) -> Path:
        path = self.workdir / f"{user.name.replace(':', '_')}.kubeconfig"
        if not path.exists():
            config = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "envtest",
                        "cluster": {
                            "server": self.url,
                            "certificate-authority": str(self.workdir / "pki" / "ca.crt"),
                        },
                    }
                ],
                "users": [{"name": user.name, "user": {"token": user.token}}],
                "contexts": [
                    {"name": "envtest", "context": {"cluster": "envtest", "user": user.name}}
                ],
                "current-context": "envtest",
            }
            path.write_text(yaml.safe_dump(config))
            path.chmod(0o600)
        return path

    def client(self, user: User | None = None) -> Client:
        return Client(load_configuration(str(self.kubeconfig_for(user or self.admin))))

    # --- internals ---------------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        self.etcd_port, peer_port = processes.free_port(), processes.free_port()
        peer = f"http://127.0.0.1:{peer_port}"
        self._etcd = processes.spawn(
            [
                str(self.binaries / "etcd"),
                "--name=envtest",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_endpoint}",
                f"--advertise-client-urls={self.etcd_endpoint}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=envtest={peer}",
                "--unsafe-no-fsync",  # test data: speed over durability
                "--log-level=warn",
            ],
            self.workdir / "etcd.log",
        )

    def _start_apiserver(self) -> None:
        # Keys and port are made once: a restarted apiserver keeps the URL and the CA clients trust.
        if self._pki is None:
            self._pki = pki.generate(self.workdir / "pki")
        keys = self._pki
        tokens = self.workdir / "tokens.csv"
        lines = [
            f'{u.token},{u.name},{u.name},"{",".join(u.groups)}"'
            if u.groups
            else f"{u.token},{u.name},{u.name}"
            for u in [self.admin, *self.extra_users]
        ]
        tokens.write_text("\n".join(lines) + "\n")
        tokens.chmod(0o600)
        self.api_port = self.api_port or processes.free_port()
        self._apiserver = processes.spawn(
            [
                str(self.binaries / "kube-apiserver"),
                f"--etcd-servers={self.etcd_endpoint}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                f"--tls-cert-file={keys.serving_cert}",
                f"--tls-private-key-file={keys.serving_key}",
                f"--client-ca-file={keys.ca_cert}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={keys.sa_public_key}",
                f"--service-account-signing-key-file={keys.sa_private_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                "--endpoint-reconciler-type=none",  # loopback advertise address: no kubernetes Service endpoints
                f"--cert-dir={self.workdir / 'certs'}",
                "--v=0",
                *self.extra_apiserver_args,
            ],
            self.workdir / "kube-apiserver.log",
        )

    def _wait_ready(self) -> None:
        pool = urllib3.PoolManager(ca_certs=str(self.workdir / "pki" / "ca.crt"))
        headers = {"Authorization": f"Bearer {self.admin.token}"}
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, proc in (("etcd", self._etcd), ("kube-apiserver", self._apiserver)):
                if proc is not None and proc.poll() is not None:
                    raise ControlPlaneError(
                        f"{name} exited with {proc.returncode}:\n{self._log_tail(name)}"
                    )
            try:
                answer = pool.request(
                    "GET", f"{self.url}/readyz", headers=headers, timeout=2.0, retries=False
                )
                if answer.status == 200:
                    return
                last = f"/readyz {answer.status}: {answer.data.decode()[-300:]}"
            except urllib3.exceptions.HTTPError as err:
                last = str(err)
            time.sleep(0.2)
        raise ControlPlaneError(
            f"kube-apiserver not ready within {self.startup_timeout}s ({last}):\n{self._log_tail('kube-apiserver')}"
        )

    def _log_tail(self, name: str, lines: int = 30) -> str:
        log = self.workdir / f"{name}.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )
