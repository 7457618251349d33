"""Malformed PipelineRun status written by a Tekton we do not control (missing conditions, unknown
reasons, a status outside True/False/Unknown, 1 MB messages): the WFE still ends with a verdict,
its status stays writable and bounded, and the controller keeps working."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from integration.controller.harness import workflow_execution
from integration.controller.tekton import progress, succeeded
from support.wait import wait_for

from wfe.controller.naming import pipeline_run_name
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.timestamps import format_time

from .known_bugs import KnownBugError
from .world import World

Object = dict[str, Any]
MIRRORED_MESSAGE_LIMIT = 4096
NOW = datetime.now(UTC).replace(microsecond=0)


def condition(status: str, reason: str, message: str) -> Object:
    return succeeded(status, reason, message, NOW)


# name -> (malformed status, phase it must end in once Tekton's final word is written)
MALFORMED: dict[str, tuple[Object, str]] = {
    "no-conditions": ({"startTime": format_time(NOW)}, "Completed"),
    "empty-conditions": ({"conditions": []}, "Completed"),
    "only-other-condition-types": (
        {"conditions": [{"type": "Ready", "status": "False", "reason": "Whatever"}]},
        "Completed",
    ),
    "unknown-reason": ({"conditions": [condition("False", "SomethingNew", "it broke")]}, "Failed"),
    "status-maybe": ({"conditions": [condition("Maybe", "Running", progress(0))]}, "Completed"),
    "megabyte-message": (
        {"conditions": [condition("False", "Failed", "boom " * 200_000)]},
        "Failed",
    ),
}
FINAL_VERDICT = {
    "conditions": [condition("True", "Succeeded", progress(1))],
    "completionTime": format_time(NOW + timedelta(seconds=5)),
}
KNOWN = {"status-maybe": 13, "megabyte-message": 12}


def write_run_status(world: World, name: str, change: Callable[[Object], None]) -> None:
    for _ in range(10):
        run = world.admin.get(PIPELINE_RUNS, name, world.execution_namespace)
        change(run.setdefault("status", {}))
        try:
            world.admin.update_status(PIPELINE_RUNS, run)
            return
        except Exception as err:
            if "409" not in str(err) and "Conflict" not in str(err):
                raise
    raise AssertionError(f"could not write {name}'s status")


@pytest.mark.parametrize(
    "case",
    [pytest.param(c) if c in KNOWN else c for c in MALFORMED],
)
def test_a_malformed_pipelinerun_status_never_wedges_the_workflow(
    fault_world: World, case: str
) -> None:
    fault_world.ledger.on_run_added.clear()  # this test writes every status itself
    controller, _ = fault_world.running_controller()
    target = f"{fault_world.namespace}/deployment/{case}"
    fault_world.create(workflow_execution(case, fault_world.namespace, target=target))
    run = pipeline_run_name(target)

    def wfe() -> Object:
        found: Object = fault_world.admin.get(WORKFLOW_EXECUTIONS, case, fault_world.namespace)
        return found

    wait_for(lambda: (wfe().get("status") or {}).get("phase") == "Running", 30, message="Running")
    malformed, final_phase = MALFORMED[case]
    write_run_status(fault_world, run, lambda s: s.update(malformed))
    if case == "status-maybe":  # mirrored as Unknown (SPEC §2), not copied into a 422 loop
        try:
            wait_for(
                lambda: (
                    ((wfe().get("status") or {}).get("pipelineRunStatus") or {}).get("status")
                    == "Unknown"
                ),
                15,
                message="pipelineRunStatus.status Unknown",
            )
        except AssertionError as err:
            raise KnownBugError(
                13, f"a status of 'Maybe' was not mapped to Unknown: {err}"
            ) from err
    if final_phase == "Completed":  # no verdict yet: Tekton's final word comes next
        write_run_status(fault_world, run, lambda s: s.update(FINAL_VERDICT))
    try:
        wait_for(
            lambda: (wfe().get("status") or {}).get("phase") == final_phase, 30, message=final_phase
        )
    except AssertionError as err:
        if case in KNOWN:
            raise KnownBugError(KNOWN[case], f"{case}: {err}") from err
        raise
    status = wfe()["status"]
    mirrored = status.get("pipelineRunStatus") or {}
    longest = max(len(str(mirrored.get("message", ""))), len(str(status.get("message", ""))))
    print(f"FAULT malformed status {case}: phase={status['phase']} longest_message={longest}")
    if longest > MIRRORED_MESSAGE_LIMIT:
        raise KnownBugError(12, f"{case}: a {longest}-byte message was mirrored uncut")
    assert controller.alive
