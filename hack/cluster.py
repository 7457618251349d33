"""``make cluster``: the local cluster with a real Tekton in the foreground until SIGTERM/Ctrl-C.

Prints one line ``KUBECONFIG=<path>`` on stdout once Tekton has run a PipelineRun end to end;
everything else (build progress, timings, the registry's address) goes to stderr.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from support.cluster import LocalCluster, cluster_binaries
from support.envtest_assets import crd_paths, envtest_assets


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    assets = envtest_assets()
    binaries = cluster_binaries()
    with LocalCluster(envtest=assets, binaries=binaries, crd_paths=crd_paths(assets)) as cluster:
        print(
            f"cluster: ready in {cluster.startup_seconds:.1f}s at {cluster.plane.url} "
            f"(Tekton ran a PipelineRun); OCI registry for Tekton bundles at {cluster.registry}; "
            f"push one with: {binaries / 'wfe-bundle'} push {cluster.registry}/NAME:TAG FILE.yaml",
            file=sys.stderr,
        )
        print(f"KUBECONFIG={cluster.kubeconfig}", flush=True)
        stop.wait()
        print("cluster: stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
