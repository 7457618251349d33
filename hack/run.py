"""``make run``: the controller from source against the current kubeconfig (kubebuilder's make run).

With no cluster configured (no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, not in a pod), it
starts the local control plane (real etcd + kube-apiserver built by hack/build-envtest.sh), installs
the WorkflowExecution and Tekton CRDs, creates the execution namespace, and runs the controller
against it, saying so. Stop with Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from support.envtest_assets import crd_paths, envtest_assets

from wfe.cmd import main as controller_main
from wfe.config import parse
from wfe.runtime.client import NAMESPACES, has_cluster_config, is_already_exists
from wfe.runtime.envtest import ControlPlane


def _kubeconfig_flag(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--kubeconfig="):
            return arg.split("=", 1)[1]
        if arg == "--kubeconfig" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def main() -> int:
    argv = sys.argv[1:]
    if has_cluster_config(_kubeconfig_flag(argv)):
        return controller_main(argv)
    print(
        "run: no cluster configured (no --kubeconfig, $KUBECONFIG or ~/.kube/config); starting the "
        "local control plane (etcd + kube-apiserver; the first run builds them from Go modules, "
        "which takes a few minutes)",
        file=sys.stderr,
        flush=True,
    )
    assets = envtest_assets()
    with ControlPlane(binaries=assets, crd_paths=crd_paths(assets)) as plane:
        # the execution namespace, and the one the RemediationOrchestrator (and the sample) uses
        for namespace in (parse(argv).execution_namespace, "kubernaut-system"):
            try:
                plane.client().create(NAMESPACES, {"metadata": {"name": namespace}})
            except Exception as err:
                if not is_already_exists(err):
                    raise
        print(
            f"run: local control plane ready in {plane.startup_seconds:.1f}s at {plane.url}; CRDs "
            f"installed; running the controller against it.\n"
            f"run: try  KUBECONFIG={plane.kubeconfig} kubectl apply -f "
            "config/samples/workflowexecution_v1alpha1_workflowexecution.yaml",
            file=sys.stderr,
            flush=True,
        )
        return controller_main(["--kubeconfig", str(plane.kubeconfig), *argv])


if __name__ == "__main__":
    sys.exit(main())
