"""Starts and stops the local cluster's processes around the envtest control plane.

Real: etcd, kube-apiserver, kube-scheduler, kube-controller-manager (garbage collector, namespace,
ServiceAccount and Job controllers), the Tekton Pipelines controller and its remote resolvers (with
the bundles resolver), an OCI registry. Simulated: the kubelet (kwok on one fake node, see
kwok-stages.yaml). Every process dies with the Python process that started it (PDEATHSIG).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from support.wait import wait_for
from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import NAMESPACES, Client, Resource, is_already_exists
from wfe.runtime.envtest import ControlPlane, User, processes
from wfe.runtime.envtest.crds import CRDS

HERE = Path(__file__).resolve().parent
TEKTON_NAMESPACE = "tekton-pipelines"
RESOLVERS_NAMESPACE = "tekton-pipelines-resolvers"
NODE_NAME = "kwok-node-0"
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
# Tekton never runs these images: kwok plays the kubelet. A reserved TLD makes that plain.
_SIM_IMAGE = "sim.invalid/tekton/{}:v1.12.0"
READY_CHECK_NAMESPACE = "wfe-cluster-ready"


class ClusterError(RuntimeError):
    """A component of the local cluster did not start; the message carries its log's tail."""


@dataclass
class LocalCluster:
    """``start()`` brings the whole stack up and returns once Tekton has run a PipelineRun."""

    envtest: Path
    binaries: Path
    crd_paths: list[Path]
    extra_users: list[User] = field(default_factory=list)
    startup_timeout: float = 180.0
    plane: ControlPlane = field(init=False)
    registry: str = field(init=False, default="")
    startup_seconds: float = field(init=False, default=0.0)
    _commands: dict[str, tuple[list[str], dict[str, str]]] = field(init=False, default_factory=dict)
    _processes: dict[str, subprocess.Popen[bytes]] = field(init=False, default_factory=dict)

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalCluster:
        began = time.monotonic()
        self.plane = ControlPlane(
            binaries=self.envtest, crd_paths=self.crd_paths, extra_users=self.extra_users
        )
        self.plane.start()
        try:
            self._start_components()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        for name in reversed(list(self._processes)):
            processes.stop(self._processes.pop(name))
        self.plane.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- what callers use --------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.plane.kubeconfig

    def client(self, user: User | None = None) -> Client:
        return self.plane.client(user)

    def stop_component(self, name: str) -> None:
        """Stops one component (e.g. ``tekton-controller``) until ``start_component``."""
        processes.stop(self._processes.pop(name))

    def start_component(self, name: str) -> None:
        args, env = self._commands[name]
        self._spawn(name, args, env)

    def push_bundle(self, repository: str, files: list[Path]) -> str:
        """Pushes the Tekton resources in ``files`` as a bundle to ``<registry>/<repository>`` and
        returns the pushed reference pinned by digest (``...@sha256:...``)."""
        reference = f"{self.registry}/{repository}"
        result = subprocess.run(
            [str(self.binaries / "wfe-bundle"), "push", reference, *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise ClusterError(f"pushing {reference} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def log_tail(self, name: str, lines: int = 40) -> str:
        log = self.plane.workdir / f"{name}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # --- internals ---------------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self._commands[name] = (args, env or {})
        self._processes[name] = processes.spawn(
            args, self.plane.workdir / f"{name}.log", env=env or None
        )

    def _start_components(self) -> None:
        admin = self.plane.client()
        kubeconfig = str(self.plane.kubeconfig)
        _let_failed_resolutions_be_written(admin)
        serving = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
        ]
        self._spawn(
            "kube-scheduler",
            [
                str(self.binaries / "kube-scheduler"),
                *serving,
                f"--secure-port={processes.free_port()}",
            ],
        )
        # Not the node lifecycle controller: kwok's heartbeats are too sparse for it and it would
        # taint the fake node. The Job controller serves the Job execution engine.
        self._spawn(
            "kube-controller-manager",
            [
                str(self.binaries / "kube-controller-manager"),
                *serving,
                f"--secure-port={processes.free_port()}",
                "--controllers=garbagecollector,namespace,serviceaccount,job",
                "--concurrent-gc-syncs=5",
            ],
        )
        _apply(admin, yaml.safe_load((HERE / "node.yaml").read_text()))
        self._spawn(
            "kwok",
            [
                str(self.binaries / "kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={HERE / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=10.0.0.10",
                "--cidr=10.0.1.0/24",
                f"--server-address=127.0.0.1:{processes.free_port()}",
            ],
        )
        config = self.binaries / "tekton-config"
        for path in [
            *sorted(config.glob("*.yaml")),
            *sorted((config / "resolvers").glob("*.yaml")),
        ]:
            for document in yaml.safe_load_all(path.read_text()):
                if document and document.get("kind") in ("Namespace", "ConfigMap"):
                    _apply(admin, document)
        self._spawn(
            "tekton-controller",
            [
                str(self.binaries / "tekton-controller"),
                f"--kubeconfig={kubeconfig}",
                "--disable-ha",
                f"-entrypoint-image={_SIM_IMAGE.format('entrypoint')}",
                f"-nop-image={_SIM_IMAGE.format('nop')}",
                f"-sidecarlogresults-image={_SIM_IMAGE.format('sidecarlogresults')}",
                f"-workingdirinit-image={_SIM_IMAGE.format('workingdirinit')}",
                "-shell-image=sim.invalid/busybox:latest",
                "-shell-image-win=sim.invalid/powershell:latest",
            ],
            _knative_environment(
                TEKTON_NAMESPACE,
                "tekton.dev/pipeline",
                CONFIG_DEFAULTS_NAME="config-defaults",
                CONFIG_FEATURE_FLAGS_NAME="feature-flags",
                CONFIG_LEADERELECTION_NAME="config-leader-election-controller",
                CONFIG_SPIRE="config-spire",
            ),
        )
        address_file = self.plane.workdir / "registry.addr"
        self._spawn(
            "registry",
            [str(self.binaries / "wfe-bundle"), "serve", "-addr-file", str(address_file)],
        )
        self._spawn(
            "tekton-resolvers",
            [str(self.binaries / "tekton-resolvers"), f"--kubeconfig={kubeconfig}"],
            _knative_environment(
                RESOLVERS_NAMESPACE,
                "tekton.dev/resolution",
                CONFIG_FEATURE_FLAGS_NAME="feature-flags",
                CONFIG_LEADERELECTION_NAME="config-leader-election-resolvers",
                TEKTON_HUB_API="",
                ARTIFACT_HUB_API="https://artifacthub.invalid/",
            ),
        )
        host_port = wait_for(
            lambda: address_file.exists() and address_file.read_text().strip(),
            timeout=30,
            message="the registry to listen",
        )
        # go-containerregistry (and so Tekton's bundles resolver) speaks plain HTTP to localhost
        self.registry = "localhost:" + str(host_port).rsplit(":", 1)[1]

    def _wait_ready(self) -> None:
        admin = self.plane.client()
        deadline = time.monotonic() + self.startup_timeout

        def remaining() -> float:
            return max(1.0, deadline - time.monotonic())

        self._check_alive()
        wait_for(
            lambda: self._check_alive() or _node_ready(admin),
            timeout=remaining(),
            message=f"kwok to make {NODE_NAME} Ready",
        )
        # The NodeRestriction/TaintNodesByCondition admission taints every new node not-ready; the
        # node lifecycle controller would lift it, and it does not run here (see above).
        admin.patch(NODES, NODE_NAME, {"spec": {"taints": None}})
        self._run_ready_check(admin, remaining())

    def _run_ready_check(self, admin: Client, timeout: float) -> None:
        """Tekton is ready when it has run a PipelineRun to the end through scheduler and kwok."""
        _apply(
            admin,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": READY_CHECK_NAMESPACE}},
        )
        # Tekton's pod builder reads the run's ServiceAccount; the SA controller may not be there yet
        _apply(
            admin,
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": READY_CHECK_NAMESPACE},
            },
        )
        run = {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {"name": "ready", "namespace": READY_CHECK_NAMESPACE},
            "spec": {
                "pipelineSpec": {
                    "tasks": [
                        {
                            "name": "check",
                            "taskSpec": {
                                "steps": [
                                    {
                                        "name": "ok",
                                        "image": "sim.invalid/busybox",
                                        "command": ["true"],
                                    }
                                ]
                            },
                        }
                    ]
                }
            },
        }
        admin.create(PIPELINE_RUNS, run)

        def verdict() -> str | None:
            self._check_alive()
            status = admin.get(PIPELINE_RUNS, "ready", READY_CHECK_NAMESPACE).get("status") or {}
            for condition in status.get("conditions") or []:
                if condition.get("type") == "Succeeded" and condition.get("status") != "Unknown":
                    return f"{condition.get('status')}: {condition.get('reason')} {condition.get('message')}"
            return None

        outcome = wait_for(
            verdict, timeout=timeout, interval=0.2, message="Tekton to run a PipelineRun"
        )
        if not outcome.startswith("True"):
            raise ClusterError(
                f"Tekton failed its ready check: {outcome}\n{self.log_tail('tekton-controller')}"
            )
        admin.delete(NAMESPACES, READY_CHECK_NAMESPACE)

    def _check_alive(self) -> None:
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise ClusterError(
                    f"{name} exited with {process.returncode}:\n{self.log_tail(name)}"
                )


def _knative_environment(namespace: str, metrics_domain: str, **extra: str) -> dict[str, str]:
    """What a knative-based Tekton binary reads from its Deployment's environment."""
    return {
        **os.environ,
        "SYSTEM_NAMESPACE": namespace,
        "KUBERNETES_MIN_VERSION": "v1.28.0",
        "CONFIG_LOGGING_NAME": "config-logging",
        "CONFIG_OBSERVABILITY_NAME": "config-observability",
        "METRICS_DOMAIN": metrics_domain,
        "PROBES_PORT": str(processes.free_port()),
        "PROFILING_PORT": str(processes.free_port()),
        "METRICS_PROMETHEUS_HOST": "127.0.0.1",
        "METRICS_PROMETHEUS_PORT": str(processes.free_port()),
        **extra,
    }


def _let_failed_resolutions_be_written(admin: Client) -> None:
    # Tekton v1.12.0's ResolutionRequest CRD requires status.data, refSource and source, but the
    # resolvers write a failed resolution with those null (dropped by the API server), so the write
    # is refused and the PipelineRun waits out its whole timeout instead of failing with
    # CouldntGetPipeline. Dropping the list lets the real failure through.
    crd = admin.get(CRDS, "resolutionrequests.resolution.tekton.dev")
    for version in crd["spec"]["versions"]:
        version["schema"]["openAPIV3Schema"]["properties"].get("status", {}).pop("required", None)
    admin.update(CRDS, crd)


def _node_ready(admin: Client) -> bool:
    node = admin.get_or_none(NODES, NODE_NAME) or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


_RESOURCES = {
    "Namespace": NAMESPACES,
    "ConfigMap": CONFIG_MAPS,
    "Node": NODES,
    "ServiceAccount": SERVICE_ACCOUNTS,
}


def _apply(admin: Client, document: dict[str, Any]) -> None:
    """Creates ``document`` unless it exists (the cluster is new: nothing to update)."""
    try:
        admin.create(_RESOURCES[document["kind"]], document)
    except Exception as err:
        if not is_already_exists(err):
            raise
