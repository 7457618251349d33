"""CPU pinning of running processes (every thread of them), and finding the control plane's.

``os.sched_setaffinity(pid)`` pins one thread only; a Go program such as kube-apiserver runs many,
so each task under ``/proc/<pid>/task`` is pinned. Threads started later inherit the mask of the
thread that starts them, and the Go runtime (≥ 1.25) follows the new mask with GOMAXPROCS.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path

CONTROL_PLANE_COMMANDS = frozenset(("kube-apiserver", "etcd"))


def allowed_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pin(pid: int, cpus: Collection[int]) -> None:
    """Pins every thread of ``pid`` to ``cpus`` (threads that exit meanwhile are skipped)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            os.sched_setaffinity(int(task.name), set(cpus))


def cpus_of(pid: int) -> set[int]:
    return set(os.sched_getaffinity(pid))


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def children_named(names: Iterable[str], parent: int | None = None) -> dict[str, int]:
    """This process's (or ``parent``'s) children whose command is one of ``names``, by name."""
    wanted = frozenset(names)
    return {
        command_name(child): child
        for child in children(os.getpid() if parent is None else parent)
        if command_name(child) in wanted
    }


def control_plane_pids() -> dict[str, int]:
    """kube-apiserver and etcd, started by this process (``wfe.runtime.envtest``)."""
    found = children_named(CONTROL_PLANE_COMMANDS)
    missing = CONTROL_PLANE_COMMANDS - found.keys()
    if missing:
        raise RuntimeError(f"no {', '.join(sorted(missing))} among this process's children")
    return found
