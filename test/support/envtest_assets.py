"""Finds (building on first use) the envtest assets: kube-apiserver, etcd and Tekton's CRDs."""

from __future__ import annotations

from pathlib import Path

from support.built import REPO, built_directory

PROJECT_CRDS = REPO / "config" / "crd" / "bases"


def envtest_assets() -> Path:
    """``$WFE_ENVTEST_ASSETS`` (like KUBEBUILDER_ASSETS) or the output of hack/build-envtest.sh."""
    return built_directory("build-envtest.sh", "WFE_ENVTEST_ASSETS", "the envtest control plane")


def crd_paths(assets: Path) -> list[Path]:
    return [PROJECT_CRDS, assets / "tekton-crds"]
