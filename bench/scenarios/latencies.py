"""The two latencies every scenario reports, computed from when the benchmark issued a write and
when its observer saw the controller's answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench.observer import Observer
from bench.stats import Distribution


@dataclass(frozen=True)
class Latencies:
    workflows: int
    pipeline_run_created: Distribution  # WFE create issued → its PipelineRun seen
    status_synced: Distribution  # Succeeded=True issued → the WFE seen Completed

    @classmethod
    def observed(
        cls,
        observer: Observer,
        names: Sequence[str],
        created_at: Sequence[float],
        verdict_at: Sequence[float],
    ) -> Latencies:
        """From each WFE's create and verdict times (``time.monotonic()``, in ``names`` order)."""
        return cls(
            workflows=len(names),
            pipeline_run_created=Distribution.of(
                observer.pipeline_run_seen_at(name) - created_at[i] for i, name in enumerate(names)
            ),
            status_synced=Distribution.of(
                observer.phase_seen_at(name, Phase.COMPLETED) - verdict_at[i]
                for i, name in enumerate(names)
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "pipeline_run_created": self.pipeline_run_created.as_dict(),
            "status_synced": self.status_synced.as_dict(),
        }
