"""Controller-wide settings the reconciler acts on (filled from flags by the entry point)."""

from __future__ import annotations

from dataclasses import dataclass

from wfe.controller.pipelinerun import ExecutionSettings

# A Running WorkflowExecution whose PipelineRun has given no verdict this long after its own timeout
# is failed by the controller (SPEC §5 safety net).
TIMEOUT_GRACE_SECONDS = 300.0


@dataclass(frozen=True)
class ControllerSettings:
    execution: ExecutionSettings
    cooldown_seconds: float = 300.0
    timeout_grace_seconds: float = TIMEOUT_GRACE_SECONDS
