"""Finds (building on first use) the local cluster's binaries: hack/build-cluster.sh's output."""

from __future__ import annotations

from pathlib import Path

from support.built import built_directory


def cluster_binaries() -> Path:
    """``$WFE_CLUSTER_BINARIES`` or the directory hack/build-cluster.sh prints."""
    return built_directory("build-cluster.sh", "WFE_CLUSTER_BINARIES", "the local cluster")
