"""Prometheus metrics of the audit trail (SPEC §8), on the process-wide registry."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import Counter, Gauge

from wfe.runtime.metrics.registry import REGISTRY


class Result(StrEnum):
    """What became of an audit event (the ``result`` label)."""

    RECORDED = "recorded"  # accepted by the sink
    FAILED = "failed"  # a delivery attempt failed; the event stays spooled and is retried
    REJECTED = "rejected"  # refused for good by the sink; dropped
    DROPPED = "dropped"  # lost before delivery: spool full (oldest evicted) or unwritable


AUDIT_EVENTS = Counter(
    "workflowexecution_audit_events_total",
    "Audit events by type and result (recorded, failed, rejected, dropped).",
    ["type", "result"],
    registry=REGISTRY,
)

AUDIT_BACKLOG = Gauge(
    "workflowexecution_audit_backlog",
    "Audit events spooled and waiting for the sink to accept them.",
    registry=REGISTRY,
)


def count(event_type: str, result: Result, amount: int = 1) -> None:
    """Add ``amount`` events of ``event_type`` with ``result``."""
    if amount:
        AUDIT_EVENTS.labels(type=event_type, result=str(result)).inc(amount)
