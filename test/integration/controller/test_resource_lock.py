"""The safety core (SPEC §3): one remediation per target at a time, no repeat within the cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.wait import wait_for

from wfe.controller.conditions import get_condition
from wfe.controller.naming import pipeline_run_name
from wfe.controller.timestamps import format_time

from .harness import (
    DEFAULT_TARGET,
    Cluster,
    PipelineRunWatch,
    RunningController,
    StartController,
    metric,
    whole_second,
)
from .tekton import Tekton

PIPELINE_RUN = pipeline_run_name(DEFAULT_TARGET)


def skips(reason: str) -> float:
    return metric("workflowexecution_skip_total", reason=reason)


def lock_condition(status: dict[str, Any]) -> tuple[str, str]:
    found = get_condition(status.get("conditions"), "ResourceLockAcquired")
    assert found is not None
    return found["status"], found["reason"]


def complete_at(
    cluster: Cluster, tekton: Tekton, controller: RunningController, name: str, at: datetime
) -> dict[str, Any]:
    """Runs ``name`` to Completed with Tekton's completionTime ``at``, the controller's clock at ``at``."""
    controller.clock.set(at)
    cluster.create_wfe(name)
    cluster.wait_for_phase(name, "Running")
    tekton.succeed(PIPELINE_RUN, started=at, completed=at)
    return cluster.wait_for_phase(name, "Completed")


def test_second_workflow_on_a_busy_target_is_skipped_naming_the_running_one(
    cluster: Cluster, start: StartController
) -> None:
    busy_before = skips("ResourceBusy")
    controller = start()
    cluster.create_wfe("first")
    first = cluster.wait_for_phase("first", "Running")
    holder = cluster.pipeline_run(PIPELINE_RUN)

    cluster.create_wfe("second", workflow_id="scale-deployment")
    status = cluster.wait_for_phase("second", "Skipped")["status"]

    assert status["skipDetails"]["reason"] == "ResourceBusy"
    assert status["skipDetails"]["conflictingWorkflow"] == {
        "name": "first",
        "namespace": cluster.namespace,
        "workflowId": "restart-deployment",
        "startedAt": first["status"]["startTime"],
        "targetResource": DEFAULT_TARGET,
    }
    assert "first" in status["message"]
    assert "outcome" not in status and "pipelineRunRef" not in status
    assert lock_condition(status) == ("False", "ResourceBusy")
    wait_for(lambda: skips("ResourceBusy") == busy_before + 1, 2, message="the skip counted")
    event = cluster.wait_for_event("second", "WorkflowSkipped")
    assert "first" in event["message"]
    assert holder is not None
    current = cluster.pipeline_run(PIPELINE_RUN)
    assert current is not None and current["metadata"]["uid"] == holder["metadata"]["uid"]
    cluster.wait_for_status(
        "second",
        lambda _: (
            controller.audit_sink.event_types("second") == ["workflowexecution.workflow.skipped"]
        ),
        "the skip is audited",
    )


def test_same_workflow_within_cooldown_is_skipped_with_the_time_remaining(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    recent_before = skips("RecentlyRemediated")
    controller = start(cooldown_seconds=60)
    finished = whole_second(datetime.now(UTC))
    first = complete_at(cluster, tekton, controller, "first", finished)

    cluster.create_wfe("repeat")
    status = cluster.wait_for_phase("repeat", "Skipped")["status"]
    controller.clock.set(finished + timedelta(seconds=59))
    cluster.create_wfe("almost")
    almost = cluster.wait_for_phase("almost", "Skipped")["status"]

    assert status["skipDetails"]["reason"] == "RecentlyRemediated"
    assert status["skipDetails"]["recentRemediation"] == {
        "name": "first",
        "namespace": cluster.namespace,
        "workflowId": "restart-deployment",
        "completedAt": first["status"]["completionTime"],
        "outcome": "Success",
        "targetResource": DEFAULT_TARGET,
        "cooldownRemaining": "1m0s",
    }
    assert lock_condition(status) == ("False", "RecentlyRemediated")
    assert almost["skipDetails"]["recentRemediation"]["cooldownRemaining"] == "1s"
    wait_for(lambda: skips("RecentlyRemediated") == recent_before + 2, 2, message="skips counted")
    cluster.wait_for_event("repeat", "WorkflowSkipped")


def test_same_workflow_is_allowed_again_exactly_when_the_cooldown_ends(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    controller = start(cooldown_seconds=60)
    finished = whole_second(datetime.now(UTC))
    complete_at(cluster, tekton, controller, "first", finished)

    controller.clock.set(finished + timedelta(seconds=60))
    cluster.create_wfe("again")
    status = cluster.wait_for_phase("again", "Running")["status"]

    assert status["startTime"] == format_time(finished + timedelta(seconds=60))
    pipeline_run = cluster.pipeline_run(PIPELINE_RUN)
    assert pipeline_run is not None
    assert pipeline_run["metadata"]["labels"]["kubernaut.ai/workflow-execution"] == "again"


def test_a_different_workflow_on_a_recently_remediated_target_runs(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    controller = start(cooldown_seconds=300)
    finished = whole_second(datetime.now(UTC))
    complete_at(cluster, tekton, controller, "restart", finished)

    cluster.create_wfe("scale", workflow_id="scale-deployment")
    cluster.wait_for_phase("scale", "Running")

    pipeline_run = cluster.pipeline_run(PIPELINE_RUN)
    assert pipeline_run is not None
    assert pipeline_run["metadata"]["labels"]["kubernaut.ai/workflow-id"] == "scale-deployment"


def test_an_alert_storm_creates_exactly_one_pipeline_run_per_target(
    cluster: Cluster, start: StartController
) -> None:
    targets = [f"payment/deployment/api-{i}" for i in range(6)]
    busy_before = skips("ResourceBusy")
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        start(max_concurrent_reconciles=4)
        for n in range(60):
            cluster.create_wfe(f"storm-{n:02d}", target=targets[n % 6])

        def all_decided() -> list[dict[str, Any]] | None:
            items = cluster.list_wfes()
            phases = [(i.get("status") or {}).get("phase") for i in items]
            return items if all(p in ("Running", "Skipped") for p in phases) else None

        wfes: list[dict[str, Any]] = wait_for(all_decided, 60, message="every WFE decided")
        created = watch.count("ADDED")
        deleted = watch.count("DELETED")
    finally:
        watch.close()

    assert created == {pipeline_run_name(t): 1 for t in targets}
    assert not deleted
    running = {w["spec"]["targetResource"]: w for w in wfes if w["status"]["phase"] == "Running"}
    assert sorted(running) == sorted(targets)
    skipped = [w for w in wfes if w["status"]["phase"] == "Skipped"]
    assert len(skipped) == 54
    for wfe in skipped:
        details = wfe["status"]["skipDetails"]
        holder = running[wfe["spec"]["targetResource"]]
        assert details["reason"] == "ResourceBusy"
        assert details["conflictingWorkflow"]["name"] == holder["metadata"]["name"]
    wait_for(lambda: skips("ResourceBusy") == busy_before + 54, 2, message="54 skips counted")


def test_one_target_written_with_plural_short_and_singular_kinds_is_one_lock(
    cluster: Cluster, start: StartController
) -> None:
    # issue 9: fz/deployment/app, fz/deployments/app and fz/deploy/app ran as three PipelineRuns
    spellings = ["fz/deployments/app", "fz/deploy/app", "fz/deployment/app"]
    watch = PipelineRunWatch(cluster.client, cluster.execution_namespace)
    try:
        start()
        for n, target in enumerate(spellings):
            cluster.create_wfe(f"spelling-{n}", target=target, workflow_id=f"workflow-{n}")

        def all_decided() -> list[dict[str, Any]] | None:
            items = cluster.list_wfes()
            phases = sorted((i.get("status") or {}).get("phase") or "" for i in items)
            return items if phases == ["Running", "Skipped", "Skipped"] else None

        wfes: list[dict[str, Any]] = wait_for(all_decided, 30, message="one Running, two Skipped")
        created = watch.count("ADDED")
    finally:
        watch.close()

    lock = pipeline_run_name("fz/deployment/app")
    assert created == {lock: 1}
    running = next(w for w in wfes if w["status"]["phase"] == "Running")
    assert running["status"]["pipelineRunRef"]["name"] == lock
    for skipped in (w for w in wfes if w["status"]["phase"] == "Skipped"):
        assert skipped["status"]["skipDetails"]["reason"] == "ResourceBusy"
    # the PipelineRun still records the target as it was written
    pipeline_run = cluster.pipeline_run(lock)
    assert pipeline_run is not None
    assert pipeline_run["metadata"]["annotations"]["kubernaut.ai/target-resource"] in spellings


def fail_before_any_step(
    cluster: Cluster, tekton: Tekton, name: str, started: datetime, completed: datetime
) -> dict[str, Any]:
    """``name`` runs, then Tekton cannot resolve its bundle: Failed, nothing ran."""
    cluster.create_wfe(name)
    cluster.wait_for_phase(name, "Running")
    tekton.fail(
        PIPELINE_RUN,
        reason="CouldntGetPipeline",
        message="Error retrieving pipeline for pipelinerun: could not find object in image",
        started=started,
        completed=completed,
    )
    status = cluster.wait_for_phase(name, "Failed")["status"]
    assert status["failureDetails"]["wasExecutionFailure"] is False
    return status


def test_a_bundle_that_keeps_failing_before_any_step_ran_doubles_the_cooldown(
    cluster: Cluster, tekton: Tekton, start: StartController
) -> None:
    # issue 9: a broken bundle was re-run at alert-storm rate (no cooldown at all)
    controller = start(cooldown_seconds=60, max_cooldown_seconds=3600)
    base = whole_second(datetime.now(UTC))
    controller.clock.set(base)
    fail_before_any_step(cluster, tekton, "broken-1", base, base + timedelta(seconds=10))

    # one failure: the plain cooldown (60 s)
    controller.clock.set(base + timedelta(seconds=40))
    cluster.create_wfe("storm-1")
    skipped = cluster.wait_for_phase("storm-1", "Skipped")["status"]["skipDetails"]
    assert skipped["reason"] == "RecentlyRemediated"
    assert skipped["recentRemediation"]["cooldownRemaining"] == "30s"

    # after it, the same broken bundle again: two consecutive failures, 2 x 60 s
    controller.clock.set(base + timedelta(seconds=71))
    fail_before_any_step(
        cluster, tekton, "broken-2", base + timedelta(seconds=71), base + timedelta(seconds=80)
    )
    controller.clock.set(base + timedelta(seconds=80 + 90))
    cluster.create_wfe("storm-2")
    skipped = cluster.wait_for_phase("storm-2", "Skipped")["status"]["skipDetails"]
    assert skipped["recentRemediation"]["name"] == "broken-2"
    assert skipped["recentRemediation"]["cooldownRemaining"] == "30s"
    assert "after 2 consecutive failures before any step ran" in skipped["message"]
