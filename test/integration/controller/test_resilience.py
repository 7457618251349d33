"""Conflicts and errors never lose a decision, and a failing reconcile never kills a worker (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.wait import wait_for

from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import NAMESPACES, ApiError, Client

from .faults import FaultInjectingClient
from .harness import (
    DEFAULT_TARGET,
    Cluster,
    PipelineRunWatch,
    StartController,
    metric,
    start_controller,
    whole_second,
)
from .rbac import ControllerRbac
from .tekton import Tekton


@pytest.fixture
def faulty_client(rbac: ControllerRbac) -> FaultInjectingClient:
    """The controller's own identity, with a fault to inject."""
    return FaultInjectingClient(rbac.configuration())


def test_a_status_write_that_loses_a_race_is_retried_and_keeps_the_other_writers_change(
    cluster: Cluster, tekton: Tekton, faulty_client: FaultInjectingClient, start: StartController
) -> None:
    def someone_else_labels_it(wfe: dict[str, Any]) -> None:
        cluster.client.patch(
            WORKFLOW_EXECUTIONS,
            wfe["metadata"]["name"],
            {"metadata": {"labels": {"team": "payments"}}},
            cluster.namespace,
        )

    faulty_client.before_next_status_write(WORKFLOW_EXECUTIONS, someone_else_labels_it)
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        start(client=faulty_client)
        cluster.create_wfe("raced")
        running = cluster.wait_for_phase("raced", "Running")
        created = watch.count("ADDED")
    finally:
        watch.close()

    assert faulty_client.conflicts >= 1, "the concurrent write must have caused a 409"
    assert running["metadata"]["labels"] == {"team": "payments"}
    assert running["status"]["pipelineRunRef"]["name"] == pipeline_run_name(DEFAULT_TARGET)
    created_condition = get_condition(running["status"]["conditions"], "PipelineRunCreated")
    assert created_condition is not None and "created" in created_condition["message"]
    assert created == {pipeline_run_name(DEFAULT_TARGET): 1}
    now = whole_second(datetime.now(UTC))
    tekton.succeed(pipeline_run_name(DEFAULT_TARGET), started=now, completed=now)
    cluster.wait_for_phase("raced", "Completed")


FAILURES = {
    "transient-api-error": (
        ApiError(500, "InternalError", "etcdserver: request timed out"),
        ("external", "InternalError"),
    ),
    "unexpected-exception": (RuntimeError("injected bug"), ("system", "RuntimeError")),
}


@pytest.mark.parametrize(("error", "counted_as"), FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_reconcile_is_retried_and_the_only_worker_keeps_working(
    error: BaseException,
    counted_as: tuple[str, str],
    cluster: Cluster,
    faulty_client: FaultInjectingClient,
    start: StartController,
) -> None:
    category, reason = counted_as
    errors_before = metric("workflowexecution_errors_total", category=category, reason=reason)
    reconcile_errors_before = metric(
        "controller_runtime_reconcile_errors_total", controller="workflowexecution"
    )
    faulty_client.fail_next_create(PIPELINE_RUNS, error)
    start(client=faulty_client, max_concurrent_reconciles=1)

    cluster.create_wfe("unlucky")
    cluster.wait_for_phase("unlucky", "Running")
    cluster.create_wfe("next", target="payment/deployment/checkout")
    cluster.wait_for_phase("next", "Running")

    assert (
        metric("workflowexecution_errors_total", category=category, reason=reason)
        == errors_before + 1
    )
    assert (
        metric("controller_runtime_reconcile_errors_total", controller="workflowexecution")
        == reconcile_errors_before + 1
    )
    assert len(cluster.pipeline_runs()) == 2


def test_a_missing_execution_namespace_is_retried_until_it_exists(
    cluster: Cluster, admin_client: Client
) -> None:
    later = Cluster(admin_client, cluster.namespace, f"{cluster.namespace}-later")
    not_found_before = metric(
        "workflowexecution_errors_total", category="external", reason="NotFound"
    )
    controller = start_controller(admin_client, later)
    try:
        later.create_wfe("early")
        wait_for(
            lambda: (
                metric("workflowexecution_errors_total", category="external", reason="NotFound")
                > not_found_before
            ),
            5,
            message="the failed PipelineRun create to be counted",
        )
        assert (later.get_wfe("early") or {}).get("status", {}).get("phase") in (None, "Pending")

        admin_client.create(
            NAMESPACES,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": later.execution_namespace},
            },
        )
        later.wait_for_phase("early", "Running")
        assert later.pipeline_run_for() is not None
    finally:
        controller.stop()
        if admin_client.get_or_none(NAMESPACES, later.execution_namespace) is not None:
            admin_client.delete(NAMESPACES, later.execution_namespace)
