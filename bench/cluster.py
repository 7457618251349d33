"""The local control plane the benchmark runs against (real etcd + kube-apiserver, both CRD sets)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from wfe.runtime.client import NAMESPACES, Client, is_already_exists
from wfe.runtime.envtest import ControlPlane

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "hack" / "build-envtest.sh"
PROJECT_CRDS = REPO / "config" / "crd" / "bases"


class AssetsError(RuntimeError):
    """The control plane binaries could not be found or built."""


def envtest_assets() -> Path:
    """``$WFE_ENVTEST_ASSETS`` (``make bench`` sets it), else what hack/build-envtest.sh prints."""
    explicit = os.environ.get("WFE_ENVTEST_ASSETS")
    if explicit:
        return Path(explicit)
    built = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise AssetsError(f"hack/build-envtest.sh failed:\n{built.stderr[-3000:]}")
    return Path(built.stdout.strip().splitlines()[-1])


def control_plane() -> ControlPlane:
    """A control plane with the WorkflowExecution and Tekton CRDs; not started."""
    assets = envtest_assets()
    return ControlPlane(binaries=assets, crd_paths=[PROJECT_CRDS, assets / "tekton-crds"])


def started_control_plane(teardown: ExitStack, progress: Callable[[str], None]) -> ControlPlane:
    """A control plane started now and stopped when ``teardown`` closes."""
    plane = control_plane()
    teardown.callback(plane.stop)
    plane.start()
    progress(f"control plane up in {plane.startup_seconds:.1f}s at {plane.url}")
    return plane


def ensure_namespaces(client: Client, names: list[str]) -> None:
    for name in names:
        try:
            client.create(NAMESPACES, {"metadata": {"name": name}})
        except Exception as err:
            if not is_already_exists(err):
                raise


def api_server_version(client: Client, binaries: Path) -> str:
    """``/version``'s gitVersion; a build without version stamps names its assets directory,
    which hack/build-envtest.sh names after the pinned Kubernetes and Tekton versions."""
    version = str(client.request("GET", "/version").get("gitVersion", ""))
    if not version or "$Format" in version or version.startswith("v0.0.0"):
        return f"unstamped build ({binaries.name})"
    return version
