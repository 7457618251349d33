"""One benchmark run, start to finish: control plane up, reference points, controller scenarios,
lock check, and everything torn down again whatever happens."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from bench import cluster, controller_metrics, environment, lock_check, memory, reference, scenarios
from bench.apiserver_requests import ApiServerRequests
from bench.driver import Driver
from bench.errors import BenchError
from bench.inprocess import InProcessController
from bench.observer import Observer
from bench.sizes import Size
from bench.stats import histogram_quantile_bound

NAMESPACE = "bench"  # where the WorkflowExecutions live; the only namespace the controller watches
REFERENCE_NAMESPACE = "bench-reference"  # the raw reference work, out of the controller's sight
EXECUTION_NAMESPACE = "kubernaut-workflows"

# The steady scenario offers this fraction of the burst throughput measured in the same run:
# load the controller keeps up with, where latency is not queueing.
STEADY_LOAD_FRACTION = 0.5

# Memory sampling points; the SPEC's memory floor is judged at the end of the controller scenarios.
BASELINE = "baseline, before the control plane"
AFTER_SCENARIOS = "after the controller scenarios"

Progress = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class LiveLockChecks:
    """The controller's own lock-check histogram over the scenarios (bucket bounds, not samples)."""

    checks: int
    p99_bound_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"checks": self.checks, "p99_at_most_s": self.p99_bound_s}


@dataclass(frozen=True)
class Results:
    size: Size
    environment: environment.Environment
    control_plane_start_s: float
    reference_rounds: dict[str, reference.ReferencePoints]  # before and after the scenarios
    sequential: scenarios.Latencies
    burst: scenarios.BurstResult
    steady: scenarios.SteadyResult
    storm: scenarios.StormResult
    live_lock_checks: LiveLockChecks
    lock_check: lock_check.LockCheckResult
    memory: dict[str, memory.MemorySample]

    @property
    def reference(self) -> reference.ReferencePoints:
        return reference.merge(list(self.reference_rounds.values()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size.as_dict(),
            "environment": self.environment.as_dict(),
            "control_plane_start_s": self.control_plane_start_s,
            "reference": {
                "mean": self.reference.as_dict(),
                **{name: points.as_dict() for name, points in self.reference_rounds.items()},
            },
            "one_at_a_time": self.sequential.as_dict(),
            "burst": self.burst.as_dict(),
            "steady": self.steady.as_dict(),
            "storm": self.storm.as_dict(),
            "lock_check_live": self.live_lock_checks.as_dict(),
            "lock_check_direct": self.lock_check.as_dict(),
            "memory_mib": {
                point: {"rss": m.rss_mib, "peak": m.peak_mib} for point, m in self.memory.items()
            },
        }


def run(size: Size, progress: Progress) -> Results:
    memory_at = {BASELINE: memory.sample()}
    with ExitStack() as teardown:
        plane = cluster.control_plane()
        teardown.callback(plane.stop)
        plane.start()
        progress(f"control plane up in {plane.startup_seconds:.1f}s at {plane.url}")
        admin = plane.client()
        cluster.ensure_namespaces(admin, [NAMESPACE, REFERENCE_NAMESPACE, EXECUTION_NAMESPACE])
        setting = environment.collect(admin, plane.binaries)

        def reference_round(name: str) -> reference.ReferencePoints:
            return _step(
                progress,
                f"reference points, {name} the scenarios",
                lambda: reference.measure(
                    plane.client(), REFERENCE_NAMESPACE, size.raw_writes, size.raw_workflows, name
                ),
            )

        reference_rounds = {"before": reference_round("before")}

        lock_buckets_before = controller_metrics.lock_check_buckets()
        controller = InProcessController(plane.client(), NAMESPACE, EXECUTION_NAMESPACE)
        teardown.callback(controller.stop)
        controller.start()
        observer = Observer(plane.client(), NAMESPACE, EXECUTION_NAMESPACE)
        teardown.callback(observer.stop)
        observer.start()
        memory_at["controller started"] = memory.sample()

        driver = Driver(plane.client(), observer, size.wait_timeout)
        sequential = _step(
            progress,
            f"{size.sequential_workflows} workflows one at a time",
            lambda: scenarios.one_at_a_time(driver, size.sequential_workflows),
        )
        burst = _step(
            progress,
            f"burst of {size.burst} workflows",
            lambda: scenarios.burst(
                driver, size.burst, ApiServerRequests(plane), controller.flush_events
            ),
        )
        rate = STEADY_LOAD_FRACTION * burst.workflows_per_s
        steady = _step(
            progress,
            f"{size.steady_workflows} workflows arriving at {rate:.1f}/s",
            lambda: scenarios.steady(driver, size.steady_workflows, rate),
        )
        storm = _step(
            progress,
            f"storm of {size.burst} workflows",
            lambda: scenarios.storm(driver, size.burst, size.storm_per_target),
        )
        live = controller_metrics.buckets_between(
            lock_buckets_before, controller_metrics.lock_check_buckets()
        )
        memory_at[AFTER_SCENARIOS] = memory.sample()

        template = observer.workflow_execution("burst-0")
        if template is None:
            raise BenchError("burst-0 vanished from the observer's cache")
        # the controller is done: stop it so the lock check has the CPU to itself
        observer.stop()
        controller.stop()
        reference_rounds["after"] = reference_round("after")
        direct = _step(
            progress,
            f"lock check over {size.cached_wfes} cached WorkflowExecutions",
            lambda: lock_check.measure(template, size.cached_wfes, size.lock_checks),
        )
        memory_at["after the lock-check index (harness only, under tracemalloc)"] = memory.sample()

    return Results(
        size=size,
        environment=setting,
        control_plane_start_s=plane.startup_seconds,
        reference_rounds=reference_rounds,
        sequential=sequential,
        burst=burst,
        steady=steady,
        storm=storm,
        live_lock_checks=LiveLockChecks(
            checks=int(live.get(math.inf, 0.0)), p99_bound_s=histogram_quantile_bound(live, 0.99)
        ),
        lock_check=direct,
        memory=memory_at,
    )


def _step(progress: Progress, what: str, measure: Callable[[], T]) -> T:
    began = time.monotonic()
    result = measure()
    progress(f"{what}: {time.monotonic() - began:.1f}s")
    return result
