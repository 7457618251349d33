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


def test_the_audit_index_holds_only_executions_whose_audit_is_not_recorded() -> None:
    from wfe.controller.cache_gauges import AUDIT_NOT_RECORDED, audit_index_values

    def with_audit(status: str) -> dict[str, Any]:
        return wfe("Completed", 10, conditions=[{"type": "AuditRecorded", "status": status}])

    assert audit_index_values(with_audit("False")) == [AUDIT_NOT_RECORDED]
    assert audit_index_values(with_audit("True")) == []
    assert audit_index_values(wfe("Running", 10)) == []
    assert audit_index_values({}) == []


def test_a_scrape_reads_only_the_running_executions_and_an_index_count() -> None:
    """A scrape with 10,000 cached WorkflowExecutions cost 1.6 s of CPU and a transient copy of the
    whole cache when both gauges listed every object (bench/scale, docs/benchmarks.md)."""
    from wfe.controller import cache_gauges
    from wfe.runtime.metrics.registry import REGISTRY

    listed: list[str] = []

    def running() -> list[dict[str, Any]]:
        listed.append("running")
        return [wfe("Running", 1801), wfe("Running", 10)]

    cache_gauges.install(running, lambda: 3, DEFAULT_TIMEOUT, lambda: NOW)
    scrape = {
        sample.name: sample.value for family in REGISTRY.collect() for sample in family.samples
    }
    assert scrape["workflowexecution_running_past_timeout"] == 1.0
    assert scrape["workflowexecution_audit_not_recorded"] == 3.0
    assert listed == ["running"]  # one scrape: the Running ones, listed once
