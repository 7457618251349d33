"""Latency under load the controller can keep up with: WorkflowExecutions arrive at a fixed rate
(a fraction of the burst throughput of the same run) and each completes as soon as it runs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench.driver import Driver
from bench.observer import TERMINAL
from bench.scenarios.latencies import Latencies
from bench.workload import target


@dataclass(frozen=True)
class SteadyResult:
    latencies: Latencies
    arrivals_per_s: float  # the rate actually achieved by the creator

    def as_dict(self) -> dict[str, Any]:
        return {**self.latencies.as_dict(), "arrivals_per_s": self.arrivals_per_s}


def steady(driver: Driver, count: int, rate: float) -> SteadyResult:
    """Creates ``count`` WFEs ``1/rate`` seconds apart while a second thread plays Tekton."""
    names = [f"steady-{i}" for i in range(count)]
    created_at = [0.0] * count

    def complete_in_order() -> list[float]:
        return [driver.verdict_when_running(name, "steady load") for name in names]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-tekton") as tekton:
        verdicts = tekton.submit(complete_in_order)
        try:
            began = time.monotonic()
            for index, name in enumerate(names):
                # pacing the arrivals, not synchronising: nothing waits on the controller here
                time.sleep(max(0.0, began + index / rate - time.monotonic()))
                created_at[index] = time.monotonic()
                driver.create((name, target("steady", index)))
        except BaseException as err:
            driver.observer.abandon_waits(f"creating steady-load WorkflowExecutions failed: {err}")
            raise
        verdict_at = verdicts.result(timeout=driver.timeout_for(count))
    driver.wait(names, TERMINAL, "every steady-load WorkflowExecution Completed")
    driver.expect(names, Phase.COMPLETED, "steady load")
    span = created_at[-1] - created_at[0]
    return SteadyResult(
        latencies=Latencies.observed(driver.observer, names, created_at, verdict_at),
        arrivals_per_s=(count - 1) / span if span > 0 else float(count),
    )
