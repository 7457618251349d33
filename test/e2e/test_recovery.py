"""Crashes and outages on the real stack: the controller killed with -9 mid-flight, and Tekton's
controller stopped for a while. Every workflow ends as Tekton decided, and nothing runs twice."""

from __future__ import annotations

from collections import Counter

from support.cluster import LocalCluster
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import Client

from .conftest import Workflows
from .controller_process import ControllerProcess
from .watching import PipelineRunCreations
from .workflow import (
    EXECUTION_NAMESPACE,
    create,
    status_of,
    succeeded_condition,
    unique_target,
    wait_terminal,
    workflow_execution,
)

IN_FLIGHT = 8


def test_a_controller_killed_with_sigkill_mid_flight_finishes_every_workflow_once(
    admin: Client,
    controller: ControllerProcess,
    workflows: Workflows,
    namespace: str,
) -> None:
    # even-numbered workflows fail in 'verify', the others succeed: each must end as Tekton said
    expected = {f"crash-{i}": "Failed" if i % 2 == 0 else "Completed" for i in range(IN_FLIGHT)}
    with PipelineRunCreations(admin, EXECUTION_NAMESPACE) as creations:
        targets = {}
        for name, outcome in expected.items():
            parameters = {"VERIFY_EXIT_CODE": "3"} if outcome == "Failed" else {}
            wfe = workflow_execution(namespace, name, workflows.remediation, parameters=parameters)
            targets[name] = wfe["spec"]["targetResource"]
            create(admin, wfe)
        # kill once some runs are in flight and others are not yet created or decided
        wait_for(
            lambda: (
                sum(status_of(admin, namespace, n).get("phase") == "Running" for n in expected) >= 2
            ),
            timeout=60,
            message="runs in flight",
        )
        controller.kill()
        controller.start()

        outcomes = {name: wait_terminal(admin, namespace, name, timeout=120) for name in expected}

        assert {name: s["phase"] for name, s in outcomes.items()} == expected
        assert Counter(creations.names()) == Counter(
            pipeline_run_name(t) for t in targets.values()
        ), "every workflow ran exactly once: no PipelineRun was created twice"
    for name, status in outcomes.items():
        if expected[name] == "Failed":
            assert status["failureDetails"]["failedTaskName"] == "verify"
            assert status["failureDetails"]["exitCode"] == 3


def test_workflows_catch_up_after_tekton_s_controller_was_down(
    admin: Client,
    cluster: LocalCluster,
    controller: ControllerProcess,
    workflows: Workflows,
    namespace: str,
) -> None:
    cluster.stop_component("tekton-controller")
    try:
        names = [f"tekton-down-{i}" for i in range(3)]
        wfes = [
            create(
                admin,
                workflow_execution(
                    namespace, n, workflows.remediation, target=unique_target(namespace)
                ),
            )
            for n in names
        ]
        # the controller does its part: PipelineRuns exist, nobody runs them
        for wfe in wfes:
            wait_for(
                lambda wfe=wfe: (
                    status_of(admin, namespace, wfe["metadata"]["name"]).get("phase") == "Running"
                ),
                timeout=30,
                message="the controller to create the PipelineRun",
            )
            run = admin.get(
                PIPELINE_RUNS,
                pipeline_run_name(wfe["spec"]["targetResource"]),
                EXECUTION_NAMESPACE,
            )
            assert not (run.get("status") or {}).get("conditions"), "Tekton is down"
    finally:
        cluster.start_component("tekton-controller")

    for name in names:
        status = wait_terminal(admin, namespace, name, timeout=120)
        assert status["phase"] == "Completed", status.get("message")
    for wfe in wfes:
        run = admin.get(
            PIPELINE_RUNS, pipeline_run_name(wfe["spec"]["targetResource"]), EXECUTION_NAMESPACE
        )
        assert succeeded_condition(run)["status"] == "True"
