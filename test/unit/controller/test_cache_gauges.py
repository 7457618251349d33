"""The scrape-time gauges the alerts read: Running past the timeout, audit not recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wfe.controller.cache_gauges import audit_not_recorded, running_past_timeout

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
DEFAULT_TIMEOUT = 1800.0


def wfe(
    phase: str, started_ago: float, timeout: str | None = None, **status: Any
) -> dict[str, Any]:
    start = (NOW - timedelta(seconds=started_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec: dict[str, Any] = {"executionConfig": {"timeout": timeout}} if timeout else {}
    return {"spec": spec, "status": {"phase": phase, "startTime": start, **status}}


def test_running_past_the_spec_timeout_or_the_default_is_counted() -> None:
    wfes = [
        wfe("Running", 601, timeout="10m"),  # past its own timeout
        wfe("Running", 1801),  # past the default
        wfe("Running", 1799),  # within the default
        wfe("Running", 599, timeout="10m"),
        wfe("Running", 1801, timeout="1h"),  # a longer timeout of its own
        wfe("Failed", 99999),  # finished
    ]
    assert running_past_timeout(wfes, DEFAULT_TIMEOUT, NOW) == 2


def test_only_audit_recorded_false_counts() -> None:
    def audited(status: str | None) -> dict[str, Any]:
        conditions = [{"type": "AuditRecorded", "status": status}] if status else []
        return wfe("Completed", 10, conditions=conditions)

    assert audit_not_recorded([audited("False"), audited("True"), audited(None)]) == 1
