"""`kubectl wfe` against the real API server, next to a running controller: the plugin's lock and
cooldown views name exactly what the controller then decides for a newcomer on the same target."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.workflowexecution.v1alpha1.duration import parse_go_duration
from wfe.controller.naming import pipeline_run_name
from wfe.controller.timestamps import format_time, parse_time
from wfe.runtime.envtest import ControlPlane

from .harness import Cluster, StartController, whole_second
from .tekton import TaskRunSpec, Tekton, terminated_step

COOLDOWN_SECONDS = 600
EXIT_ERROR = 1


def kubectl_wfe(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs the plugin as kubectl would (its own process, stdout not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "wfe.cli", "--kubeconfig", str(plane.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def items(plane: ControlPlane, *args: str) -> list[dict[str, Any]]:
    result = kubectl_wfe(plane, *args, "-o", "json", "--cooldown-period", f"{COOLDOWN_SECONDS}s")
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return found


def rows(table: str) -> list[dict[str, str]]:
    """A kubectl table read by its header's column positions (cells may be empty)."""
    header, *lines = table.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [
        {n: line[a:b].strip() for n, (a, b) in zip(names, bounds, strict=True)} for line in lines
    ]


@pytest.fixture
def target(cluster: Cluster) -> str:
    """A target no other test uses: the lock is cluster-wide."""
    return f"{cluster.namespace}/deployment/payment-api"


def test_locks_and_cooldowns_agree_with_the_controllers_skips(
    control_plane: ControlPlane,
    cluster: Cluster,
    tekton: Tekton,
    start: StartController,
    target: str,
) -> None:
    start(cooldown_seconds=COOLDOWN_SECONDS)
    cluster.create_wfe("holder", target=target)
    running = cluster.wait_for_phase("holder", "Running")

    [lock] = items(control_plane, "locks", "--target", target)
    assert lock["holder"] == {
        "namespace": cluster.namespace,
        "name": "holder",
        "uid": running["metadata"]["uid"],
    }
    assert (lock["phase"], lock["workflowId"]) == ("Running", "restart-deployment")
    assert lock["pipelineRun"] == {
        "namespace": cluster.execution_namespace,
        "name": pipeline_run_name(target),
    }
    assert lock["cooldownRemainingSeconds"] is None and lock["releasedAt"] is None
    # ...and the controller, asked by a newcomer on the same target, names the same holder
    cluster.create_wfe("busy", target=target, workflow_id="scale-deployment")
    busy = cluster.wait_for_phase("busy", "Skipped")["status"]["skipDetails"]
    assert busy["reason"] == "ResourceBusy"
    assert busy["conflictingWorkflow"]["name"] == lock["holder"]["name"]

    finished = whole_second(datetime.now(UTC))
    tekton.succeed(pipeline_run_name(target), started=finished, completed=finished)
    cluster.wait_for_phase("holder", "Completed")

    [lock] = items(control_plane, "locks", "--target", target)
    assert (lock["holder"]["name"], lock["phase"]) == ("holder", "Completed")
    assert lock["releasedAt"] == format_time(finished + timedelta(seconds=COOLDOWN_SECONDS))
    assert COOLDOWN_SECONDS - 30 < lock["cooldownRemainingSeconds"] <= COOLDOWN_SECONDS
    [cooling] = items(control_plane, "cooldowns", "--target", target)
    assert (cooling["workflowId"], cooling["lastExecution"]["name"]) == (
        "restart-deployment",
        "holder",
    )
    assert cooling["outcome"] == "Success"

    cluster.create_wfe("repeat", target=target)
    repeat = cluster.wait_for_phase("repeat", "Skipped")["status"]["skipDetails"]
    assert repeat["reason"] == "RecentlyRemediated"
    assert repeat["recentRemediation"]["name"] == cooling["lastExecution"]["name"]
    controller_left = parse_go_duration(repeat["recentRemediation"]["cooldownRemaining"])
    assert abs(controller_left - cooling["cooldownRemainingSeconds"]) <= 30
    ends = parse_time(cooling["endsAt"])
    assert ends is not None and abs((ends - finished).total_seconds() - COOLDOWN_SECONDS) <= 2
    # a workflow that never ran on the target is not cooling down
    assert [c["workflowId"] for c in items(control_plane, "cooldowns", "--target", target)] == [
        "restart-deployment"
    ]


def test_tables_get_and_explain_follow_kubectl_conventions(
    control_plane: ControlPlane,
    cluster: Cluster,
    start: StartController,
    target: str,
) -> None:
    start(cooldown_seconds=COOLDOWN_SECONDS)
    cluster.create_wfe("holder", target=target)
    cluster.wait_for_phase("holder", "Running")
    cluster.create_wfe("busy", target=target)
    cluster.wait_for_phase("busy", "Skipped")
    cluster.wait_for_event("busy", "WorkflowSkipped")

    locks = kubectl_wfe(control_plane, "locks", "--target", target)
    assert locks.returncode == 0, locks.stderr
    header, row = locks.stdout.splitlines()
    assert header.split() == [
        "TARGET", "HOLDER", "WORKFLOWID", "PHASE", "EXECUTION", "STARTED", "COOLDOWN-LEFT", "RELEASED-AT"
    ]  # fmt: skip
    assert row.split()[:4] == [
        target,
        f"{cluster.namespace}/holder",
        "restart-deployment",
        "Running",
    ]
    assert "\033[" not in locks.stdout  # not a terminal: no colour

    # flags before the subcommand, as `kubectl wfe -n NS get` passes them
    table = kubectl_wfe(control_plane, "-n", cluster.namespace, "get")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "PHASE",
        "TARGET",
        "WORKFLOWID",
        "DURATION",
        "REASON",
        "AGE",
    ]
    assert [(r["NAME"], r["PHASE"], r["REASON"], r["DURATION"]) for r in rows(table.stdout)] == [
        ("busy", "Skipped", "ResourceBusy", ""),
        ("holder", "Running", "", ""),
    ]
    everywhere = kubectl_wfe(control_plane, "get", "-A", "-o", "wide").stdout.splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"] and "EXECUTION" in everywhere[0]
    one = kubectl_wfe(control_plane, "get", "holder", "-n", cluster.namespace, "-o", "yaml")
    assert "kind: WorkflowExecution" in one.stdout and "name: holder" in one.stdout

    explained = kubectl_wfe(control_plane, "explain", "busy", "-n", cluster.namespace)
    assert explained.returncode == 0, explained.stderr
    words = " ".join(explained.stdout.split())
    for expected in (
        "Phase: Skipped",
        "Reason: ResourceBusy",
        f"Held by: {cluster.namespace}/holder (workflow restart-deployment",
        "PipelineRun: <none> (none was created)",
        "ResourceLockAcquired False ResourceBusy",
        "Normal WorkflowSkipped",
    ):
        assert expected in words, f"{expected!r} missing from:\n{explained.stdout}"

    empty = kubectl_wfe(control_plane, "cooldowns", "--target", target)
    assert (empty.returncode, empty.stdout, empty.stderr.strip()) == (
        0,
        "",
        "No cooldowns running.",
    )
    missing = kubectl_wfe(control_plane, "explain", "nope", "-n", cluster.namespace)
    assert missing.returncode == EXIT_ERROR
    assert (
        missing.stderr.startswith("Error from server (NotFound): ")
        and '"nope" not found' in missing.stderr
    )


def test_explain_shows_the_failed_step_the_summary_and_the_events(
    control_plane: ControlPlane,
    cluster: Cluster,
    tekton: Tekton,
    start: StartController,
    target: str,
) -> None:
    start(cooldown_seconds=COOLDOWN_SECONDS)
    cluster.create_wfe("broken", target=target)
    started = parse_time(cluster.wait_for_phase("broken", "Running")["status"]["startTime"])
    assert started is not None
    failed_at = started + timedelta(seconds=40)
    step = terminated_step("apply", 3, "Error", started, failed_at)
    tekton.fail(
        pipeline_run_name(target),
        reason="Failed",
        message="Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
        started=started,
        completed=failed_at,
        task_runs=[
            TaskRunSpec("patch", "False", "Failed", '"step-apply" exited with code 3', [step])
        ],
    )
    cluster.wait_for_phase("broken", "Failed")
    cluster.wait_for_event("broken", "WorkflowFailed")

    result = kubectl_wfe(control_plane, "explain", "broken", "-n", cluster.namespace)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # compare words, not alignment
    for expected in (
        "Phase: Failed",
        "Reason: TaskFailed",
        "Steps ran: yes (manual review: yes)",
        "Failed task: patch (#0), step apply, exit code 3",
        "Summary: Task 1 of 1",
        f"TaskRun: {pipeline_run_name(target)}-patch: Succeeded=False (Failed)",
        "step apply: terminated, exit code 3 (Error)",
        "Warning WorkflowFailed",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    structured = json.loads(
        kubectl_wfe(
            control_plane, "explain", "broken", "-n", cluster.namespace, "-o", "json"
        ).stdout
    )
    assert structured["failedTaskRun"]["metadata"]["name"] == f"{pipeline_run_name(target)}-patch"
    assert [e["reason"] for e in structured["events"]][-1] == "WorkflowFailed"
