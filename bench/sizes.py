"""How big a benchmark run is: ``smoke`` for CI (about a minute), ``moderate`` and ``full`` for a
measurement on a 2-core machine (minutes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Threads of the load process when it plays the RemediationOrchestrator and Tekton. Creates are
# cheap next to a workflow's work, so 4 callers never hold a controller back.
LOAD_THREADS = 4


@dataclass(frozen=True)
class Size:
    name: str
    burst: (
        int  # N: WorkflowExecutions on distinct targets, created at once; the reference does N too
    )
    steady: int  # WorkflowExecutions arriving at steady_rate per second (0: no steady phase)
    steady_rate: float  # the same for every system: below what each keeps up with
    storm: int  # M: WorkflowExecutions in the storm, storm_per_target on each target
    storm_per_target: int
    repeats: int  # runs per system and setting, interleaved, order rotating
    cached_wfes: int  # K: WorkflowExecutions in the index the direct lock check reads
    lock_checks: int  # timed LockChecker.check calls

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def wait_timeout(self, workflows: int) -> float:
        """How long a wait may take before the system counts as broken, not slow: far beyond any
        throughput seen (≥ 15 workflows/s), so a busy machine never trips it."""
        return 120.0 + 3.0 * workflows


SIZES: dict[str, Size] = {
    "smoke": Size("smoke", 20, 20, 10.0, 20, 10, 1, 200, 200),
    "moderate": Size("moderate", 300, 100, 15.0, 300, 10, 2, 2000, 1000),
    "full": Size("full", 1000, 300, 15.0, 1000, 10, 2, 5000, 2000),
}
