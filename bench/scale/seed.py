"""Which WorkflowExecutions a scale run seeds, in which phase, on which target, finished how long ago.

The mix (written down in docs/benchmarks.md, "Scale and soak"): a cluster that has run
remediations for a while holds mostly finished WorkflowExecutions (the RemediationOrchestrator
deletes them with their RemediationRequest, much later) and a few in flight. Of the seeded ones:
80 % Completed, 10 % Failed, 8 % Skipped (ResourceBusy), 2 % Running with their PipelineRun. Every
finished one finished more than a day ago, so its cooldown is over and its lock released (its
PipelineRun deleted), as the controller leaves it. Targets carry a history of about seven past
executions each (what the lock check reads); a Running one is the latest on its target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.scale.templates import COMPLETED, FAILED, RUNNING, SKIPPED, app_target

MIX = ((COMPLETED, 0.80), (FAILED, 0.10), (SKIPPED, 0.08), (RUNNING, 0.02))
HISTORY_PER_TARGET = 7
FINISHED_AT_LEAST_S = 24 * 3600.0  # a day: far past any cooldown
SPACING_S = 60.0  # between two seeded executions, oldest first


@dataclass(frozen=True)
class Seeded:
    name: str
    kind: str  # one of templates.KINDS
    target: str
    age_s: float  # how long before the seeding its timestamps are; 0 for Running


@dataclass(frozen=True)
class Plan:
    items: tuple[Seeded, ...]
    targets: int
    running_targets: int  # targets 0 .. running_targets-1 each have one Running execution

    def count(self, kind: str) -> int:
        return sum(1 for item in self.items if item.kind == kind)

    def free_targets(self, wanted: int) -> list[str]:
        """``wanted`` targets with a history and nothing running (then fresh ones, if too few)."""
        indices = list(range(self.running_targets, self.targets))
        indices += range(self.targets, self.targets + max(0, wanted - len(indices)))
        return [app_target(i) for i in indices[:wanted]]


def counts(total: int) -> dict[str, int]:
    """How many of each kind; rounding goes to Completed, so the counts add up to ``total``."""
    out = {kind: math.floor(total * share) for kind, share in MIX if kind != COMPLETED}
    out[COMPLETED] = total - sum(out.values())
    return out


def plan(total: int, prefix: str = "seed") -> Plan:
    """``total`` WorkflowExecutions named ``<prefix>-<i>``, the mix of ``MIX``."""
    if total < 1:
        raise ValueError("seed at least one WorkflowExecution")
    how_many = counts(total)
    targets = max(1, math.ceil(total / HISTORY_PER_TARGET), how_many[RUNNING])
    # the kinds spread evenly, so every target's history is a mix too
    interleaved = _interleave(how_many)
    items = []
    for index, kind in enumerate(interleaved):
        items.append(
            Seeded(
                name=f"{prefix}-{index}",
                kind=kind,
                target=app_target(index % targets),
                age_s=FINISHED_AT_LEAST_S + (total - index) * SPACING_S,
            )
        )
    for number in range(how_many[RUNNING]):
        items.append(Seeded(f"{prefix}-{len(items)}", RUNNING, app_target(number), 0.0))
    return Plan(tuple(items), targets, how_many[RUNNING])


def _interleave(how_many: dict[str, int]) -> list[str]:
    """The finished kinds in a fixed, evenly spread order (largest-remainder round robin)."""
    kinds = [COMPLETED, FAILED, SKIPPED]
    total = sum(how_many[kind] for kind in kinds)
    placed = dict.fromkeys(kinds, 0)
    out = []
    for position in range(1, total + 1):
        kind = max(kinds, key=lambda k: how_many[k] * position / total - placed[k])
        placed[kind] += 1
        out.append(kind)
    return out
