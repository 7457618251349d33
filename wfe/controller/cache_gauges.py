"""Gauges an SRE alerts on that only the cache can answer, computed at scrape time: WorkflowExecutions
Running past their timeout, and those whose audit trail is not recorded (AuditRecorded=False)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from api.workflowexecution.v1alpha1.constants import ConditionStatus, ConditionType, Phase
from api.workflowexecution.v1alpha1.duration import parse_go_duration
from wfe.controller import metrics
from wfe.controller.conditions import get_condition
from wfe.controller.status import phase_of
from wfe.controller.timestamps import parse_time

Object = dict[str, Any]


def execution_timeout_seconds(wfe: Object, default_timeout_seconds: float) -> float:
    """``spec.executionConfig.timeout``, else the controller's default (also when unparseable)."""
    configured = ((wfe.get("spec") or {}).get("executionConfig") or {}).get("timeout")
    try:
        return parse_go_duration(configured) if configured else default_timeout_seconds
    except ValueError:
        return default_timeout_seconds


def running_past_timeout(
    wfes: Iterable[Object], default_timeout_seconds: float, now: datetime
) -> int:
    count = 0
    for wfe in wfes:
        if phase_of(wfe) != Phase.RUNNING:
            continue
        started = parse_time((wfe.get("status") or {}).get("startTime"))
        timeout = execution_timeout_seconds(wfe, default_timeout_seconds)
        if started is not None and (now - started).total_seconds() > timeout:
            count += 1
    return count


def audit_not_recorded(wfes: Iterable[Object]) -> int:
    return sum(
        1
        for wfe in wfes
        if (
            get_condition((wfe.get("status") or {}).get("conditions"), ConditionType.AUDIT_RECORDED)
            or {}
        ).get("status")
        == ConditionStatus.FALSE
    )


# The value under which the audit index files a WorkflowExecution whose AuditRecorded is False.
AUDIT_NOT_RECORDED = "False"
AUDIT_INDEX_FIELD = "status.conditions[AuditRecorded=False]"


def audit_index_values(wfe: Object) -> list[str]:
    """Index function: ``[AUDIT_NOT_RECORDED]`` for a WorkflowExecution counted by the gauge."""
    return [AUDIT_NOT_RECORDED] if audit_not_recorded([wfe]) else []


def install(
    list_running: Callable[[], list[Object]],
    count_audit_not_recorded: Callable[[], int],
    default_timeout_seconds: float,
    clock: Callable[[], datetime],
) -> None:
    """Each scrape reads the Running WorkflowExecutions (from the phase index) and one index
    count; never every cached object: with 10,000 cached, listing them all twice cost 1.6 s of
    CPU per scrape and a transient copy of the whole cache (docs/benchmarks.md, "Scale and
    soak")."""
    metrics.RUNNING_PAST_TIMEOUT.set_function(
        lambda: float(running_past_timeout(list_running(), default_timeout_seconds, clock()))
    )
    metrics.AUDIT_NOT_RECORDED.set_function(lambda: float(count_audit_not_recorded()))
