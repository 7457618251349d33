"""The controller under measurement: the ``wfe-controller`` console script of a runtime-only
virtualenv (``bench.controller_venv``: as the image installs it), started as its own process with
plain-HTTP metrics on loopback, as deployed (4 workers, audit sink none)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from bench import controller_venv
from bench.controller_process import ControllerProcess
from wfe.runtime.envtest import processes

TRACED_CONTROLLER = Path(__file__).resolve().parents[1] / "traced_controller.py"

# the lines of the controller's own log that mark the phases of a start
CACHE_STARTING = "starting cache and waiting for it to sync"
WORKERS_STARTING = "Starting workers"


def console_script() -> Path:
    """``wfe-controller`` as deployed (``bench.controller_venv``), as the benchmark runs it."""
    return controller_venv.controller().script


@dataclass(frozen=True)
class MemoryTrace:
    """Run the controller under tracemalloc (``bench/traced_controller.py``): a heap snapshot and a
    memory line into ``directory`` every ``interval_s``, ``frames`` frames per allocation."""

    directory: Path
    interval_s: float = 300.0
    frames: int = 10

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` (the console script and its flags) run through the traced entry point, by
        the interpreter of the script's own virtualenv."""
        script, flags = Path(command[0]), command[1:]
        python = script.parent / "python"
        return [
            str(python),
            str(TRACED_CONTROLLER),
            str(self.directory),
            f"{self.interval_s:g}",
            str(self.frames),
            "--",
            *flags,
        ]


@dataclass(frozen=True)
class Launch:
    kubeconfig: Path
    execution_namespace: str
    log: Path
    watch_namespace: str | None = None
    extra_flags: tuple[str, ...] = ()
    memory_trace: MemoryTrace | None = None  # diagnostic: the controller under tracemalloc
    # the log lines that mark the start-up checks done and the caches synced
    cache_starting: ClassVar[str] = CACHE_STARTING
    workers_starting: ClassVar[str] = WORKERS_STARTING

    def start(self) -> ControllerProcess:
        return start(self)

    def command(self, metrics_port: int, probe_port: int) -> list[str]:
        flags = [
            str(console_script()),
            f"--kubeconfig={self.kubeconfig}",
            f"--execution-namespace={self.execution_namespace}",
            "--audit-sink=none",
            "--metrics-secure=false",
            f"--metrics-bind-address=127.0.0.1:{metrics_port}",
            f"--health-probe-bind-address=127.0.0.1:{probe_port}",
            "--log-format=json",
        ]
        if self.watch_namespace:
            flags.append(f"--watch-namespace={self.watch_namespace}")
        command = [*flags, *self.extra_flags]
        return self.memory_trace.wrap(command) if self.memory_trace else command


def start(launch: Launch) -> ControllerProcess:
    """Starts the controller and waits until it is ready (its own readiness, as the kubelet would)."""
    return start_process(launch.command, launch.log, "wfe-controller")


def start_process(
    command: Callable[[int, int], list[str]], log: Path, name: str
) -> ControllerProcess:
    """Starts ``command(metrics_port, probe_port)`` with free loopback ports and waits until its
    /readyz answers; its log starts afresh (a start's phases are read back from it)."""
    metrics_port, probe_port = processes.free_port(), processes.free_port()
    log.unlink(missing_ok=True)
    return ControllerProcess(
        command(metrics_port, probe_port),
        log_path=log,
        ready_url=f"http://127.0.0.1:{probe_port}/readyz",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        name=name,
    ).start()


def log_times(log: Path, messages: Sequence[str]) -> dict[str, float]:
    """The wall-clock time (epoch seconds) each of ``messages`` first appears in the JSON log.

    ``ts`` is RFC 3339 (this controller) or epoch seconds (zap's production encoder: the Go peer).
    """
    found: dict[str, float] = {}
    for message, at, _ in _log_entries(log):
        if isinstance(message, str) and message in messages and message not in found:
            found[message] = at
    return found


def log_times_by_name(log: Path, message: str, names: Collection[str]) -> dict[str, float]:
    """The wall-clock time (epoch seconds) ``message`` first appears in the JSON log for each
    object of ``names`` (the ``name`` field this controller binds into every reconcile's lines)."""
    wanted = set(names)
    found: dict[str, float] = {}
    for logged, at, entry in _log_entries(log, containing=f'"{message}"'):
        name = entry.get("name")
        if logged == message and name in wanted and name not in found:
            found[name] = at
    return found


def _log_entries(log: Path, containing: str = "") -> Iterator[tuple[object, float, dict[str, Any]]]:
    """(message, epoch seconds, the whole entry) of each JSON line with a readable time stamp;
    ``containing`` skips, before decoding, the lines without that text."""
    if not log.exists():
        return
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{") or containing not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        at = _epoch_seconds(entry.get("ts"))
        if at is not None:
            yield entry.get("msg", entry.get("event")), at, entry


def _epoch_seconds(stamp: object) -> float | None:
    if isinstance(stamp, bool):
        return None
    if isinstance(stamp, int | float):
        return float(stamp)
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
