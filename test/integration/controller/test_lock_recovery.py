"""The lock survives crashes and debris: adoption, stale-lock takeover, cluster-wide holders, and
release once the cooldown is over (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.workflowexecution.v1alpha1.constants import (
    ANNOTATION_WORKFLOW_EXECUTION_UID,
    LABEL_SOURCE_NAMESPACE,
    LABEL_WORKFLOW_EXECUTION,
)
from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time

from .harness import (
    DEFAULT_TARGET,
    RUNNER_SERVICE_ACCOUNT,
    Cluster,
    PipelineRunWatch,
    StartController,
    whole_second,
)
from .rbac import ControllerRbac
from .tekton import Tekton

PIPELINE_RUN = pipeline_run_name(DEFAULT_TARGET)
Object = dict[str, Any]


def pipeline_run_of(cluster: Cluster, wfe: Object) -> Object:
    """The PipelineRun the controller would have created for ``wfe``."""
    settings = ExecutionSettings(cluster.execution_namespace, RUNNER_SERVICE_ACCOUNT, 1800)
    return build_pipeline_run(wfe, settings)


def owner_name(pipeline_run: Object | None) -> str:
    assert pipeline_run is not None
    return str(pipeline_run["metadata"]["labels"][LABEL_WORKFLOW_EXECUTION])


def test_a_pipeline_run_created_just_before_a_crash_is_adopted_not_duplicated(
    cluster: Cluster, start: StartController
) -> None:
    # the previous controller created the PipelineRun, then died before writing the status
    wfe = cluster.create_wfe("interrupted")
    before_crash = cluster.client.create(PIPELINE_RUNS, pipeline_run_of(cluster, wfe))
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        start()
        status = cluster.wait_for_phase("interrupted", "Running")["status"]
        created, deleted = watch.count("ADDED"), watch.count("DELETED")
    finally:
        watch.close()

    assert not created and not deleted
    current = cluster.pipeline_run(PIPELINE_RUN)
    assert current is not None
    assert current["metadata"]["uid"] == before_crash["metadata"]["uid"]
    assert status["pipelineRunRef"]["name"] == PIPELINE_RUN
    created_condition = get_condition(status["conditions"], "PipelineRunCreated")
    assert created_condition is not None and "adopted" in created_condition["message"]
    assert "adopted" in cluster.wait_for_event("interrupted", "PipelineRunCreated")["message"]


def _debris(cluster: Cluster) -> Object:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": PIPELINE_RUN, "namespace": cluster.execution_namespace},
        "spec": {"pipelineRef": {"name": "leftover"}},
    }


def _owned_by_a_deleted_wfe(cluster: Cluster) -> Object:
    ghost = cluster.create_wfe("ghost")
    pipeline_run = pipeline_run_of(cluster, ghost)
    cluster.delete_wfe("ghost")
    return pipeline_run


def _owned_by_a_failed_wfe(cluster: Cluster) -> Object:
    # failed 10s ago, a different workflow: the cooldown does not apply, and its own lock
    # release is 290s away, so only the takeover can free the target
    old = cluster.create_wfe("old", workflow_id="drain-node")
    failed_at = whole_second(datetime.now(UTC)) - timedelta(seconds=10)
    cluster.write_wfe_status(
        "old",
        {
            "phase": "Failed",
            "outcome": "Failure",
            "startTime": format_time(failed_at - timedelta(minutes=1)),
            "completionTime": format_time(failed_at),
            "pipelineRunRef": {"name": PIPELINE_RUN, "namespace": cluster.execution_namespace},
        },
    )
    return pipeline_run_of(cluster, old)


STALE_LOCKS = {
    "unlabelled-debris": _debris,
    "owner-deleted": _owned_by_a_deleted_wfe,
    "owner-terminal": _owned_by_a_failed_wfe,
}


@pytest.mark.parametrize("stale_lock", STALE_LOCKS.values(), ids=STALE_LOCKS.keys())
def test_a_stale_lock_is_removed_and_the_workflow_runs(
    stale_lock: Callable[[Cluster], Object], cluster: Cluster, start: StartController
) -> None:
    stale = cluster.client.create(PIPELINE_RUNS, stale_lock(cluster))
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        start(cooldown_seconds=300)
        cluster.create_wfe("fresh")
        cluster.wait_for_phase("fresh", "Running")
        created, deleted = watch.count("ADDED"), watch.count("DELETED")
    finally:
        watch.close()

    current = cluster.pipeline_run(PIPELINE_RUN)
    assert current is not None
    assert current["metadata"]["uid"] != stale["metadata"]["uid"]
    assert owner_name(current) == "fresh"
    assert created == {PIPELINE_RUN: 1} and deleted == {PIPELINE_RUN: 1}


def test_a_target_locked_by_a_running_workflow_in_another_namespace_is_busy(
    cluster: Cluster, other_namespace: str, rbac: ControllerRbac, start: StartController
) -> None:
    # the lock is cluster-wide: a holder this controller's cache cannot see still counts
    rbac.grant(other_namespace)  # the project binds its ClusterRole cluster-wide
    holder = cluster.create_wfe("elsewhere", namespace=other_namespace)
    started = format_time(whole_second(datetime.now(UTC)))
    cluster.write_wfe_status(
        "elsewhere", {"phase": "Running", "startTime": started}, other_namespace
    )
    held = cluster.client.create(PIPELINE_RUNS, pipeline_run_of(cluster, holder))
    start()

    cluster.create_wfe("local")
    status = cluster.wait_for_phase("local", "Skipped")["status"]

    assert status["skipDetails"]["reason"] == "ResourceBusy"
    assert status["skipDetails"]["conflictingWorkflow"]["name"] == "elsewhere"
    assert status["skipDetails"]["conflictingWorkflow"]["namespace"] == other_namespace
    current = cluster.pipeline_run(PIPELINE_RUN)
    assert current is not None and current["metadata"]["uid"] == held["metadata"]["uid"]
    labels = current["metadata"]["labels"]
    assert labels[LABEL_SOURCE_NAMESPACE] == other_namespace
    assert (
        current["metadata"]["annotations"][ANNOTATION_WORKFLOW_EXECUTION_UID]
        == holder["metadata"]["uid"]
    )


def test_the_lock_is_released_when_the_cooldown_ends(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    start(cooldown_seconds=1)
    cluster.create_wfe("first")
    cluster.wait_for_phase("first", "Running")
    now = whole_second(datetime.now(UTC))
    tekton.succeed(PIPELINE_RUN, started=now, completed=now)

    def released(status: Object) -> bool:
        lock = get_condition(status.get("conditions"), "ResourceLockAcquired")
        return lock is not None and (lock["status"], lock["reason"]) == ("False", "LockReleased")

    status = cluster.wait_for_status("first", released, "lock released", timeout=5)["status"]

    assert status["phase"] == "Completed"
    assert cluster.pipeline_run(PIPELINE_RUN) is None
    event = cluster.wait_for_event("first", "LockReleased")
    assert PIPELINE_RUN in event["message"] and DEFAULT_TARGET in event["message"]
    cluster.create_wfe("next")
    cluster.wait_for_phase("next", "Running")
    assert owner_name(cluster.pipeline_run(PIPELINE_RUN)) == "next"
