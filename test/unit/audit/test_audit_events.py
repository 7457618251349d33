"""Audit envelopes built from WorkflowExecution objects: ids, per-type fields, wire form."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple

import pytest

from wfe.audit import AuditEvent, EventType, build_event, event_id_for
from wfe.audit.events import EVENT_ID_NAMESPACE

UID = "5f0c8a36-2f6e-4d8c-9a4b-1c7e3f2d9b10"
NOW = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
WfeFactory = Callable[..., dict[str, Any]]


def test_event_id_is_stable_for_a_wfe_and_type_so_redelivery_is_idempotent() -> None:
    # Pinned: ids already stored in Data Storage must keep matching after any refactoring.
    assert event_id_for(UID, EventType.WORKFLOW_COMPLETED) == "88531848-22f6-5629-883b-6d54b34994dc"
    assert event_id_for(UID, EventType.WORKFLOW_COMPLETED) == event_id_for(
        UID, EventType.WORKFLOW_COMPLETED
    )


def test_event_ids_differ_across_types_and_across_wfes() -> None:
    ids = {event_id_for(UID, event_type) for event_type in EventType}
    ids |= {event_id_for(str(uuid.uuid4()), event_type) for event_type in EventType}
    assert len(ids) == 2 * len(EventType)


def test_event_id_namespace_is_derived_from_the_api_group() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_DNS, "workflowexecution.kubernaut.ai") == EVENT_ID_NAMESPACE


def test_rebuilding_an_event_later_keeps_its_id(wfe_factory: WfeFactory) -> None:
    first = build_event(EventType.WORKFLOW_FAILED, wfe_factory(phase="Failed"), now=NOW)
    later = build_event(
        EventType.WORKFLOW_FAILED, wfe_factory(phase="Failed"), now=NOW + timedelta(hours=1)
    )
    assert first.event_id == later.event_id
    assert first.event_timestamp != later.event_timestamp


STARTED_STATUS = {
    "startTime": "2025-03-14T09:20:05Z",
    "pipelineRunRef": {"name": "wfe-cf0cc089293b1165", "namespace": "kubernaut-workflows"},
}
COMPLETED_STATUS = {
    **STARTED_STATUS,
    "completionTime": "2025-03-14T09:23:35Z",
    "duration": "3m30s",
    "outcome": "Success",
}
FAILED_STATUS = {
    **STARTED_STATUS,
    "completionTime": "2025-03-14T09:21:05Z",
    "duration": "1m0s",
    "outcome": "Failure",
    "failureReason": "OOMKilled",
    "failureDetails": {
        "reason": "OOMKilled",
        "message": "step restart was OOMKilled (exit code 137)",
        "failedTaskName": "restart",
        "failedTaskIndex": 1,
        "wasExecutionFailure": True,
    },
}
BUSY_STATUS = {
    "skipDetails": {
        "reason": "ResourceBusy",
        "message": "Another workflow is running on payment/deployment/payment-api",
        "skippedAt": "2025-03-14T09:26:53Z",
        "conflictingWorkflow": {
            "name": "wfe-payment-first",
            "namespace": "kubernaut-system",
            "workflowId": "restart-deployment",
            "startedAt": "2025-03-14T09:25:00Z",
            "targetResource": "payment/deployment/payment-api",
        },
    }
}
COOLDOWN_STATUS = {
    "skipDetails": {
        "reason": "RecentlyRemediated",
        "message": "restart-deployment ran on this target 2m ago",
        "recentRemediation": {
            "name": "wfe-payment-earlier",
            "namespace": "kubernaut-system",
            "workflowId": "restart-deployment",
            "completedAt": "2025-03-14T09:24:53Z",
            "outcome": "Success",
            "cooldownRemaining": "3m0s",
        },
    }
}


class Case(NamedTuple):
    event_type: EventType
    phase: str
    status: dict[str, Any]
    action: str
    outcome: str
    expected_data: dict[str, Any]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            Case(
                EventType.EXECUTION_STARTED,
                "Running",
                STARTED_STATUS,
                "started",
                "success",
                {"pipelinerun_name": "wfe-cf0cc089293b1165", "started_at": "2025-03-14T09:20:05Z"},
            ),
            id="started",
        ),
        pytest.param(
            Case(
                EventType.WORKFLOW_COMPLETED,
                "Completed",
                COMPLETED_STATUS,
                "completed",
                "success",
                {
                    "completed_at": "2025-03-14T09:23:35Z",
                    "duration": "3m30s",
                    "failure_reason": None,
                },
            ),
            id="completed",
        ),
        pytest.param(
            Case(
                EventType.WORKFLOW_FAILED,
                "Failed",
                FAILED_STATUS,
                "failed",
                "failure",
                {
                    "failure_reason": "OOMKilled",
                    "failure_message": "step restart was OOMKilled (exit code 137)",
                    "failed_task_name": "restart",
                    "duration": "1m0s",
                },
            ),
            id="failed",
        ),
        pytest.param(
            Case(
                EventType.WORKFLOW_SKIPPED,
                "Skipped",
                BUSY_STATUS,
                "skipped",
                "skipped",
                {
                    "skip_reason": "ResourceBusy",
                    "conflicting_wfe": "kubernaut-system/wfe-payment-first",
                    "pipelinerun_name": None,
                },
            ),
            id="skipped-busy",
        ),
        pytest.param(
            Case(
                EventType.WORKFLOW_SKIPPED,
                "Skipped",
                COOLDOWN_STATUS,
                "skipped",
                "skipped",
                {
                    "skip_reason": "RecentlyRemediated",
                    "conflicting_wfe": "kubernaut-system/wfe-payment-earlier",
                },
            ),
            id="skipped-cooldown",
        ),
        pytest.param(
            Case(
                EventType.WORKFLOW_DELETED,
                "Running",
                STARTED_STATUS,
                "deleted",
                "success",
                {"phase": "Running", "pipelinerun_name": "wfe-cf0cc089293b1165"},
            ),
            id="deleted-while-running",
        ),
    ],
)
def test_envelope_of_each_event_type_describes_the_wfe(wfe_factory: WfeFactory, case: Case) -> None:
    event_type, phase, status, action, outcome, expected_data = case
    wfe = wfe_factory(uid=UID, phase=phase, status=status)

    envelope = build_event(event_type, wfe, now=NOW).to_dict()

    assert {key: value for key, value in envelope.items() if key != "event_data"} == {
        "version": "1.0",
        "event_id": event_id_for(UID, event_type),
        "event_type": str(event_type),
        "event_timestamp": "2025-03-14T09:26:53.589000Z",
        "event_category": "workflowexecution",
        "event_action": action,
        "event_outcome": outcome,
        "actor_type": "service",
        "actor_id": "workflowexecution-controller",
        "resource_type": "WorkflowExecution",
        "resource_id": "wfe-payment-restart",
        "namespace": "kubernaut-system",
        "correlation_id": "rr-payment-oom-7f3a",
    }
    data = envelope["event_data"]
    assert data["workflow_id"] == "restart-deployment"
    assert data["workflow_version"] == "v1.2.0"
    assert data["container_image"] == "quay.io/kubernaut/workflows/restart-deployment:v1.2.0"
    assert data["target_resource"] == "payment/deployment/payment-api"
    assert data["phase"] == phase
    assert data["parameters"] == {
        "NAMESPACE": "payment",
        "DEPLOYMENT": "payment-api",
        "NOTE": "café ☕",
    }
    assert data["confidence"] == 0.92
    assert {key: data[key] for key in expected_data} == expected_data


def test_event_data_always_has_every_field_null_when_unknown(wfe_factory: WfeFactory) -> None:
    wfe = wfe_factory(phase="")
    del wfe["spec"]["parameters"]

    data = build_event(EventType.EXECUTION_STARTED, wfe, now=NOW).event_data

    assert data["phase"] == "Pending"
    assert data["parameters"] == {}
    for key in (
        "pipelinerun_name",
        "started_at",
        "completed_at",
        "duration",
        "failure_reason",
        "failure_message",
        "failed_task_name",
        "skip_reason",
        "conflicting_wfe",
    ):
        assert data[key] is None, key


def test_large_and_unicode_parameters_survive_the_wire_form(wfe_factory: WfeFactory) -> None:
    wfe = wfe_factory()
    big = "ü" * 10_240
    wfe["spec"]["parameters"] = {"PAYLOAD": big, "EMOJI": "🚑 restart"}
    event = build_event(EventType.WORKFLOW_COMPLETED, wfe, now=NOW)

    decoded = AuditEvent.from_dict(json.loads(json.dumps(event.to_dict(), ensure_ascii=False)))

    assert decoded == event
    assert decoded.event_data["parameters"]["PAYLOAD"] == big


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(datetime(2025, 3, 14, 9, 26, 53), id="naive-is-utc"),
        pytest.param(
            datetime(2025, 3, 14, 10, 26, 53, tzinfo=timezone(timedelta(hours=1))), id="offset"
        ),
    ],
)
def test_event_timestamp_is_utc(wfe_factory: WfeFactory, now: datetime) -> None:
    envelope = build_event(EventType.EXECUTION_STARTED, wfe_factory(), now=now).to_dict()

    assert envelope["event_timestamp"] == "2025-03-14T09:26:53.000000Z"


def test_a_wfe_without_uid_cannot_be_audited(wfe_factory: WfeFactory) -> None:
    wfe = wfe_factory()
    del wfe["metadata"]["uid"]

    with pytest.raises(ValueError, match=r"metadata\.uid"):
        build_event(EventType.EXECUTION_STARTED, wfe, now=NOW)
