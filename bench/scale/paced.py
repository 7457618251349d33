"""Lock checks without contention: WorkflowExecutions created one at a time at a modest rate on
targets with a history, so each lock check reads the past executions of its target from a cache of
10,000 while no other reconcile competes for the interpreter. The flip's burst of creates measures
the same histogram under contention (four workers, the watch thread, the GIL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench.controller_process import ControllerProcess
from bench.errors import BenchError
from bench.load_process import LoadProcess
from bench.observer import TERMINAL, Observer
from bench.scale.flip import settled
from bench.scale.scrape import LOCK_CHECK, Buckets, Scrape, buckets_between

RATE_PER_S = 10.0


@dataclass(frozen=True)
class Paced:
    workflows: int
    rate_per_s: float
    lock_checks: Buckets

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "rate_per_s": self.rate_per_s,
            "lock_check_buckets": {str(b): n for b, n in sorted(self.lock_checks.items())},
        }


def measure(
    process: ControllerProcess,
    observer: Observer,
    kubeconfig: Path,
    targets: list[str],
    timeout_for: Callable[[int], float],
) -> Paced:
    names = [f"paced-{index}" for index in range(len(targets))]
    timeout = timeout_for(len(names)) + len(names) / RATE_PER_S
    before = Scrape.parse(process.scrape())
    load = LoadProcess(kubeconfig)
    try:
        load.create(observer.namespace, list(zip(names, targets, strict=True)), 1, RATE_PER_S)
    finally:
        load.stop()
    observer.wait_for_phases(names, [Phase.RUNNING, *TERMINAL], timeout, "every paced one Running")
    wrong = [name for name in names if not observer.was_seen(name, Phase.RUNNING)]
    if wrong:
        raise BenchError(f"paced: {len(wrong)} never Running, e.g. {wrong[:3]}")
    after = settled(process)
    return Paced(
        len(names),
        RATE_PER_S,
        buckets_between(before.buckets(LOCK_CHECK), after.buckets(LOCK_CHECK)),
    )
