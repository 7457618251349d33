"""How big a scale or soak run is: ``smoke`` proves the harness in seconds, ``full`` is the issue's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ScaleSize:
    name: str
    workflow_executions: int  # seeded before the controller starts
    flip: int  # Running at once, then all Succeeded
    paced: int  # created one at a time before the flip: lock checks without contention

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def wait_timeout(self, workflows: int) -> float:
        """Far beyond any target: only a controller that stopped making progress trips it."""
        return 120.0 + 1.0 * workflows


SCALE_SIZES = {
    "smoke": ScaleSize("smoke", workflow_executions=300, flip=30, paced=10),
    "full": ScaleSize("full", workflow_executions=10_000, flip=1_000, paced=200),
}
