"""What ``import wfe.cmd`` must not load: libraries whose resident memory the running controller
pays for nothing (docs/performance.md, "Resident memory as deployed")."""

from __future__ import annotations

import subprocess
import sys

# package -> why it stays out of the controller's start
_NOT_AT_START = {
    "cryptography": "~9 MiB of Rust library, needed only to make a self-signed metrics certificate",
    "pydantic": "~8 MiB and ~0.2 s of start-up with the models; a spec is checked against the "
    "generated schema instead (api/workflowexecution/v1alpha1/validation.py)",
    "yaml": "~1 MiB; read only for a kubeconfig file, never in-cluster",
    "importlib.metadata": "~1 MiB and ~50 ms of start-up to read a version wfe.__version__ holds",
}


def test_the_entry_point_leaves_the_heavy_libraries_out() -> None:
    code = (
        "import sys, wfe.cmd; "
        f"print(sorted(({{m.partition('.')[0] for m in sys.modules}} | set(sys.modules)) & {set(_NOT_AT_START)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", {
        name: _NOT_AT_START[name] for name in _NOT_AT_START if name in out.stdout
    }


def test_checking_specs_loads_no_pydantic() -> None:
    code = """
import sys
from wfe.controller.phases.pending import validation_problem
valid = {"metadata": {"name": "remediate"}, "spec": {
    "remediationRequestRef": {"name": "rr"},
    "workflowRef": {"workflowId": "w", "version": "1", "containerImage": "quay.io/a/b:1"},
    "targetResource": "ns/deployment/app"}}
invalid = {"metadata": {"name": "remediate"}, "spec": {**valid["spec"], "targetResource": "?"}}
print(validation_problem(valid) is None, validation_problem(invalid) is not None)
print("pydantic" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


def test_the_reported_version_is_the_installed_distributions() -> None:
    import importlib.metadata

    from wfe.cmd import controller_version

    assert controller_version() == importlib.metadata.version("wfe-controller")
