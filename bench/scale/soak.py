"""The soak: the controller (its own process) under a steady trickle of workflows for a given time,
its RSS, open file descriptors and CPU sampled at a fixed interval, and a line fitted through the
second half of the samples (bench/scale/growth.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import cluster, environment
from bench.controller_process import ControllerProcess
from bench.observer import Observer
from bench.scale import controller
from bench.scale.growth import Growth, growth
from bench.scale.scrape import CONTROLLER, RECONCILE_TOTAL, Scrape
from bench.scale.trickle import Counts, Trickle
from bench.stats import Distribution

NAMESPACE = "soak"
EXECUTION_NAMESPACE = "kubernaut-workflows"
RSS_BUDGET_KIB = 256e6 / 1024  # SPEC §12: 256 MB
FD_BUDGET = 1024  # the usual soft RLIMIT_NOFILE
TOLERATED_FRACTION_PER_DAY = 0.10  # growth per day still called flat: a tenth of the budget

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SoakSettings:
    minutes: float
    rate_per_s: float = 2.0
    sample_interval_s: float = 10.0
    targets: int = 200  # a target comes back every targets / rate seconds, past its cooldown
    cooldown: str = "30s"  # so locks are released and PipelineRuns deleted within the soak
    retention_s: float = 60.0  # a finished workflow is deleted this long after it finished
    # diagnostic: the controller under tracemalloc, a heap snapshot this often (None: untraced)
    trace_memory_every_s: float | None = None
    trace_frames: int = 10  # frames per traced allocation; 0: memory lines only, no tracemalloc

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SoakSample:
    t_s: float  # since the trickle began
    rss_kib: int
    peak_rss_kib: int
    open_fds: int
    cpu_s: float
    created: int
    deleted: int
    live: int  # created, not yet deleted by the trickle
    reconciles: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SoakResults:
    settings: SoakSettings
    environment: environment.Environment
    samples: list[SoakSample]
    counts: Counts
    rss: Growth
    fds: Growth
    seconds: float

    @property
    def synced(self) -> Distribution | None:
        return Distribution.of(self.counts.synced_s) if self.counts.synced_s else None

    def as_dict(self) -> dict[str, Any]:
        synced = self.synced
        return {
            "settings": self.settings.as_dict(),
            "environment": self.environment.as_dict(),
            "seconds": self.seconds,
            "counts": {k: v for k, v in asdict(self.counts).items() if k != "synced_s"},
            "synced": synced.as_dict() if synced else None,
            "rss_growth": self.rss.as_dict(),
            "fd_growth": self.fds.as_dict(),
            "samples": [s.as_dict() for s in self.samples],
        }


class Sampler:
    """Samples the controller every ``interval`` seconds on a thread of its own."""

    def __init__(self, process: ControllerProcess, trickle: Trickle, interval: float):
        self._process = process
        self._trickle = trickle
        self._interval = interval
        self._began = time.monotonic()
        self.samples: list[SoakSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._began = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> SoakSample:
        process, counts = self._process, self._trickle.counts()
        # a scrape, as Prometheus would take one: its sockets count too
        reconciles = Scrape.parse(process.scrape()).value(RECONCILE_TOTAL, controller=CONTROLLER)
        return SoakSample(
            t_s=time.monotonic() - self._began,
            rss_kib=process.rss_kib(),
            peak_rss_kib=process.peak_rss_kib(),
            open_fds=process.open_fds(),
            cpu_s=process.cpu_seconds(),
            created=counts.created,
            deleted=counts.deleted,
            live=self._trickle.live(),
            reconciles=reconciles,
        )

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                self.samples.append(self.sample())
        except BaseException as err:  # reported by the run, which checks after the trickle
            self.error = err


def run(settings: SoakSettings, out: Path, progress: Progress) -> SoakResults:
    with ExitStack() as teardown:
        plane = cluster.started_control_plane(teardown, progress)
        admin = plane.client()
        cluster.ensure_namespaces(admin, [NAMESPACE, EXECUTION_NAMESPACE])
        setting = environment.collect(admin, plane.binaries)
        launch = controller.Launch(
            plane.kubeconfig,
            EXECUTION_NAMESPACE,
            out / "soak-controller.log",
            extra_flags=(f"--cooldown-period={settings.cooldown}",),
            memory_trace=(
                controller.MemoryTrace(
                    out / "soak-memory", settings.trace_memory_every_s, settings.trace_frames
                )
                if settings.trace_memory_every_s
                else None
            ),
        )
        process = controller.start(launch)
        teardown.callback(process.stop)
        observer = Observer(plane.client(), NAMESPACE, EXECUTION_NAMESPACE)
        teardown.callback(observer.stop)
        observer.start()
        trickle = Trickle(
            plane.client(), observer, settings.rate_per_s, settings.targets, settings.retention_s
        )
        sampler = Sampler(process, trickle, settings.sample_interval_s)
        began = time.monotonic()
        sampler.start()
        sampler.samples.append(sampler.sample())
        last_report = [began]

        def tick() -> None:
            if sampler.error is not None:
                raise sampler.error
            if time.monotonic() - last_report[0] >= 60:
                last_report[0] = time.monotonic()
                latest = sampler.samples[-1]
                progress(
                    f"{latest.t_s / 60:.0f} min: {latest.created} created, {latest.live} live, "
                    f"RSS {latest.rss_kib / 1024:.1f} MiB, {latest.open_fds} fds"
                )
            process.check_alive()

        try:
            trickle.run_for(settings.minutes * 60, tick)
        finally:
            sampler.stop()
        sampler.samples.append(sampler.sample())
        seconds = time.monotonic() - began
        samples = sampler.samples
        process.check_alive()
    # the fit covers the steady trickle only, not the drain after the last create
    steady = [s for s in samples if s.t_s <= settings.minutes * 60] or samples
    times = [s.t_s for s in steady]
    return SoakResults(
        settings=settings,
        environment=setting,
        samples=samples,
        counts=trickle.counts(),
        rss=growth(
            times,
            [float(s.rss_kib) for s in steady],
            unit="KiB",
            budget=RSS_BUDGET_KIB,
            tolerated_fraction_per_day=TOLERATED_FRACTION_PER_DAY,
        ),
        fds=growth(
            times,
            [float(s.open_fds) for s in steady],
            unit="fds",
            budget=FD_BUDGET,
            tolerated_fraction_per_day=TOLERATED_FRACTION_PER_DAY,
        ),
        seconds=seconds,
    )
