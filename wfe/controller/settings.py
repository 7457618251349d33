"""Controller-wide settings the reconciler acts on (filled from flags by the entry point)."""

from __future__ import annotations

from dataclasses import dataclass

from wfe.controller.pipelinerun import ExecutionSettings

# A Running WorkflowExecution whose PipelineRun has given no verdict this long after its own timeout
# is failed by the controller (SPEC §5 safety net).
TIMEOUT_GRACE_SECONDS = 300.0
# Consecutive failures before any step ran double the cooldown up to this (SPEC §3, --max-cooldown).
MAX_COOLDOWN_SECONDS = 3600.0
# A PipelineRun create that keeps failing is retried this long, then the workflow fails (SPEC §7).
CREATE_RETRY_WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class ControllerSettings:
    execution: ExecutionSettings
    cooldown_seconds: float = 300.0
    timeout_grace_seconds: float = TIMEOUT_GRACE_SECONDS
    max_cooldown_seconds: float = MAX_COOLDOWN_SECONDS
    create_retry_window_seconds: float = CREATE_RETRY_WINDOW_SECONDS
