"""``make run``: the controller from source against the current kubeconfig (kubebuilder's make run).

With no cluster configured (no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, not in a pod) it is
the demo: it starts the local cluster (real kube-apiserver, scheduler, controller-manager, Tekton
and its bundles resolver, an OCI registry; kwok simulates the pods), pushes the sample workflow
bundle, runs the controller against it, applies the samples in config/samples/ (a success, a
failure, two on one target) and shows their progress live until Ctrl-C, which stops everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

import yaml
from live_table import LiveTable
from support.cluster import LocalCluster, cluster_binaries
from support.envtest_assets import crd_paths, envtest_assets
from support.manifests import CONFIG_DIR, kustomization_manifests
from support.rbac import apply

from wfe.cmd import main as controller_main
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, has_cluster_config, is_already_exists

SAMPLES = CONFIG_DIR / "samples"
SAMPLE_REGISTRY = "quay.io"  # the samples' bundle host; the demo serves the same paths locally
CONTROLLER_STOP_SECONDS = 40


def _kubeconfig_flag(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--kubeconfig="):
            return arg.split("=", 1)[1]
        if arg == "--kubeconfig" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def say(message: str) -> None:
    print(f"run: {message}", file=sys.stderr, flush=True)


def main() -> int:
    argv = sys.argv[1:]
    if has_cluster_config(_kubeconfig_flag(argv)):
        return controller_main(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    say(
        "no cluster configured (no --kubeconfig, $KUBECONFIG or ~/.kube/config): starting the local "
        "cluster with a real Tekton (the first run builds it from Go modules: about 25 minutes on "
        "2 cores; later runs start in under a minute)"
    )
    binaries = cluster_binaries()  # builds the envtest control plane too
    assets = envtest_assets()
    say("starting etcd, kube-apiserver, scheduler, controller-manager, kwok, Tekton, registry")
    with LocalCluster(envtest=assets, binaries=binaries, crd_paths=crd_paths(assets)) as cluster:
        say(f"local cluster ready in {cluster.startup_seconds:.0f}s (Tekton ran a PipelineRun)")
        admin = cluster.client()
        for manifest in kustomization_manifests(CONFIG_DIR / "runner"):
            apply(admin, manifest)
        apply(admin, yaml.safe_load((CONFIG_DIR / "manager" / "namespace.yaml").read_text()))
        digests: dict[str, str] = {}
        for workflow in sorted((SAMPLES / "workflows").glob("*.yaml")):
            pinned = cluster.push_bundle(f"kubernaut/workflows/{workflow.stem}:v1.0.0", [workflow])
            repository, digests[repository] = pinned.rsplit("@", 1)
            say(f"pushed the sample workflow bundle {pinned}")
        logdir = Path(tempfile.mkdtemp(prefix="wfe-run-"))
        log = logdir / "controller.log"
        controller = _start_controller(cluster.kubeconfig, argv, log)
        try:
            _apply_samples(admin, cluster.registry, digests)
            table = LiveTable(
                admin,
                header=[
                    f"KUBECONFIG={cluster.kubeconfig}   (kubectl get wfe -A, pipelineruns -A)",
                    f"controller log: {log}   registry: {cluster.registry}   Ctrl-C stops all",
                ],
            )
            while not stop.is_set():
                if controller.poll() is not None:
                    say(f"the controller exited with {controller.returncode}; see {log}")
                    return 1
                table.refresh()
                stop.wait(1.0)
            say("stopping the controller and the local cluster")
        finally:
            _stop(controller)
    return 0


def _start_controller(kubeconfig: Path, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    say(f"running the controller from source; its log: {log}")
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wfe", f"--kubeconfig={kubeconfig}", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Ctrl-C reaches the whole foreground group: let us stop the controller in order
            start_new_session=True,
        )


def _stop(controller: subprocess.Popen[bytes]) -> None:
    if controller.poll() is not None:
        return
    controller.send_signal(signal.SIGTERM)
    try:
        controller.wait(timeout=CONTROLLER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        controller.kill()
        controller.wait()


def _apply_samples(admin: Client, registry: str, digests: dict[str, str]) -> None:
    """Creates the samples, pointed at the bundles just pushed: same paths on the local registry,
    and a sample that pins an approved digest pins the pushed one (the sample's is an example)."""
    for sample in kustomization_manifests(SAMPLES):
        workflow_ref = sample["spec"]["workflowRef"]
        image: str = workflow_ref["containerImage"]
        if image.startswith(SAMPLE_REGISTRY + "/"):
            image = registry + image[len(SAMPLE_REGISTRY) :]
            workflow_ref["containerImage"] = image
        repository = image.split("@", 1)[0].rsplit(":", 1)[0]
        if "containerDigest" in workflow_ref and repository in digests:
            workflow_ref["containerDigest"] = digests[repository]
        try:
            admin.create(WORKFLOW_EXECUTIONS, sample)
        except Exception as err:
            if not is_already_exists(err):
                raise
        say(f"applied the sample {sample['metadata']['namespace']}/{sample['metadata']['name']}")


if __name__ == "__main__":
    sys.exit(main())
