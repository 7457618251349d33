"""Unloaded latencies: each workflow runs to Completed before the next one is created."""

from __future__ import annotations

import time

from api.workflowexecution.v1alpha1.constants import Phase
from bench.driver import Driver
from bench.observer import TERMINAL
from bench.scenarios.latencies import Latencies
from bench.workload import target


def one_at_a_time(driver: Driver, count: int) -> Latencies:
    names = [f"seq-{i}" for i in range(count)]
    created_at, verdict_at = [], []
    for index, name in enumerate(names):
        created_at.append(time.monotonic())
        driver.create((name, target("seq", index)))
        verdict_at.append(driver.verdict_when_running(name, "one at a time"))
        driver.wait([name], TERMINAL, f"{name} Completed")
        driver.expect([name], Phase.COMPLETED, "one at a time")
    return Latencies.observed(driver.observer, names, created_at, verdict_at)
