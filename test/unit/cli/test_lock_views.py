"""The locks and cooldowns views: the controller's own lock decision over listed objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wfe.cli.locks import ListedIndex, cooldown_rows, lock_rows
from wfe.cli.tables import get_table, locks_table
from wfe.controller.lock import LockChecker
from wfe.controller.targets import KindNames

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
COOLDOWN = 300.0
BUSY, COOLING, FREE = "a/deployment/busy", "b/deployment/cooling", "c/deployment/free"


def _time(ago: float) -> str:
    return (NOW - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def wfe(
    name: str,
    target: str,
    phase: str,
    *,
    workflow: str = "restart",
    completed_ago: float | None = None,
    **status: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"phase": phase, "startTime": _time(600), **status}
    if phase != "Skipped":
        body["pipelineRunRef"] = {"name": "wfe-0123456789abcdef", "namespace": "exec"}
    if completed_ago is not None:
        body["completionTime"] = _time(completed_ago)
        body["outcome"] = "Success" if phase == "Completed" else "Failure"
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"targetResource": target, "workflowRef": {"workflowId": workflow}},
        "status": body,
    }


STATE = [
    wfe("old", BUSY, "Completed", completed_ago=30),
    wfe("running", BUSY, "Running"),
    wfe("skipped", BUSY, "Skipped", skipDetails={"reason": "ResourceBusy"}),
    wfe("done", COOLING, "Failed", completed_ago=100, workflow="scale"),
    wfe("long-ago", FREE, "Completed", completed_ago=COOLDOWN + 1),
]


def test_a_running_holder_is_the_one_the_controller_names_in_a_resource_busy_skip() -> None:
    newcomer = {
        "metadata": {"name": "new", "uid": "uid-new"},
        "spec": {"targetResource": BUSY, "workflowRef": {"workflowId": "other"}},
    }
    decision = LockChecker(ListedIndex(STATE).lock_facts, COOLDOWN, lambda: NOW).check(newcomer)
    assert decision is not None
    [row] = lock_rows(STATE, COOLDOWN, NOW, target=BUSY)
    assert (
        row.holder["metadata"]["name"]
        == decision.details["conflictingWorkflow"]["name"]
        == "running"
    )
    assert row.seconds_left is None and row.as_dict()["releasedAt"] is None


def test_a_finished_holder_keeps_the_lock_until_its_cooldown_ends() -> None:
    [row] = lock_rows(STATE, COOLDOWN, NOW, target=COOLING)
    data = row.as_dict()
    assert (data["holder"]["name"], data["phase"]) == ("done", "Failed")
    assert data["cooldownRemainingSeconds"] == COOLDOWN - 100
    assert data["releasedAt"] == "2026-11-27T12:03:20Z"


def test_only_held_locks_are_listed_one_per_target() -> None:
    rows = lock_rows(STATE, COOLDOWN, NOW)
    # the free target's last run is past its cooldown: the controller is releasing it right now
    assert [(r.target, r.holder["metadata"]["name"]) for r in rows] == [
        (BUSY, "running"),
        (COOLING, "done"),
        (FREE, "long-ago"),
    ]
    assert rows[2].seconds_left == 0


def test_cooldowns_are_per_target_and_workflow_with_the_time_left() -> None:
    rows = cooldown_rows(STATE, COOLDOWN, NOW)
    assert [
        (r.target, r.workflow_id, r.last["metadata"]["name"], r.seconds_left) for r in rows
    ] == [
        (BUSY, "restart", "old", COOLDOWN - 30),
        (COOLING, "scale", "done", COOLDOWN - 100),
    ]
    assert rows[1].as_dict()["endsAt"] == "2026-11-27T12:03:20Z"


def test_a_target_filter_keeps_only_that_target() -> None:
    assert [r.target for r in cooldown_rows(STATE, COOLDOWN, NOW, target=COOLING)] == [COOLING]
    assert lock_rows(STATE, COOLDOWN, NOW, target="nowhere/deployment/x") == []


def test_targets_group_under_the_controllers_canonical_lock_key() -> None:
    kinds = KindNames(
        {"deployment": "deployment", "deployments": "deployment", "deploy": "deployment"}
    )
    state = [wfe("running", "a/deployments/busy", "Running")]
    [row] = lock_rows(state, COOLDOWN, NOW, target="a/deploy/busy", kinds=kinds)
    assert (row.target, row.holder["metadata"]["name"]) == ("a/deployment/busy", "running")


def test_cooldowns_show_the_doubled_cooldown_after_failures_before_any_step() -> None:
    def broken(name: str, completed_ago: float) -> dict[str, Any]:
        failed = wfe(name, COOLING, "Failed", completed_ago=completed_ago, workflow="scale")
        failed["status"]["failureDetails"] = {
            "reason": "ConfigurationError",
            "wasExecutionFailure": False,
        }
        return failed

    state = [broken("first", 500), broken("second", 100)]
    [row] = cooldown_rows(state, COOLDOWN, NOW, max_cooldown_seconds=3600)
    assert (row.last["metadata"]["name"], row.seconds_left) == ("second", 2 * COOLDOWN - 100)


def test_tables_name_the_execution_by_its_kind() -> None:
    job = wfe("job-run", FREE, "Running")
    job["spec"]["workflowRef"]["executionEngine"] = "job"
    tekton = wfe("tekton-run", BUSY, "Running")
    pending = wfe("waiting", COOLING, "Pending")
    del pending["status"]["pipelineRunRef"]

    rows = get_table([job, tekton, pending], NOW, all_namespaces=False, wide=True).rows
    column = get_table([], NOW, all_namespaces=False, wide=True).headers.index("EXECUTION")
    assert [row[column] for row in rows] == [
        "job/wfe-0123456789abcdef",
        "pipelinerun/wfe-0123456789abcdef",
        "<none>",
    ]
    locks = locks_table(lock_rows([job], COOLDOWN, NOW), NOW, wide=False)
    assert locks.rows[0][locks.headers.index("EXECUTION")] == "job/exec/wfe-0123456789abcdef"
