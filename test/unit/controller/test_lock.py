"""Lock and cooldown decisions (SPEC §3 layers 2 and 3), over an in-memory index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.workflowexecution.v1alpha1.constants import SkipReason
from api.workflowexecution.v1alpha1.duration import format_go_duration
from wfe.controller.lock import LockChecker, LockFacts, facts_of_objects, lock_seconds_left
from wfe.controller.targets import KindNames

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
COOLDOWN = 300.0
TARGET = "payment/deployment/payment-api"


def wfe(
    name: str,
    phase: str | None = None,
    *,
    workflow: str = "restart",
    target: str = TARGET,
    completed_ago: float | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
        status["startTime"] = "2026-11-27T11:00:00Z"
    if completed_ago is not None:
        moment = NOW - timedelta(seconds=completed_ago)
        status["completionTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        status["outcome"] = "Success" if phase == "Completed" else "Failure"
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"targetResource": target, "workflowRef": {"workflowId": workflow}},
        "status": status,
    }


class Index:
    """The cache's target index and lock-facts projection, over in-memory objects."""

    def __init__(self, *objects: dict[str, Any]):
        self.objects = objects

    def __call__(self, key: str) -> list[LockFacts]:
        return facts_of_objects(o for o in self.objects if self.key_of(o) == key)

    def key_of(self, obj: dict[str, Any]) -> str:
        return str(obj["spec"]["targetResource"])


def check(candidate: dict[str, Any], *others: dict[str, Any]):  # type: ignore[no-untyped-def]
    return LockChecker(Index(candidate, *others), COOLDOWN, lambda: NOW).check(candidate)


def test_free_target_is_not_locked() -> None:
    assert check(wfe("new")) is None


def test_running_execution_on_the_same_target_makes_it_busy() -> None:
    conflict = check(wfe("new"), wfe("old", "Running", workflow="other-workflow"))
    assert conflict is not None and conflict.reason == SkipReason.RESOURCE_BUSY
    assert conflict.details["conflictingWorkflow"] == {
        "name": "old",
        "namespace": "ns",
        "workflowId": "other-workflow",
        "startedAt": "2026-11-27T11:00:00Z",
        "targetResource": TARGET,
    }


def test_pending_twins_do_not_skip_each_other() -> None:
    assert check(wfe("a"), wfe("b", "Pending"), wfe("c")) is None


def test_running_on_another_target_does_not_matter() -> None:
    assert check(wfe("new"), wfe("old", "Running", target="node/worker-1")) is None


@pytest.mark.parametrize("phase", ["Completed", "Failed"])
def test_same_workflow_within_cooldown_is_recently_remediated(phase: str) -> None:
    conflict = check(wfe("new"), wfe("old", phase, completed_ago=60))
    assert conflict is not None and conflict.reason == SkipReason.RECENTLY_REMEDIATED
    recent = conflict.details["recentRemediation"]
    assert recent["cooldownRemaining"] == "4m0s"
    assert recent["name"] == "old" and recent["workflowId"] == "restart"
    assert "cooldown ends in 4m0s" in conflict.message


def test_exactly_at_the_cooldown_boundary_it_is_allowed() -> None:
    assert check(wfe("new"), wfe("old", "Completed", completed_ago=COOLDOWN)) is None
    assert check(wfe("new"), wfe("old", "Completed", completed_ago=COOLDOWN - 1)) is not None


def test_a_different_workflow_on_the_same_target_is_allowed_during_cooldown() -> None:
    assert check(wfe("new"), wfe("old", "Completed", workflow="scale-up", completed_ago=10)) is None


def test_skipped_executions_never_start_a_cooldown() -> None:
    assert check(wfe("new"), wfe("old", "Skipped")) is None


def test_the_longest_remaining_cooldown_is_reported() -> None:
    conflict = check(
        wfe("new"),
        wfe("older", "Completed", completed_ago=200),
        wfe("newer", "Failed", completed_ago=20),
    )
    assert conflict is not None
    assert conflict.details["recentRemediation"]["name"] == "newer"


def test_a_failure_before_anything_ran_starts_no_cooldown() -> None:
    never_ran = wfe("invalid", "Failed", completed_ago=10)
    del never_ran["status"]["startTime"]  # validation, Forbidden or quota: no PipelineRun ran
    assert check(wfe("corrected"), never_ran) is None


def pre_execution_failure(name: str, completed_ago: float) -> dict[str, Any]:
    """Tekton failed the run before any step ran (e.g. the bundle could not be resolved)."""
    failed = wfe(name, "Failed", completed_ago=completed_ago)
    failed["status"]["failureDetails"] = {
        "reason": "ConfigurationError",
        "wasExecutionFailure": False,
    }
    return failed


def test_a_run_tekton_failed_before_any_step_starts_the_cooldown_too() -> None:
    # a broken bundle must not be re-run at alert-storm rate (SPEC §3 step 3)
    conflict = check(wfe("again"), pre_execution_failure("bad-bundle", completed_ago=10))
    assert conflict is not None and conflict.reason == SkipReason.RECENTLY_REMEDIATED
    assert conflict.details["recentRemediation"]["cooldownRemaining"] == "4m50s"


def check_capped(candidate: dict[str, Any], *others: dict[str, Any], cap: float = 3600.0):  # type: ignore[no-untyped-def]
    checker = LockChecker(
        Index(candidate, *others), COOLDOWN, lambda: NOW, max_cooldown_seconds=cap
    )
    return checker.check(candidate)


@pytest.mark.parametrize(
    ("failures", "cooldown"),
    [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600), (9, 3600)],
)
def test_consecutive_failures_before_any_step_double_the_cooldown_up_to_the_cap(
    failures: int, cooldown: float
) -> None:
    # one failure every 10 s; the latest ended 10 s ago
    history = [
        pre_execution_failure(f"f{i}", completed_ago=10 * (failures - i)) for i in range(failures)
    ]
    conflict = check_capped(wfe("again"), *history)
    assert conflict is not None
    remaining = cooldown - 10
    assert conflict.details["recentRemediation"]["cooldownRemaining"] == format_go_duration(
        remaining
    )
    assert conflict.details["recentRemediation"]["name"] == f"f{failures - 1}"
    if failures > 1:
        assert f"after {failures} consecutive failures before any step ran" in conflict.message


def test_the_doubled_cooldown_is_allowed_exactly_at_its_end() -> None:
    # two consecutive failures: a cooldown of 600 s from the latest
    history = [pre_execution_failure("f0", 610), pre_execution_failure("f1", 599)]
    assert check_capped(wfe("again"), *history) is not None
    history = [pre_execution_failure("f0", 610), pre_execution_failure("f1", 600)]
    assert check_capped(wfe("again"), *history) is None


@pytest.mark.parametrize("reset_by", ["Completed", "execution-failure"])
def test_a_success_or_an_execution_failure_resets_the_doubling(reset_by: str) -> None:
    earlier = [pre_execution_failure(f"f{i}", completed_ago=1000 - i) for i in range(3)]
    reset = wfe("reset", "Completed" if reset_by == "Completed" else "Failed", completed_ago=900)
    if reset_by == "execution-failure":
        reset["status"]["failureDetails"] = {"reason": "TaskFailed", "wasExecutionFailure": True}
    # one pre-execution failure after the reset: 1x cooldown (300 s), it ended 100 s ago
    latest = pre_execution_failure("latest", completed_ago=100)
    conflict = check_capped(wfe("again"), *earlier, reset, latest)
    assert conflict is not None
    assert conflict.details["recentRemediation"]["cooldownRemaining"] == "3m20s"


def test_one_target_written_four_ways_is_one_lock_key() -> None:
    kinds = KindNames(
        {"deployment": "deployment", "deployments": "deployment", "deploy": "deployment"}
    )
    holder = wfe("holder", "Running", target="fz/deployment/app")

    class KeyedIndex(Index):
        def key_of(self, obj: dict[str, Any]) -> str:
            return kinds.key(obj["spec"]["targetResource"])

    for written in ("fz/deployments/app", "fz/deploy/app", "fz/deployment/app"):
        candidate = wfe("new", target=written)
        checker = LockChecker(
            KeyedIndex(candidate, holder), COOLDOWN, lambda: NOW, target_key=kinds.key
        )
        conflict = checker.check(candidate)
        assert conflict is not None and conflict.reason == SkipReason.RESOURCE_BUSY, written


def _holding(name: str, phase: str, completed_ago: float, **status: Any) -> dict[str, Any]:
    obj = wfe(name, phase, completed_ago=completed_ago)
    obj["status"]["pipelineRunRef"] = {"name": "wfe-cf0cc089293b1165", "namespace": "x"}
    obj["status"].update(status)
    return obj


@pytest.mark.parametrize("phase", ["Completed", "Failed"])
def test_a_terminal_holder_keeps_the_lock_for_the_rest_of_its_cooldown(phase: str) -> None:
    assert lock_seconds_left(_holding("done", phase, 120), COOLDOWN, NOW) == COOLDOWN - 120


def test_a_holder_past_its_cooldown_is_due_for_release() -> None:
    left = lock_seconds_left(_holding("done", "Completed", COOLDOWN + 5), COOLDOWN, NOW)
    assert left is not None and left <= 0


@pytest.mark.parametrize(
    "obj",
    [
        wfe("running", "Running"),
        wfe("skipped", "Skipped", completed_ago=10),
        wfe("refused-before-any-pipelinerun", "Failed", completed_ago=10),
        _holding(
            "released",
            "Completed",
            10,
            conditions=[
                {"type": "ResourceLockAcquired", "status": "False", "reason": "LockReleased"}
            ],
        ),
    ],
    ids=["running", "skipped", "no-pipelinerun", "released"],
)
def test_no_terminal_lock_is_held(obj: dict[str, Any]) -> None:
    assert lock_seconds_left(obj, COOLDOWN, NOW) is None


def test_an_execution_never_conflicts_with_its_own_cached_version() -> None:
    # the cache may hold this very execution Running or terminal (an older read of it)
    candidate = wfe("self")
    assert check(candidate, wfe("self", "Running")) is None
    assert check(candidate, wfe("self", "Completed", completed_ago=10)) is None


def test_the_cache_keeps_lock_facts_only_for_executions_that_hold_or_cool_down() -> None:
    pending = wfe("pending")
    skipped = wfe("skipped")
    skipped["status"] = {"phase": "Skipped"}
    failed_early = wfe("failed-early")
    failed_early["status"] = {"phase": "Failed"}  # before its PipelineRun: no startTime
    kept = [wfe("running", "Running"), pre_execution_failure("bad", completed_ago=5)]
    facts = facts_of_objects([pending, skipped, failed_early, *kept])
    assert [(f.name, f.phase, f.failed_before_any_step) for f in facts] == [
        ("running", "Running", False),
        ("bad", "Failed", True),
    ]
