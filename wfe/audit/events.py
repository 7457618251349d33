"""Audit events of the WorkflowExecution lifecycle (SPEC §9): the five types, the envelope, and how
an envelope is built from a WorkflowExecution object (a plain parsed-JSON dict)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

# Namespace of the deterministic event ids: uuid5(NAMESPACE_DNS, "workflowexecution.kubernaut.ai").
# Never change it: every id already stored in Data Storage was derived from it.
EVENT_ID_NAMESPACE: Final = uuid.UUID("99710d9d-3913-515e-816c-97628397853a")

ENVELOPE_VERSION: Final = "1.0"
EVENT_CATEGORY: Final = "workflowexecution"
ACTOR_TYPE: Final = "service"
ACTOR_ID: Final = "workflowexecution-controller"
RESOURCE_TYPE: Final = "WorkflowExecution"


class EventType(StrEnum):
    """The lifecycle transitions that are audited."""

    EXECUTION_STARTED = "workflowexecution.execution.started"
    WORKFLOW_COMPLETED = "workflowexecution.workflow.completed"
    WORKFLOW_FAILED = "workflowexecution.workflow.failed"
    WORKFLOW_SKIPPED = "workflowexecution.workflow.skipped"
    WORKFLOW_DELETED = "workflowexecution.workflow.deleted"


# (event_action, event_outcome) per type. "skipped" follows Kubernaut's own controller.
_ACTION_AND_OUTCOME: Final[Mapping[EventType, tuple[str, str]]] = {
    EventType.EXECUTION_STARTED: ("started", "success"),
    EventType.WORKFLOW_COMPLETED: ("completed", "success"),
    EventType.WORKFLOW_FAILED: ("failed", "failure"),
    EventType.WORKFLOW_SKIPPED: ("skipped", "skipped"),
    EventType.WORKFLOW_DELETED: ("deleted", "success"),
}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit envelope. ``to_dict`` is its wire form (Data Storage, log sink, spool file)."""

    event_id: str
    event_type: EventType
    event_action: str
    event_outcome: str
    resource_id: str
    namespace: str
    correlation_id: str
    event_timestamp: datetime
    event_data: dict[str, Any] = field(hash=False)
    event_category: str = EVENT_CATEGORY
    actor_type: str = ACTOR_TYPE
    actor_id: str = ACTOR_ID
    resource_type: str = RESOURCE_TYPE
    version: str = ENVELOPE_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready envelope, field names as Data Storage expects them."""
        return {
            "version": self.version,
            "event_id": self.event_id,
            "event_type": str(self.event_type),
            "event_timestamp": format_event_timestamp(self.event_timestamp),
            "event_category": self.event_category,
            "event_action": self.event_action,
            "event_outcome": self.event_outcome,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "namespace": self.namespace,
            "correlation_id": self.correlation_id,
            "event_data": dict(self.event_data),
        }

    @classmethod
    def from_dict(cls, envelope: Mapping[str, Any]) -> AuditEvent:
        """Inverse of ``to_dict``; raises ``KeyError``/``ValueError`` on a malformed envelope."""
        return cls(
            event_id=str(envelope["event_id"]),
            event_type=EventType(envelope["event_type"]),
            event_action=str(envelope["event_action"]),
            event_outcome=str(envelope["event_outcome"]),
            resource_id=str(envelope["resource_id"]),
            namespace=str(envelope["namespace"]),
            correlation_id=str(envelope["correlation_id"]),
            event_timestamp=_as_utc(datetime.fromisoformat(envelope["event_timestamp"])),
            event_data=dict(envelope["event_data"]),
            event_category=str(envelope["event_category"]),
            actor_type=str(envelope["actor_type"]),
            actor_id=str(envelope["actor_id"]),
            resource_type=str(envelope["resource_type"]),
            version=str(envelope["version"]),
        )


def event_id_for(wfe_uid: str, event_type: EventType) -> str:
    """The deterministic id of ``event_type`` for the WFE with ``wfe_uid``: a redelivered or
    re-built event keeps its id, so the receiver can drop duplicates."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{wfe_uid}/{event_type}"))


def build_event(event_type: EventType, wfe: Mapping[str, Any], *, now: datetime) -> AuditEvent:
    """Build the envelope of ``event_type`` from a WorkflowExecution dict as read from the API.

    Raises ``ValueError`` when the object has no ``metadata.uid`` (it was never persisted).
    """
    metadata = _mapping(wfe.get("metadata"))
    spec = _mapping(wfe.get("spec"))
    status = _mapping(wfe.get("status"))
    uid = metadata.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ValueError("a WorkflowExecution without metadata.uid cannot be audited")
    action, outcome = _ACTION_AND_OUTCOME[event_type]
    return AuditEvent(
        event_id=event_id_for(uid, event_type),
        event_type=event_type,
        event_action=action,
        event_outcome=outcome,
        resource_id=_text(metadata.get("name")) or "",
        namespace=_text(metadata.get("namespace")) or "",
        correlation_id=_text(_mapping(spec.get("remediationRequestRef")).get("name")) or "",
        event_timestamp=_as_utc(now),
        event_data=_event_data(spec, status),
    )


def format_event_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z`` suffix (parsed by Go's RFC3339Nano)."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_data(spec: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    workflow_ref = _mapping(spec.get("workflowRef"))
    failure = _mapping(status.get("failureDetails"))
    skip = _mapping(status.get("skipDetails"))
    parameters = _mapping(spec.get("parameters"))
    return {
        "workflow_id": _text(workflow_ref.get("workflowId")),
        "workflow_version": _text(workflow_ref.get("version")),
        "container_image": _text(workflow_ref.get("containerImage")),
        "container_digest": _text(workflow_ref.get("containerDigest")),
        "target_resource": _text(spec.get("targetResource")),
        "phase": _text(status.get("phase")) or "Pending",
        "pipelinerun_name": _text(_mapping(status.get("pipelineRunRef")).get("name")),
        # Workflow inputs, passed as given: the API documents them as not-for-secrets.
        "parameters": {str(key): value for key, value in parameters.items()},
        "confidence": spec.get("confidence"),
        "rationale": _text(spec.get("rationale")),
        "started_at": _text(status.get("startTime")),
        "completed_at": _text(status.get("completionTime")),
        "duration": _text(status.get("duration")),
        "failure_reason": _text(failure.get("reason")) or _text(status.get("failureReason")),
        "failure_message": _text(failure.get("message")),
        "failed_task_name": _text(failure.get("failedTaskName")),
        "skip_reason": _text(skip.get("reason")),
        "conflicting_wfe": _conflicting_wfe(skip),
    }


def _conflicting_wfe(skip: Mapping[str, Any]) -> str | None:
    """``namespace/name`` of the WFE that caused the skip: the running one (ResourceBusy) or the
    recent one still in cooldown (RecentlyRemediated)."""
    other = _mapping(skip.get("conflictingWorkflow")) or _mapping(skip.get("recentRemediation"))
    name = _text(other.get("name"))
    if name is None:
        return None
    namespace = _text(other.get("namespace"))
    return f"{namespace}/{name}" if namespace else name


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
