"""Decisions taken on a cache that lags the API server must be confirmed or dropped, never acted on
(issue 9, items 10 and 14). The reconciler runs against the real API server here, with a cache
reader that serves a chosen (stale) snapshot, so the lag is exact instead of a race."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from api.workflowexecution.v1alpha1.constants import (
    ANNOTATION_WORKFLOW_EXECUTION_UID,
    FINALIZER,
    LABEL_SOURCE_NAMESPACE,
    LABEL_WORKFLOW_EXECUTION,
)
from wfe.audit.recorder import NoopRecorder
from wfe.controller.conditions import get_condition
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run
from wfe.controller.reconciler import WorkflowExecutionReconciler
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.settings import ControllerSettings
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client, Resource
from wfe.runtime.reconcile import Request

from .harness import RUNNER_SERVICE_ACCOUNT, Cluster, ManualClock, whole_second
from .tekton import Tekton

Object = dict[str, Any]


@dataclass
class SnapshotReader:
    """A cache frozen at the moment the test chose: ``get`` answers from ``objects`` only."""

    objects: dict[tuple[str, str, str], Object] = field(default_factory=dict)

    def hold(self, resource: Resource, obj: Object) -> None:
        meta = obj["metadata"]
        self.objects[(resource.plural, meta["namespace"], meta["name"])] = copy.deepcopy(obj)

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> Object | None:
        found = self.objects.get((resource.plural, namespace or "", name))
        return copy.deepcopy(found) if found is not None else None

    def by_index(self, resource: Resource, index_name: str, value: str) -> list[Object]:
        return []

    def projected_by_index(
        self, resource: Resource, index_name: str, value: str, projection: str
    ) -> list[Any]:
        return []


@dataclass
class EventLog:
    """Every Event the reconciler emitted, in order: (reason, message)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def event(self, obj: Object, event_type: str, reason: str, message: str, /) -> None:
        self.seen.append((reason, message))

    def reasons(self, reason: str) -> list[str]:
        return [message for seen, message in self.seen if seen == reason]


def reconciler(
    client: Client,
    cluster: Cluster,
    reader: SnapshotReader,
    events: EventLog,
    clock: ManualClock | None = None,
) -> WorkflowExecutionReconciler:
    settings = ControllerSettings(
        execution=ExecutionSettings(cluster.execution_namespace, RUNNER_SERVICE_ACCOUNT, 1800),
        cooldown_seconds=60,
    )
    return WorkflowExecutionReconciler(
        client, reader, events, NoopRecorder(), settings, clock or ManualClock()
    )


def running_with_pipeline_run(
    cluster: Cluster, name: str, started: datetime
) -> tuple[Object, Object]:
    """A WorkflowExecution Running on its PipelineRun, as the controller leaves it."""
    created = cluster.create_wfe(name)
    pipeline_run = cluster.client.create(
        PIPELINE_RUNS,
        build_pipeline_run(
            created,
            ExecutionSettings(cluster.execution_namespace, RUNNER_SERVICE_ACCOUNT, 1800),
        ),
    )
    wfe = cluster.write_wfe_status(
        name,
        {
            "phase": "Running",
            "startTime": format_time(started),
            "pipelineRunRef": {
                "name": pipeline_run["metadata"]["name"],
                "namespace": cluster.execution_namespace,
            },
        },
    )
    return wfe, pipeline_run


def test_a_cached_pipeline_run_of_the_previous_holder_does_not_fail_a_successful_run(
    cluster: Cluster, tekton: Tekton
) -> None:
    started = whole_second(datetime.now(UTC)) - timedelta(minutes=2)
    wfe, ours = running_with_pipeline_run(cluster, "current", started)
    tekton.succeed(
        ours["metadata"]["name"], started=started, completed=started + timedelta(minutes=1)
    )
    # the cache still holds the previous holder's PipelineRun of the same name (the stale lock
    # this run replaced): other owner, other uid
    previous = copy.deepcopy(ours)
    previous["metadata"]["uid"] = "00000000-0000-4000-8000-00000000dead"
    previous["metadata"]["labels"][LABEL_WORKFLOW_EXECUTION] = "previous"
    previous["metadata"]["labels"][LABEL_SOURCE_NAMESPACE] = cluster.namespace
    previous["metadata"]["annotations"][ANNOTATION_WORKFLOW_EXECUTION_UID] = "uid-of-previous"
    reader = SnapshotReader()
    reader.hold(WORKFLOW_EXECUTIONS, wfe)
    reader.hold(PIPELINE_RUNS, previous)
    events = EventLog()

    reconciler(cluster.client, cluster, reader, events).reconcile(
        Request(cluster.namespace, "current")
    )

    status = cluster.get_wfe("current")["status"]  # type: ignore[index]
    assert status["phase"] == "Completed", status.get("failureDetails")
    assert status["outcome"] == "Success"
    assert not events.reasons("WorkflowFailed")
    assert cluster.pipeline_run(ours["metadata"]["name"]) is not None


def test_the_lock_is_released_once_when_a_second_reconcile_decides_on_a_stale_cache(
    cluster: Cluster,
) -> None:
    started = whole_second(datetime.now(UTC)) - timedelta(minutes=5)
    running_with_pipeline_run(cluster, "finished", started)
    completed = cluster.write_wfe_status(
        "finished",
        {
            **cluster.get_wfe("finished")["status"],  # type: ignore[index]
            "phase": "Completed",
            "outcome": "Success",
            "completionTime": format_time(started + timedelta(minutes=1)),
        },
    )
    finished_at = started + timedelta(minutes=1)
    # within the cooldown: the reconcile adds the finalizer and AuditRecorded, and waits
    events = EventLog()
    clock = ManualClock()
    clock.set(finished_at + timedelta(seconds=30))
    reader = SnapshotReader()
    reader.hold(WORKFLOW_EXECUTIONS, completed)
    reconciler(cluster.client, cluster, reader, events, clock).reconcile(
        Request(cluster.namespace, "finished")
    )
    before_release = cluster.get_wfe("finished")
    assert before_release is not None
    reader.hold(WORKFLOW_EXECUTIONS, before_release)

    # cooldown over: the PipelineRun is deleted and the lock released, once
    clock.set(finished_at + timedelta(minutes=2))
    reconciler(cluster.client, cluster, reader, events, clock).reconcile(
        Request(cluster.namespace, "finished")
    )
    released = cluster.get_wfe("finished")
    assert released is not None
    lock = get_condition(released["status"]["conditions"], "ResourceLockAcquired")
    assert lock is not None and lock["reason"] == "LockReleased"
    assert "deleted" in lock["message"]
    assert len(events.reasons("LockReleased")) == 1

    # a second reconcile still sees the object as it was before the release (the watch lags):
    # it must decide again on the fresh object, not replay "release the lock"
    reconciler(cluster.client, cluster, reader, events, clock).reconcile(
        Request(cluster.namespace, "finished")
    )

    after = cluster.get_wfe("finished")
    assert after is not None
    assert after["metadata"]["resourceVersion"] == released["metadata"]["resourceVersion"]
    assert len(events.reasons("LockReleased")) == 1, events.seen


def test_a_cache_behind_the_controllers_own_running_write_never_starts_a_second_execution(
    cluster: Cluster,
) -> None:
    """The controller created the PipelineRun and wrote Running; before the watch brings that
    write back, the PipelineRun is deleted and its DELETE event triggers a reconcile. The cache
    still says Pending: deciding on it would create the PipelineRun again and run the
    remediation twice. The controller knows its own write is newer than the cache, so the
    verdict is PipelineRunDeleted and nothing runs again."""
    cluster.create_wfe("once")
    with_finalizer = cluster.client.patch(
        WORKFLOW_EXECUTIONS, "once", {"metadata": {"finalizers": [FINALIZER]}}, cluster.namespace
    )
    reader = SnapshotReader()
    reader.hold(WORKFLOW_EXECUTIONS, with_finalizer)  # the cache stays here: Pending
    events = EventLog()
    controller = reconciler(cluster.client, cluster, reader, events)
    controller.reconcile(Request(cluster.namespace, "once"))
    running = cluster.get_wfe("once")
    assert running is not None and running["status"]["phase"] == "Running"
    first = cluster.pipeline_runs()
    assert len(first) == 1
    cluster.client.delete(PIPELINE_RUNS, first[0]["metadata"]["name"], cluster.execution_namespace)

    controller.reconcile(Request(cluster.namespace, "once"))

    assert cluster.pipeline_runs() == [], "the remediation was started a second time"
    status = cluster.get_wfe("once")["status"]  # type: ignore[index]
    assert status["phase"] == "Failed"
    assert status["failureDetails"]["reason"] == "PipelineRunDeleted"
    assert len(events.reasons("PipelineRunCreated")) == 1, events.seen
