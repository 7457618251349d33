"""``make control-plane``: the local etcd + kube-apiserver in the foreground until SIGTERM/Ctrl-C.

Prints one line ``KUBECONFIG=<path>`` on stdout when the API server is ready and the project's and
Tekton's CRDs are served. Everything else goes to stderr.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from support.envtest_assets import crd_paths, envtest_assets

from wfe.runtime.envtest import ControlPlane


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    assets = envtest_assets()
    with ControlPlane(binaries=assets, crd_paths=crd_paths(assets)) as plane:
        print(
            f"control plane ready in {plane.startup_seconds:.1f}s at {plane.url}", file=sys.stderr
        )
        print(f"KUBECONFIG={plane.kubeconfig}", flush=True)
        stop.wait()
        print("stopping the control plane", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
