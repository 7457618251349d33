"""Finds (building on first use) the envtest assets: kube-apiserver, etcd and Tekton's CRDs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "hack" / "build-envtest.sh"
PROJECT_CRDS = REPO / "config" / "crd" / "bases"


def envtest_assets() -> Path:
    """``$WFE_ENVTEST_ASSETS`` (like KUBEBUILDER_ASSETS) or the output of hack/build-envtest.sh."""
    explicit = os.environ.get("WFE_ENVTEST_ASSETS")
    if explicit:
        return Path(explicit)
    # progress on our stderr: a cold build takes many minutes and should say so as it goes
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            "building the envtest control plane failed (hack/build-envtest.sh, see above)"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def crd_paths(assets: Path) -> list[Path]:
    return [PROJECT_CRDS, assets / "tekton-crds"]
