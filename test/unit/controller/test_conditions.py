"""metav1.Condition semantics: lastTransitionTime moves only when the status flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wfe.controller.conditions import get_condition, is_true, set_condition

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def _set(conditions: list[dict[str, Any]], status: str, *, at: datetime, **overrides: Any) -> bool:
    fields: dict[str, Any] = {
        "reason": "PipelineRunCreated",
        "message": "created",
        "observed_generation": 1,
        "now": at,
    }
    fields.update(overrides)
    return set_condition(conditions, "PipelineRunCreated", status, **fields)


def test_new_condition_is_appended_with_all_fields() -> None:
    conditions: list[dict[str, Any]] = []
    assert _set(conditions, "True", at=T0)
    assert conditions == [
        {
            "type": "PipelineRunCreated",
            "status": "True",
            "observedGeneration": 1,
            "lastTransitionTime": "2025-03-01T12:00:00Z",
            "reason": "PipelineRunCreated",
            "message": "created",
        }
    ]


def test_same_condition_again_changes_nothing() -> None:
    conditions: list[dict[str, Any]] = []
    _set(conditions, "True", at=T0)
    assert not _set(conditions, "True", at=T1)
    assert conditions[0]["lastTransitionTime"] == "2025-03-01T12:00:00Z"


def test_reason_change_without_status_change_keeps_transition_time() -> None:
    conditions: list[dict[str, Any]] = []
    _set(conditions, "False", at=T0, reason="CreationFailed")
    assert _set(conditions, "False", at=T1, reason="Forbidden", message="no RBAC")
    assert conditions[0]["reason"] == "Forbidden"
    assert conditions[0]["message"] == "no RBAC"
    assert conditions[0]["lastTransitionTime"] == "2025-03-01T12:00:00Z"


def test_status_flip_moves_transition_time() -> None:
    conditions: list[dict[str, Any]] = []
    _set(conditions, "False", at=T0)
    assert _set(conditions, "True", at=T1)
    assert conditions[0]["status"] == "True"
    assert conditions[0]["lastTransitionTime"] == "2025-03-01T12:05:00Z"


def test_observed_generation_bump_is_a_change() -> None:
    conditions: list[dict[str, Any]] = []
    _set(conditions, "True", at=T0)
    assert _set(conditions, "True", at=T1, observed_generation=2)
    assert conditions[0]["observedGeneration"] == 2


def test_other_conditions_are_left_alone() -> None:
    other = {"type": "Ready", "status": "True", "reason": "Completed", "message": "m"}
    conditions: list[dict[str, Any]] = [dict(other)]
    _set(conditions, "True", at=T0)
    assert conditions[0] == other
    assert len(conditions) == 2


def test_overlong_message_is_clipped_to_the_api_limit() -> None:
    conditions: list[dict[str, Any]] = []
    _set(conditions, "False", at=T0, message="x" * 40000)
    assert len(conditions[0]["message"]) == 32768


def test_invalid_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="True, False or Unknown"):
        _set([], "Yes", at=T0)


def test_get_condition_and_is_true() -> None:
    conditions: list[dict[str, Any]] = []
    assert get_condition(conditions, "PipelineRunCreated") is None
    assert get_condition(None, "PipelineRunCreated") is None
    assert not is_true(conditions, "PipelineRunCreated")
    _set(conditions, "Unknown", at=T0)
    assert not is_true(conditions, "PipelineRunCreated")
    _set(conditions, "True", at=T1)
    assert is_true(conditions, "PipelineRunCreated")
    condition = get_condition(conditions, "PipelineRunCreated")
    assert condition is not None and condition["status"] == "True"
