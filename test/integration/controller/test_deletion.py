"""Deleting a WorkflowExecution in any phase cleans up what it owns and nothing else (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.wait import wait_for

from api.workflowexecution.v1alpha1.constants import FINALIZER
from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS

from .harness import (
    DEFAULT_TARGET,
    Cluster,
    RunningController,
    StartController,
    whole_second,
    workflow_execution,
)
from .rbac import ControllerRbac
from .tekton import Tekton

PIPELINE_RUN = pipeline_run_name(DEFAULT_TARGET)

# The controller's rights on Tekton in the execution namespace, minus "delete" on PipelineRuns.
NO_DELETE: list[dict[str, Any]] = [
    {
        "apiGroups": ["tekton.dev"],
        "resources": ["pipelineruns"],
        "verbs": ["create", "get", "list", "watch"],
    },
    {"apiGroups": ["tekton.dev"], "resources": ["taskruns"], "verbs": ["get", "list", "watch"]},
]


def _running(cluster: Cluster, tekton: Tekton) -> None:
    cluster.create_wfe("doomed")
    cluster.wait_for_phase("doomed", "Running")


def _completed(cluster: Cluster, tekton: Tekton) -> None:
    _running(cluster, tekton)
    now = whole_second(datetime.now(UTC))
    tekton.succeed(PIPELINE_RUN, started=now, completed=now)
    cluster.wait_for_phase("doomed", "Completed")


def _failed(cluster: Cluster, tekton: Tekton) -> None:
    _running(cluster, tekton)
    now = whole_second(datetime.now(UTC))
    tekton.fail(
        PIPELINE_RUN,
        reason="PipelineRunTimeout",
        message="timed out",
        started=now - timedelta(minutes=30),
        completed=now,
    )
    cluster.wait_for_phase("doomed", "Failed")


CLEANED_UP = {"running": _running, "completed": _completed, "failed": _failed}


@pytest.mark.parametrize("reach_phase", CLEANED_UP.values(), ids=CLEANED_UP.keys())
def test_deleting_a_workflow_that_ran_deletes_its_pipeline_run_and_lets_it_go(
    reach_phase: Callable[[Cluster, Tekton], None],
    cluster: Cluster,
    tekton: Tekton,
    start: StartController,
) -> None:
    controller = start(cooldown_seconds=300)
    reach_phase(cluster, tekton)
    assert cluster.pipeline_run(PIPELINE_RUN) is not None

    cluster.delete_wfe("doomed")
    cluster.wait_until_gone("doomed")

    assert cluster.pipeline_run(PIPELINE_RUN) is None
    event = cluster.wait_for_event("doomed", "WorkflowExecutionDeleted")
    assert PIPELINE_RUN in event["message"]
    wait_for_audit(controller, "doomed", "workflowexecution.workflow.deleted")


def wait_for_audit(controller: RunningController, name: str, event_type: str) -> None:
    wait_for(
        lambda: event_type in controller.audit_sink.event_types(name),
        5,
        message=f"audit event {event_type} for {name}",
    )


def test_deleting_a_skipped_workflow_leaves_the_running_ones_pipeline_run_alone(
    cluster: Cluster, start: StartController
) -> None:
    start()
    cluster.create_wfe("holder")
    cluster.wait_for_phase("holder", "Running")
    cluster.create_wfe("duplicate")
    cluster.wait_for_phase("duplicate", "Skipped")

    cluster.delete_wfe("duplicate")
    cluster.wait_until_gone("duplicate")

    pipeline_run = cluster.pipeline_run(PIPELINE_RUN)
    assert pipeline_run is not None
    assert pipeline_run["metadata"]["labels"]["kubernaut.ai/workflow-execution"] == "holder"
    assert cluster.wait_for_phase("holder", "Running")["metadata"].get("deletionTimestamp") is None
    assert (
        "no PipelineRun"
        in cluster.wait_for_event("duplicate", "WorkflowExecutionDeleted")["message"]
    )


def test_a_workflow_deleted_while_pending_goes_away_without_running(
    cluster: Cluster, start: StartController
) -> None:
    # the controller added its finalizer, then was down while the workflow was deleted
    pending = workflow_execution("cancelled-early", cluster.namespace)
    pending["metadata"]["finalizers"] = [FINALIZER]
    cluster.client.create(WORKFLOW_EXECUTIONS, pending)
    cluster.delete_wfe("cancelled-early")
    assert cluster.get_wfe("cancelled-early") is not None, "held by the finalizer"

    start()
    cluster.wait_until_gone("cancelled-early")

    assert cluster.pipeline_runs() == []
    cluster.wait_for_event("cancelled-early", "WorkflowExecutionDeleted")


def test_deleting_an_old_workflow_after_its_lock_was_released_leaves_the_new_run_alone(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    start(cooldown_seconds=1)
    _completed(cluster, tekton)
    cluster.wait_for_event("doomed", "LockReleased")
    cluster.create_wfe("successor", workflow_id="scale-deployment")
    cluster.wait_for_phase("successor", "Running")

    cluster.delete_wfe("doomed")
    cluster.wait_until_gone("doomed")

    pipeline_run = cluster.pipeline_run(PIPELINE_RUN)
    assert pipeline_run is not None
    assert pipeline_run["metadata"]["labels"]["kubernaut.ai/workflow-execution"] == "successor"
    assert (
        "no PipelineRun" in cluster.wait_for_event("doomed", "WorkflowExecutionDeleted")["message"]
    )


def test_a_pipeline_run_that_cannot_be_deleted_keeps_the_workflow_until_cleanup_succeeds(
    cluster: Cluster, rbac: ControllerRbac, start: StartController
) -> None:
    rbac.grant(cluster.namespace)
    rbac.grant_rules(cluster.execution_namespace, NO_DELETE)
    rbac.wait_until_allowed(PIPELINE_RUNS, cluster.execution_namespace)
    start(grant=False)
    cluster.create_wfe("stubborn")
    cluster.wait_for_phase("stubborn", "Running")

    cluster.delete_wfe("stubborn")
    wait_for(
        lambda: cluster.wait_for_event("stubborn", "CleanupFailed").get("count", 0) >= 2,
        5,
        message="the cleanup to be retried",
    )

    failures = [e for e in cluster.events_for("stubborn") if e["reason"] == "CleanupFailed"]
    assert len(failures) == 1, "repeats are aggregated into one Event with a count"
    assert failures[0]["type"] == "Warning" and "forbidden" in failures[0]["message"]
    assert cluster.get_wfe("stubborn") is not None, "the finalizer holds it until cleanup works"
    assert cluster.pipeline_run(PIPELINE_RUN) is not None
    rbac.grant_execution(cluster.execution_namespace)
    cluster.wait_until_gone("stubborn", timeout=15)
    assert cluster.pipeline_run(PIPELINE_RUN) is None
