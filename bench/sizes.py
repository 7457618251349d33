"""How big a benchmark run is: ``smoke`` for CI (seconds), ``full`` for a 2-core machine (minutes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Concurrency of every load generator, equal to the controller's default --max-concurrent-reconciles,
# so the raw reference and the controller get the same number of parallel API callers.
LOAD_THREADS = 4


@dataclass(frozen=True)
class Size:
    name: str
    raw_writes: int  # N: ConfigMap creates per raw-write reference (sequential, then threaded)
    raw_workflows: int  # minimal-API-work workflows per reference (sequential, then threaded)
    sequential_workflows: int  # L: one-at-a-time workflows for unloaded latencies
    burst: int  # M: WorkflowExecutions in the burst and in the storm
    steady_workflows: int  # arriving at a fixed fraction of the burst's throughput
    storm_per_target: int  # the storm puts this many WorkflowExecutions on each target
    cached_wfes: int  # K: WorkflowExecutions in the cache the lock check reads
    lock_checks: int  # timed LockChecker.check calls

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def wait_timeout(self, workflows: int) -> float:
        """How long a wait may take before the controller counts as broken, not slow.

        Far beyond the SPEC floors (≥ 100 reconciles/min, a few reconciles per workflow), so a
        busy machine never trips it; only a controller that stopped making progress does.
        """
        return 120.0 + 3.0 * workflows


SIZES: dict[str, Size] = {
    "smoke": Size(
        name="smoke",
        raw_writes=50,
        raw_workflows=50,
        sequential_workflows=10,
        burst=20,
        steady_workflows=20,
        storm_per_target=10,
        cached_wfes=200,
        lock_checks=200,
    ),
    "full": Size(
        name="full",
        raw_writes=1000,
        raw_workflows=500,
        sequential_workflows=100,
        burst=300,
        steady_workflows=300,
        storm_per_target=10,
        cached_wfes=5000,
        lock_checks=2000,
    ),
}
