"""Finds (building on first use) the local cluster's binaries: hack/build-cluster.sh's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO / "hack" / "build-cluster.sh"


def cluster_binaries() -> Path:
    """``$WFE_CLUSTER_BINARIES`` or the directory hack/build-cluster.sh prints (building it once,
    with its progress on our stderr: a cold build takes many minutes)."""
    explicit = os.environ.get("WFE_CLUSTER_BINARIES")
    if explicit:
        return Path(explicit)
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError("building the local cluster failed (hack/build-cluster.sh, see above)")
    return Path(result.stdout.strip().splitlines()[-1])
