"""Where each process runs: the two CPU settings the benchmark compares systems in.

* **shared**: nothing pinned; the control plane, the harness, the load and the controller share
  every core, 4 workers (the default). What a small cluster looks like.
* **controller-bound**: kube-apiserver, etcd, the harness (the observer) and the load process on
  the first CPU, the controller alone on the second, 16 workers. The controller has one core to
  itself and plenty of parallel requests, so its CPU per workflow decides how far it goes. The
  bare-client reference stands in for the controller there, on the controller's CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.affinity import allowed_cpus

SHARED = "shared"
CONTROLLER_BOUND = "controller-bound"
ALL_SETTINGS = (SHARED, CONTROLLER_BOUND)


@dataclass(frozen=True)
class Setting:
    name: str
    workers: int  # --max-concurrent-reconciles (kopf: handler threads); reference threads
    control_plane_cpus: frozenset[int] | None  # None: not pinned (every allowed CPU)
    harness_cpus: frozenset[int] | None  # this process, hence the observer, and the load process
    controller_cpus: frozenset[int] | None  # the system under test, or the bare reference client

    @property
    def pinned(self) -> bool:
        return self.controller_cpus is not None

    def describe(self) -> str:
        if not self.pinned:
            return f"{self.name}: nothing pinned, {self.workers} workers"
        return (
            f"{self.name}: kube-apiserver, etcd, observer and load on CPU "
            f"{_cpus(self.control_plane_cpus)}, the controller on CPU {_cpus(self.controller_cpus)}, "
            f"{self.workers} workers"
        )


def _cpus(cpus: frozenset[int] | None) -> str:
    return ",".join(str(c) for c in sorted(cpus or ()))


def setting(name: str, cpus: list[int] | None = None) -> Setting:
    """The setting called ``name`` on ``cpus`` (default: the CPUs this process may use)."""
    cpus = allowed_cpus() if cpus is None else cpus
    if name == SHARED:
        return Setting(SHARED, 4, None, None, None)
    if name == CONTROLLER_BOUND:
        if len(cpus) < 2:
            raise ValueError(f"{CONTROLLER_BOUND} needs two CPUs; this process may use {cpus}")
        plane, controller = frozenset({cpus[0]}), frozenset({cpus[1]})
        return Setting(CONTROLLER_BOUND, 16, plane, plane, controller)
    raise ValueError(f"unknown setting {name!r}; choose from {', '.join(ALL_SETTINGS)}")
