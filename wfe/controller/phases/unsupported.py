"""A WorkflowExecution asking for an execution engine this controller does not serve (``--engines``,
or Tekton not installed): Failed with reason UnsupportedEngine, never retried."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import ConditionReason, FailureReason
from wfe.controller import errors, transitions
from wfe.controller.dependencies import Dependencies
from wfe.controller.engines import engine_name_of
from wfe.controller.errors import ErrorCategory
from wfe.controller.failure.details import controller_failure_details
from wfe.controller.timestamps import parse_time
from wfe.runtime.reconcile import Result

Object = dict[str, Any]


def fail_unsupported_engine(deps: Dependencies, wfe: Object, *, started: bool) -> Result:
    """``started``: the WFE was already Running (the controller was restarted without its engine);
    its execution may have changed the target."""
    asked = engine_name_of(wfe)
    served = ", ".join(deps.engines.names) or "none"
    message = (
        f"spec.workflowRef.executionEngine is {asked!r}, but this controller serves only: {served} "
        "(--engines; an engine whose API is not installed is not served)."
    )
    details = controller_failure_details(
        FailureReason.UNSUPPORTED_ENGINE,
        message,
        now=deps.clock(),
        was_execution_failure=started,
        started_at=parse_time((wfe.get("status") or {}).get("startTime")),
    )
    transitions.fail(
        deps,
        wfe,
        details,
        creation_condition=None if started else (ConditionReason.INVALID_SPEC, message),
    )
    errors.count(ErrorCategory.VALIDATION, str(FailureReason.UNSUPPORTED_ENGINE))
    return Result()
