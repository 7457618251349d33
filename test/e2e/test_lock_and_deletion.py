"""The resource lock and cooldown under a storm, and deletion of a running workflow, with the real
Tekton and garbage collector doing their part."""

from __future__ import annotations

from collections import Counter

from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client

from .conftest import COOLDOWN_SECONDS, Workflows
from .controller_process import ControllerProcess, wait_for_metric
from .watching import PipelineRunCreations
from .workflow import (
    EXECUTION_NAMESPACE,
    condition,
    create,
    pipeline_run_for,
    pods_of,
    task_runs_of,
    unique_target,
    wait_for_events,
    wait_for_phase,
    wait_terminal,
    workflow_execution,
)

STORM_TARGETS = 3
STORM_SIZE = 30


def test_a_storm_of_30_workflows_on_3_targets_runs_exactly_3_and_releases_the_locks(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    busy_before = controller.metric("workflowexecution_skip_total", reason="ResourceBusy")
    recent_before = controller.metric("workflowexecution_skip_total", reason="RecentlyRemediated")
    targets = [unique_target(namespace) for _ in range(STORM_TARGETS)]
    names = [f"storm-{i:02d}" for i in range(STORM_SIZE)]
    with PipelineRunCreations(admin, EXECUTION_NAMESPACE) as creations:
        for i, name in enumerate(names):
            create(
                admin,
                workflow_execution(
                    namespace, name, workflows.remediation, target=targets[i % STORM_TARGETS]
                ),
            )
        statuses = {name: wait_terminal(admin, namespace, name, timeout=120) for name in names}

        phases = Counter(status["phase"] for status in statuses.values())
        assert phases == {"Completed": STORM_TARGETS, "Skipped": STORM_SIZE - STORM_TARGETS}
        assert sorted(creations.names()) == sorted(pipeline_run_name(t) for t in targets), (
            "exactly one PipelineRun per target, each created once"
        )
    for name, status in statuses.items():
        if status["phase"] != "Skipped":
            continue
        skip = status["skipDetails"]
        assert skip["reason"] in {"ResourceBusy", "RecentlyRemediated"}, skip
        other = skip.get("conflictingWorkflow") or skip.get("recentRemediation")
        assert other is not None and other["name"] in names and other["name"] != name
        assert condition(status, "ResourceLockAcquired") == ("False", skip["reason"])
    skipped = Counter(s["skipDetails"]["reason"] for s in statuses.values() if "skipDetails" in s)
    wait_for_metric(
        controller,
        "workflowexecution_skip_total",
        busy_before + skipped["ResourceBusy"],
        reason="ResourceBusy",
    )
    assert (
        controller.metric("workflowexecution_skip_total", reason="RecentlyRemediated")
        == recent_before + skipped["RecentlyRemediated"]
    )

    # after the cooldown the controller deletes each lock PipelineRun (LockReleased)
    winners = [name for name, status in statuses.items() if status["phase"] == "Completed"]
    for target in targets:
        wait_for(
            lambda target=target: (
                admin.get_or_none(PIPELINE_RUNS, pipeline_run_name(target), EXECUTION_NAMESPACE)
                is None
            ),
            timeout=COOLDOWN_SECONDS + 30,
            message=f"the lock on {target} to be released after the cooldown",
        )
    for name in winners:
        wait_for_events(admin, namespace, name, {"LockReleased": "Normal"})
        released = wait_for_phase(admin, namespace, name, {"Completed"})
        assert condition(released, "ResourceLockAcquired") == ("False", "LockReleased")

    # the target is free again: the same workflow runs once more
    create(
        admin,
        workflow_execution(namespace, "after-cooldown", workflows.remediation, target=targets[0]),
    )
    assert wait_terminal(admin, namespace, "after-cooldown")["phase"] == "Completed"


def test_deleting_a_running_workflow_deletes_its_pipeline_run_and_tekton_s_children(
    admin: Client, controller: ControllerProcess, workflows: Workflows, namespace: str
) -> None:
    wfe = create(
        admin,
        workflow_execution(
            namespace, "deleted", workflows.remediation, parameters={"REMEDIATE_HANG": "true"}
        ),
    )
    wait_for_phase(admin, namespace, "deleted", {"Running"})
    run = pipeline_run_name(wfe["spec"]["targetResource"])
    # the hanging 'remediate' pod is running: deletion must stop a live execution
    wait_for(
        lambda: any(
            p["metadata"]["labels"].get("tekton.dev/pipelineTask") == "remediate"
            and p["status"].get("phase") == "Running"
            for p in pods_of(admin, run)
        ),
        timeout=60,
        message="the remediate pod to run",
    )

    admin.delete(WORKFLOW_EXECUTIONS, "deleted", namespace)

    wait_for(
        lambda: admin.get_or_none(WORKFLOW_EXECUTIONS, "deleted", namespace) is None,
        timeout=30,
        message="the finalizer to be removed",
    )
    assert pipeline_run_for(admin, wfe) is None, "the PipelineRun went before the finalizer"
    wait_for(
        lambda: not task_runs_of(admin, run) and not pods_of(admin, run),
        timeout=60,
        message="the garbage collector to delete Tekton's TaskRuns and pods",
    )
    wait_for_events(admin, namespace, "deleted", {"WorkflowExecutionDeleted": "Normal"})
