"""Nothing is lost across an audit outage or a controller restart: the workflow never waits for
auditing, AuditRecorded tells the truth, and a restarted controller picks up where it stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wfe.audit.recorder import NoopRecorder
from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.controller.timestamps import format_time

from .harness import DEFAULT_TARGET, Cluster, CollectingAuditSink, StartController, whole_second
from .tekton import Tekton

PIPELINE_RUN = pipeline_run_name(DEFAULT_TARGET)
STARTED_AND_COMPLETED = [
    "workflowexecution.execution.started",
    "workflowexecution.workflow.completed",
]


def audit_recorded(status: dict[str, Any]) -> tuple[str, str] | None:
    found = get_condition(status.get("conditions"), "AuditRecorded")
    return None if found is None else (found["status"], found["reason"])


def complete(cluster: Cluster, tekton: Tekton, name: str) -> None:
    cluster.wait_for_phase(name, "Running")
    now = whole_second(datetime.now(UTC))
    tekton.succeed(PIPELINE_RUN, started=now, completed=now + timedelta(seconds=30))


def test_an_audit_outage_never_holds_the_workflow_and_recording_resumes_when_it_ends(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    audit_store = CollectingAuditSink(available=False)
    start(audit_sink=audit_store)
    cluster.create_wfe("during-outage")
    complete(cluster, tekton, "during-outage")

    cluster.wait_for_phase("during-outage", "Completed")
    waiting = cluster.wait_for_status(
        "during-outage",
        lambda s: audit_recorded(s) == ("False", "AuditFailed"),
        "AuditRecorded=False while the audit store is down",
    )
    assert "the audit sink is failing" in str(
        get_condition(waiting["status"]["conditions"], "AuditRecorded")
    )
    assert audit_store.event_types("during-outage") == []

    audit_store.available = True
    cluster.wait_for_status(
        "during-outage",
        lambda s: audit_recorded(s) == ("True", "AuditSucceeded"),
        "AuditRecorded=True once the store is back",
    )
    assert audit_store.event_types("during-outage") == STARTED_AND_COMPLETED


def test_a_restarted_controller_re_audits_what_its_predecessor_could_not_deliver(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    first = start(audit_sink=CollectingAuditSink(available=False))
    cluster.create_wfe("lost-audit")
    complete(cluster, tekton, "lost-audit")
    cluster.wait_for_status(
        "lost-audit", lambda s: audit_recorded(s) == ("False", "AuditFailed"), "audit pending"
    )
    first.stop()  # its in-memory spool dies with it

    audit_store = CollectingAuditSink()
    start(audit_sink=audit_store)

    cluster.wait_for_status(
        "lost-audit",
        lambda s: audit_recorded(s) == ("True", "AuditSucceeded"),
        "the new controller re-audited the finished workflow",
    )
    assert audit_store.event_types("lost-audit") == STARTED_AND_COMPLETED


def test_a_verdict_given_while_the_controller_was_down_is_picked_up_after_restart(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    first = start()
    cluster.create_wfe("across-restart")
    cluster.wait_for_phase("across-restart", "Running")
    first.stop()

    now = whole_second(datetime.now(UTC))
    tekton.succeed(PIPELINE_RUN, started=now, completed=now + timedelta(seconds=42))
    start()

    status = cluster.wait_for_phase("across-restart", "Completed")["status"]
    assert status["outcome"] == "Success"
    assert status["completionTime"] == format_time(now + timedelta(seconds=42))
    assert len(cluster.pipeline_runs()) == 1


def test_with_auditing_off_the_terminal_status_says_so(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    start(audit=NoopRecorder())
    cluster.create_wfe("unaudited")
    complete(cluster, tekton, "unaudited")
    status = cluster.wait_for_phase("unaudited", "Completed")["status"]
    condition = get_condition(status["conditions"], "AuditRecorded")
    assert condition is not None and condition["status"] == "True"
    assert "Auditing is disabled" in condition["message"]
