"""Auditing never blocks a workflow and loses nothing (SPEC §9): while Data Storage is down the
WorkflowExecutions still finish; once it is back, or after a controller restart on the same spool,
every lifecycle event reaches it exactly once and every WorkflowExecution ends AuditRecorded=True."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.datastorage import DataStorage
from support.wait import wait_for

from api.workflowexecution.v1alpha1.constants import ConditionReason, ConditionType
from wfe.audit import AuditRecorder, DataStorageSink, EventType, FileSpool, event_id_for
from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.runtime.client import Client
from wfe.runtime.metrics.registry import REGISTRY

from .harness import Cluster, RunningController, metric, start_controller
from .tekton import Tekton, progress

Object = dict[str, Any]
LaunchController = Callable[..., RunningController]

# Short waits between delivery attempts so that recovery is quick to observe; production uses 1s..60s.
RETRY_BACKOFF_SECONDS = 0.05
MAX_RETRY_BACKOFF_SECONDS = 0.2


@pytest.fixture
def data_storage() -> Iterator[DataStorage]:
    peer = DataStorage()
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
def launch_controller(
    admin_client: Client, cluster: Cluster, data_storage: DataStorage
) -> Iterator[LaunchController]:
    """``launch_controller(spool_dir, **settings)`` runs a controller (settings as the harness's
    ``start_controller``) that audits to ``data_storage`` through a file spool in ``spool_dir``, as
    ``--audit-sink=datastorage --audit-spool-dir`` wires it."""
    running: list[RunningController] = []

    def launch(spool_dir: Path, **settings: Any) -> RunningController:
        recorder = AuditRecorder(
            DataStorageSink(data_storage.url, timeout=2.0),
            FileSpool(spool_dir),
            flush_interval=0.05,
            initial_backoff=RETRY_BACKOFF_SECONDS,
            max_backoff=MAX_RETRY_BACKOFF_SECONDS,
        )
        controller = start_controller(admin_client, cluster, audit=recorder, **settings)
        running.append(controller)
        return controller

    yield launch
    for controller in reversed(running):
        if not controller.stop_event.is_set():
            controller.stop()


def target_of(name: str) -> str:
    return f"payment/deployment/{name}"


def run_to_the_end(cluster: Cluster, tekton: Tekton, outcomes: dict[str, bool]) -> list[Object]:
    """Creates one WFE per name, plays Tekton to success (True) or failure (False), and returns the
    WFEs once they are Completed or Failed; each step must happen within the harness's 10 s wait."""
    for name in outcomes:
        cluster.create_wfe(name, target=target_of(name))
    finished = datetime.now(UTC)
    started = finished - timedelta(seconds=30)
    for name, succeeds in outcomes.items():
        cluster.wait_for_phase(name, "Running")
        pipeline_run = pipeline_run_name(target_of(name))
        if succeeds:
            tekton.succeed(pipeline_run, started=started, completed=finished)
        else:
            tekton.fail(
                pipeline_run,
                reason="Failed",
                message=progress(0, failed=1),
                started=started,
                completed=finished,
            )
    return [
        cluster.wait_for_phase(name, "Completed" if succeeds else "Failed")
        for name, succeeds in outcomes.items()
    ]


def expected_events(wfe: Object) -> dict[str, EventType]:
    """event_id → type of the events a finished WFE must have produced: started, then its verdict."""
    verdict = (
        EventType.WORKFLOW_COMPLETED
        if wfe["status"]["phase"] == "Completed"
        else EventType.WORKFLOW_FAILED
    )
    uid = wfe["metadata"]["uid"]
    return {event_id_for(uid, t): t for t in (EventType.EXECUTION_STARTED, verdict)}


def wait_for_condition(cluster: Cluster, name: str, type_: str, status: str, reason: str) -> Object:
    def holds(wfe_status: Object) -> bool:
        found = get_condition(wfe_status.get("conditions"), type_)
        return found is not None and (found["status"], found["reason"]) == (status, reason)

    return cluster.wait_for_status(name, holds, f"{type_}={status} ({reason})")


def audit_recorded(cluster: Cluster, name: str, status: str, reason: str) -> Object:
    return wait_for_condition(cluster, name, ConditionType.AUDIT_RECORDED, status, reason)


def audit_events_total(result: str) -> Counter[str]:
    return Counter(
        {
            str(t): REGISTRY.get_sample_value(
                "workflowexecution_audit_events_total", {"type": str(t), "result": result}
            )
            or 0.0
            for t in EventType
        }
    )


def audit_backlog() -> float:
    return REGISTRY.get_sample_value("workflowexecution_audit_backlog") or 0.0


def spooled_ids(spool_dir: Path) -> set[str]:
    return {path.stem for path in spool_dir.glob("*.json")}


def assert_each_arrived_once(data_storage: DataStorage, expected: dict[str, EventType]) -> None:
    assert data_storage.deliveries_by_id() == Counter(dict.fromkeys(expected, 1))
    assert {e["event_id"]: e["event_type"] for e in data_storage.received} == {
        event_id: str(t) for event_id, t in expected.items()
    }


def test_events_of_an_outage_all_arrive_once_data_storage_is_back_and_no_workflow_waited(
    cluster: Cluster,
    tekton: Tekton,
    data_storage: DataStorage,
    launch_controller: LaunchController,
    tmp_path: Path,
) -> None:
    data_storage.fail_with(503)
    recorded_before, failed_before = audit_events_total("recorded"), audit_events_total("failed")
    launch_controller(tmp_path, cooldown_seconds=1.0)
    outcomes = {"pay-ok-1": True, "pay-ok-2": True, "pay-ko-1": False, "pay-ko-2": False}

    finished = run_to_the_end(cluster, tekton, outcomes)

    expected = {i: t for wfe in finished for i, t in expected_events(wfe).items()}
    for name in outcomes:
        # the whole lifecycle goes on without the audit trail: finished, then the target unlocked
        wait_for_condition(
            cluster,
            name,
            ConditionType.RESOURCE_LOCK_ACQUIRED,
            "False",
            ConditionReason.LOCK_RELEASED,
        )
        audit_recorded(cluster, name, "False", ConditionReason.AUDIT_FAILED)
    # the alert's gauge, counted from the cache's audit index at scrape time
    wait_for(
        lambda: metric("workflowexecution_audit_not_recorded") == len(outcomes),
        message="every workflow counted as audit not recorded",
    )
    wait_for(lambda: audit_backlog() == len(expected), message="every event in the backlog")
    assert spooled_ids(tmp_path) == set(expected)
    assert data_storage.received == []
    assert data_storage.refused_batches > 0, "the controller kept trying during the outage"
    wait_for(
        lambda: (
            set(audit_events_total("failed") - failed_before) == set(map(str, expected.values()))
        ),
        message="a failed delivery attempt counted for every event type",
    )

    data_storage.fail_with(None)

    for name in outcomes:
        audit_recorded(cluster, name, "True", ConditionReason.AUDIT_SUCCEEDED)
    wait_for(
        lambda: metric("workflowexecution_audit_not_recorded") == 0,
        message="no workflow counted as audit not recorded",
    )
    assert_each_arrived_once(data_storage, expected)
    by_id = {e["event_id"]: e for e in data_storage.received}
    for wfe in finished:
        name = wfe["metadata"]["name"]
        for event_id in expected_events(wfe):
            event = by_id[event_id]
            assert (event["resource_id"], event["namespace"]) == (name, cluster.namespace)
            assert event["correlation_id"] == f"rr-{name}"
    wait_for(lambda: audit_backlog() == 0, message="an empty backlog")
    assert spooled_ids(tmp_path) == set()
    assert audit_events_total("recorded") - recorded_before == Counter(
        str(t) for t in expected.values()
    )


def test_events_spooled_before_a_restart_are_delivered_by_the_next_controller(
    cluster: Cluster,
    tekton: Tekton,
    data_storage: DataStorage,
    launch_controller: LaunchController,
    tmp_path: Path,
) -> None:
    data_storage.stop()  # nothing listens: connections are refused
    recorded_before = audit_events_total("recorded")
    first = launch_controller(tmp_path)
    outcomes = {"pay-ok": True, "pay-ko": False}
    finished = run_to_the_end(cluster, tekton, outcomes)
    expected = {i: t for wfe in finished for i, t in expected_events(wfe).items()}
    for name in outcomes:
        audit_recorded(cluster, name, "False", ConditionReason.AUDIT_FAILED)
    wait_for(lambda: spooled_ids(tmp_path) == set(expected), message="every event spooled")

    first.stop()
    assert spooled_ids(tmp_path) == set(expected), "undelivered events stay on disk"
    assert audit_backlog() == len(expected)
    data_storage.start()
    restarted_at = datetime.now(UTC)
    launch_controller(tmp_path)

    for name in outcomes:
        audit_recorded(cluster, name, "True", ConditionReason.AUDIT_SUCCEEDED)
    wait_for(
        lambda: metric("workflowexecution_audit_not_recorded") == 0,
        message="no workflow counted as audit not recorded",
    )
    assert_each_arrived_once(data_storage, expected)
    # the spooled events themselves, not rebuilt ones: they say when the first controller saw each
    # transition, not when the second one started
    rebuilt = [
        event["event_id"]
        for event in data_storage.received
        if datetime.fromisoformat(event["event_timestamp"]) >= restarted_at
    ]
    assert rebuilt == [], "events were rebuilt after the restart instead of taken from the spool"
    wait_for(lambda: audit_backlog() == 0, message="an empty backlog")
    assert spooled_ids(tmp_path) == set()
    assert audit_events_total("recorded") - recorded_before == Counter(
        str(t) for t in expected.values()
    )
