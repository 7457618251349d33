"""The failure classification table against what a real Tekton writes.

Every row makes the real Tekton fail a run in one way (a broken or missing workflow, a parameter
Tekton refuses, a timeout, an image that cannot be pulled, an out-of-memory step, a cancellation),
and checks the reason Tekton gave and the reason the controller derived from it. All rows run at
once (each on its own target) so the table costs one wait, not one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from support.cluster import LocalCluster
from support.namespaces import temporary_namespace
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import Client, Object

from .conftest import WORKFLOWS_DIR, Workflows
from .controller_process import ControllerProcess
from .watching import PipelineRunCreations
from .workflow import (
    EXECUTION_NAMESPACE,
    create,
    pipeline_run_for,
    pods_of,
    succeeded_condition,
    wait_terminal,
    workflow_execution,
)


@dataclass(frozen=True)
class Case:
    """A way to make Tekton fail a run, and what Tekton and the controller must say about it."""

    bundle: str  # a file in test/e2e/workflows, or "" for a bundle that does not exist
    tekton_reason: str  # the PipelineRun's Succeeded reason, as real Tekton writes it
    reason: str  # failureDetails.reason
    execution_failure: bool
    parameters: dict[str, str] = field(default_factory=dict)
    service_account: str | None = None
    failed_task: str | None = None
    message_has: str = ""


CASES: dict[str, Case] = {
    "missing-bundle": Case("", "CouldntGetPipeline", "ConfigurationError", False),
    "missing-parameter": Case(
        "needs-param.yaml", "ParameterMissing", "ConfigurationError", False, message_has="REPLICAS"
    ),
    "parameter-type": Case(
        "array-param.yaml",
        "ParameterTypeMismatch",
        "ConfigurationError",
        False,
        parameters={"NODES": "node-1"},
    ),
    "invalid-pipeline": Case(
        "invalid-pipeline.yaml",
        "PipelineValidationFailed",
        "ConfigurationError",
        False,
        message_has="Remediate_Now",
    ),
    "invalid-graph": Case(
        "invalid-graph.yaml", "PipelineInvalidGraph", "ConfigurationError", False
    ),
    "undeclared-parameter": Case(
        "undeclared-param.yaml",
        "Failed",
        "ConfigurationError",
        False,
        failed_task="remediate",
        message_has="non-existent variable",
    ),
    "missing-task": Case("missing-task.yaml", "CouldntGetTask", "ConfigurationError", False),
    "task-timeout": Case(
        "task-timeout.yaml", "Failed", "DeadlineExceeded", True, failed_task="remediate"
    ),
    "image-pull": Case(
        "image-pull.yaml", "Failed", "ImagePullBackOff", False, failed_task="remediate"
    ),
    "container-config": Case(
        "image-pull.yaml",
        "Failed",
        "ConfigurationError",
        False,
        parameters={"WAITING_REASON": "CreateContainerConfigError"},
        failed_task="remediate",
    ),
    "oom": Case(
        "remediation.yaml",
        "Failed",
        "OOMKilled",
        True,
        parameters={"REMEDIATE_EXIT_CODE": "137", "REMEDIATE_REASON": "OOMKilled"},
        failed_task="remediate",
    ),
    "exit-code": Case(
        "remediation.yaml",
        "Failed",
        "TaskFailed",
        True,
        parameters={"CHECK_EXIT_CODE": "2"},
        failed_task="check-target",
    ),
    "cancelled": Case(
        "remediation.yaml",
        "Cancelled",
        "Cancelled",
        True,
        parameters={"REMEDIATE_HANG": "true"},
        failed_task="remediate",
    ),
}


@dataclass
class Outcome:
    status: dict[str, object]
    pipeline_run: Object


@pytest.fixture(scope="module")
def outcomes(
    admin: Client,
    cluster: LocalCluster,
    controller: ControllerProcess,
    workflows: Workflows,
) -> Iterator[dict[str, Outcome]]:
    bundles = {
        path.name: cluster.push_bundle(f"e2e/{path.stem}:v1", [path])
        for path in sorted(WORKFLOWS_DIR.glob("*.yaml"))
    }
    with (
        temporary_namespace(admin, prefix="e2e-reasons") as namespace,
        PipelineRunCreations(admin, EXECUTION_NAMESPACE) as runs,
    ):
        wfes = {
            name: create(
                admin,
                workflow_execution(
                    namespace,
                    name,
                    bundles[case.bundle] if case.bundle else workflows.missing,
                    parameters=case.parameters,
                ),
            )
            for name, case in CASES.items()
        }
        _cancel_when_running(admin, wfes["cancelled"])
        results = {}
        for name, wfe in wfes.items():
            status = wait_terminal(admin, namespace, name, timeout=120)
            # as the watch last saw it: the lock (the PipelineRun) may be released by now
            pipeline_run = runs.latest(pipeline_run_name(wfe["spec"]["targetResource"]))
            assert pipeline_run is not None, f"{name}: no PipelineRun was seen"
            results[name] = Outcome(status, pipeline_run)
        yield results


def _cancel_when_running(admin: Client, wfe: Object) -> None:
    """As a human would: set spec.status=Cancelled on a PipelineRun whose step is running."""
    name = wait_for(
        lambda: (found := pipeline_run_for(admin, wfe)) and found["metadata"]["name"],
        timeout=60,
        message="the PipelineRun to cancel",
    )

    def remediate_step_runs() -> bool:
        return any(
            pod["status"].get("phase") == "Running"
            and pod["metadata"]["labels"].get("tekton.dev/pipelineTask") == "remediate"
            for pod in pods_of(admin, name)
        )

    wait_for(remediate_step_runs, timeout=60, message="the step to cancel to run")
    admin.patch(PIPELINE_RUNS, name, {"spec": {"status": "Cancelled"}}, EXECUTION_NAMESPACE)


@pytest.mark.parametrize("name", list(CASES))
def test_real_tekton_failure_is_classified(name: str, outcomes: dict[str, Outcome]) -> None:
    case, outcome = CASES[name], outcomes[name]
    status = outcome.status
    verdict = succeeded_condition(outcome.pipeline_run)

    assert (verdict["status"], verdict["reason"]) == ("False", case.tekton_reason), verdict
    assert status["phase"] == "Failed", status.get("message")
    details = status["failureDetails"]
    assert isinstance(details, dict)
    assert details["reason"] == case.reason, details
    assert details["wasExecutionFailure"] is case.execution_failure, details
    assert details["requiresManualReview"] is case.execution_failure
    assert details.get("failedTaskName") == case.failed_task, details
    assert case.message_has in details["message"], details["message"]
    assert status["pipelineRunStatus"]["reason"] == case.tekton_reason  # type: ignore[index]
