"""One benchmark run, start to finish: the control plane up, then per setting and per repeat the
bare-client reference and every system (order rotating per repeat), the direct lock check, and
everything torn down again whatever happens."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import affinity, cluster, environment, lock_check, peers
from bench.apiserver_requests import ApiServerRequests
from bench.measure import Harness, run_reference, run_system
from bench.settings import Setting, setting
from bench.sizes import Size
from bench.systems import PEERS, PYTHON

Progress = Callable[[str], None]
Object = dict[str, Any]


@dataclass
class Results:
    size: Size
    systems: list[str]
    settings: list[Setting]
    environment: environment.Environment
    control_plane_start_s: float
    runs: list[Object] = field(default_factory=list)
    lock_check: lock_check.LockCheckResult | None = None
    machine_load: dict[str, str] = field(default_factory=dict)  # `uptime` before and after
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size.as_dict(),
            "systems": self.systems,
            "settings": {s.name: s.describe() for s in self.settings},
            "environment": self.environment.as_dict(),
            "control_plane_start_s": self.control_plane_start_s,
            "machine_load": self.machine_load,
            "wall_s": self.wall_s,
            "runs": self.runs,
            "lock_check_direct": self.lock_check.as_dict() if self.lock_check else None,
        }


def load_results(documents: Sequence[dict[str, Any]]) -> Results:
    """One Results over several ``report.json`` documents (say, one per setting, each taken in a
    locked slot of its own): their runs together, the first one's size, systems and environment."""
    if not documents:
        raise ValueError("no report to read")
    first = documents[0]
    every_cpu = affinity.allowed_cpus()
    names = [n for d in documents for n in d["settings"]]
    merged = Results(
        size=Size(**first["size"]),
        systems=list(first["systems"]),
        settings=[setting(n, every_cpu) for n in dict.fromkeys(names)],
        environment=environment.Environment(**first["environment"]),
        control_plane_start_s=float(first["control_plane_start_s"]),
        runs=[run for d in documents for run in d["runs"]],
        wall_s=sum(float(d["wall_s"]) for d in documents),
    )
    for d in documents:
        label = ", ".join(d["settings"])
        for when, text in d["machine_load"].items():
            merged.machine_load[f"{when} ({label})"] = text
    checks = [d["lock_check_direct"] for d in documents if d.get("lock_check_direct")]
    if checks:
        merged.lock_check = lock_check.LockCheckResult.from_dict(checks[0])
    return merged


def uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or " ".join(f"{x:.2f}" for x in os.getloadavg())


def rotate(items: Sequence[str], by: int) -> list[str]:
    """``items`` started ``by`` places further on: each repeat leads with another system."""
    k = by % len(items) if items else 0
    return [*items[k:], *items[:k]]


def apply(s: Setting, control_plane: dict[str, int], every_cpu: list[int]) -> None:
    """Pins kube-apiserver, etcd and this process as ``s`` says (unpinned: every CPU)."""
    for pid in control_plane.values():
        affinity.pin(pid, s.control_plane_cpus or every_cpu)
    affinity.pin(os.getpid(), s.harness_cpus or every_cpu)


def run(
    size: Size,
    progress: Progress,
    *,
    systems: Sequence[str],
    settings: Sequence[str],
    repeats: int,
    out: Path,
) -> Results:
    began = time.monotonic()
    machine = {"before": uptime()}
    every_cpu = affinity.allowed_cpus()
    chosen = [setting(name, every_cpu) for name in settings]
    prepared = None
    if set(systems) & set(PEERS):
        progress("preparing the peers (built once into ~/.cache/wfe-bench)")
        prepared = peers.prepare()
    run_id = format(int(time.time()) % 100000, "05d")
    with ExitStack() as teardown:
        plane = cluster.started_control_plane(teardown, progress)
        teardown.callback(affinity.pin, os.getpid(), every_cpu)
        admin = plane.client()
        results = Results(
            size=size,
            systems=list(systems),
            settings=chosen,
            environment=environment.collect(admin, plane.binaries),
            control_plane_start_s=plane.startup_seconds,
        )
        control_plane = affinity.control_plane_pids()
        harness = Harness(
            client=plane.client,
            kubeconfig=plane.kubeconfig,
            requests=ApiServerRequests(plane),
            size=size,
            out=out,
            progress=progress,
            peers=prepared,
        )
        for s in chosen:
            apply(s, control_plane, every_cpu)
            progress(f"setting {s.describe()}")
            short = "".join(word[0] for word in s.name.split("-"))
            for repeat in range(repeats):
                tag = f"{run_id}-{short}-{repeat}"
                reference = run_reference(harness, s, f"{tag}-ref")
                results.runs.append({**reference, "repeat": repeat})
                for system in rotate(systems, repeat):
                    progress(f"--- {system}, {s.name}, repeat {repeat + 1}/{repeats}")
                    measured = run_system(harness, system, s, f"{tag}-{system}")
                    results.runs.append({**measured, "repeat": repeat})
        apply(setting("shared"), control_plane, every_cpu)
        if PYTHON in systems and harness.template is not None:
            template = harness.template
            began_check = time.monotonic()
            results.lock_check = lock_check.measure(template, size.cached_wfes, size.lock_checks)
            progress(
                f"lock check over {size.cached_wfes} cached WFEs: "
                f"{time.monotonic() - began_check:.1f}s"
            )
    machine["after"] = uptime()
    results.machine_load = machine
    results.wall_s = time.monotonic() - began
    return results
