"""Cold start with N WorkflowExecutions in the cluster: from process start until the caches are
synced and every WorkflowExecution of the initial list has been reconciled.

"Drained" is found without perturbing the controller: its CPU time (from /proc) is read every
100 ms once its log says the workers started; the first 100 ms in which it used (nearly) no CPU
is confirmed by one scrape (reconciles ≥ N, work queue empty, no worker busy), and the start of that
quiet window counts as the end of the cold start. Scraping in a loop instead would measure the
scrapes: each one lists the whole cache for the gauges computed at scrape time.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.controller_process import ControllerProcess
from bench.errors import ProgressTimeoutError
from bench.scale import controller
from bench.scale.scrape import (
    ACTIVE_WORKERS,
    CONTROLLER,
    QUEUE_DEPTH,
    RECONCILE_TOTAL,
    Scrape,
)

POLL_S = 0.1
QUIET_CPU_S = 0.011  # at most one 10 ms clock tick in a poll interval
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ColdStart:
    workflow_executions: int
    to_cache_start_s: float | None  # process start → "starting cache" (imports, start-up checks)
    to_workers_s: float | None  # process start → "Starting workers" (caches synced)
    to_ready_s: float  # process start → /readyz answered
    to_drained_s: float  # process start → the initial reconciles done
    reconciles: float  # at the confirming scrape
    cpu_s: float  # the controller's CPU time when drained
    rss_mib: float  # right after the cold start
    peak_rss_mib: float  # VmHWM right after the cold start

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Launchable(Protocol):
    """A controller to start (this project's or a peer) and the log lines that mark its phases."""

    @property
    def log(self) -> Path: ...

    @property
    def cache_starting(self) -> str: ...

    @property
    def workers_starting(self) -> str: ...

    def start(self) -> ControllerProcess: ...


def drained(scrape: Scrape, expected: int) -> bool:
    return (
        scrape.value(RECONCILE_TOTAL, controller=CONTROLLER) >= expected
        and scrape.value(QUEUE_DEPTH, name=CONTROLLER) == 0
        and scrape.value(ACTIVE_WORKERS, controller=CONTROLLER) == 0
    )


def measure(launch: Launchable, expected: int) -> tuple[ControllerProcess, ColdStart]:
    """Starts the controller; returns it (running) and its cold start."""
    began_wall, began = time.time(), time.monotonic()
    process = launch.start()
    ready = time.monotonic()
    try:
        drained_at, scrape = _wait_drained(process, launch, expected)
    except BaseException:
        process.stop()
        raise
    phases = controller.log_times(launch.log, [launch.cache_starting, launch.workers_starting])

    def since_start(message: str) -> float | None:
        stamp = phases.get(message)
        return None if stamp is None else stamp - began_wall

    return process, ColdStart(
        workflow_executions=expected,
        to_cache_start_s=since_start(launch.cache_starting),
        to_workers_s=since_start(launch.workers_starting),
        to_ready_s=ready - began,
        to_drained_s=drained_at - began,
        reconciles=scrape.value(RECONCILE_TOTAL, controller=CONTROLLER),
        cpu_s=process.cpu_seconds(),
        rss_mib=process.rss_kib() / 1024,
        peak_rss_mib=process.peak_rss_kib() / 1024,
    )


def _wait_drained(
    process: ControllerProcess, launch: Launchable, expected: int
) -> tuple[float, Scrape]:
    deadline = time.monotonic() + TIMEOUT_S
    last_cpu, last_at = process.cpu_seconds(), time.monotonic()
    workers_started = False
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        process.check_alive()
        cpu, now = process.cpu_seconds(), time.monotonic()
        if not workers_started:
            workers_started = bool(controller.log_times(launch.log, [launch.workers_starting]))
        elif cpu - last_cpu <= QUIET_CPU_S:
            scrape = Scrape.parse(process.scrape())
            if drained(scrape, expected):
                return last_at, scrape
            now = time.monotonic()  # the scrape itself took CPU: start a fresh window
            cpu = process.cpu_seconds()
        last_cpu, last_at = cpu, now
    raise ProgressTimeoutError(
        f"cold start: {expected} WorkflowExecutions not reconciled within {TIMEOUT_S:g}s"
    )
