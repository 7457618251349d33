"""Reading Tekton's verdict: the Succeeded condition of a PipelineRun or TaskRun."""

from __future__ import annotations

from typing import Any

from api.tekton.v1 import SUCCEEDED_CONDITION


def succeeded_condition(run: dict[str, Any]) -> dict[str, Any]:
    """The Succeeded condition of a PipelineRun or TaskRun ({} while Tekton has written none)."""
    for condition in (run.get("status") or {}).get("conditions") or ():
        if condition.get("type") == SUCCEEDED_CONDITION:
            found: dict[str, Any] = condition
            return found
    return {}
