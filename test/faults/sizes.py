"""How big a fault run is: ``WFE_FAULTS_SIZE=reduced`` (CI, a few minutes) or ``full`` (the issue's
numbers: 20 kills, 2,000+ fuzzed specs)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSize:
    name: str
    burst_wfes: int  # WorkflowExecutions per burst
    burst_targets: int  # over this many targets
    kill_rounds: int  # bursts with a controller kill -9 at a random point
    fault_rounds: int  # repetitions of each other fault
    fuzz_specs: int  # generated specs applied to the API server
    outage_seconds: float  # how long Data Storage stays down


SIZES = {
    "reduced": FaultSize(
        "reduced",
        burst_wfes=60,
        burst_targets=12,
        kill_rounds=2,
        fault_rounds=1,
        fuzz_specs=150,
        outage_seconds=10.0,
    ),
    "full": FaultSize(
        "full",
        burst_wfes=100,
        burst_targets=20,
        kill_rounds=20,
        fault_rounds=3,
        fuzz_specs=2000,
        outage_seconds=120.0,
    ),
}


def current() -> FaultSize:
    name = os.environ.get("WFE_FAULTS_SIZE", "reduced")
    if name not in SIZES:
        raise ValueError(f"WFE_FAULTS_SIZE must be one of {', '.join(SIZES)}, got {name!r}")
    return SIZES[name]
