"""metav1.Condition helpers over plain status dicts, with apimachinery's SetStatusCondition rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.workflowexecution.v1alpha1.constants import ConditionStatus
from wfe.controller.timestamps import format_time

_STATUSES = frozenset(ConditionStatus)

# metav1.Condition's message is limited to 32768 characters by the API schema.
CONDITION_MESSAGE_MAX_LENGTH = 32768


def get_condition(conditions: Sequence[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    """Return the condition of ``type_``, or ``None``."""
    for condition in conditions or ():
        if condition.get("type") == type_:
            return condition
    return None


def is_true(conditions: Sequence[dict[str, Any]] | None, type_: str) -> bool:
    """True when the condition of ``type_`` exists with status ``True``."""
    condition = get_condition(conditions, type_)
    return condition is not None and condition.get("status") == ConditionStatus.TRUE


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: str,
    *,
    reason: str,
    message: str,
    observed_generation: int,
    now: datetime,
) -> bool:
    """Add or update the condition of ``type_`` in place; return whether anything changed.

    As in apimachinery's ``meta.SetStatusCondition``, ``lastTransitionTime`` moves only when the
    status changes, so a repeated call with the same verdict is a no-op (and writes nothing).
    """
    if status not in _STATUSES:
        raise ValueError(f"condition status must be True, False or Unknown, not {status!r}")
    message = message[:CONDITION_MESSAGE_MAX_LENGTH]
    existing = get_condition(conditions, type_)
    if existing is None:
        conditions.append(
            {
                "type": type_,
                "status": status,
                "observedGeneration": observed_generation,
                "lastTransitionTime": format_time(now),
                "reason": reason,
                "message": message,
            }
        )
        return True

    changed = False
    if existing.get("status") != status or not existing.get("lastTransitionTime"):
        existing["status"] = status
        existing["lastTransitionTime"] = format_time(now)
        changed = True
    for key, value in (
        ("reason", reason),
        ("message", message),
        ("observedGeneration", observed_generation),
    ):
        if existing.get(key) != value:
            existing[key] = value
            changed = True
    return changed
