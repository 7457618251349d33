"""Takes the templates the seed copies: the controller (its own process, a cooldown of one second)
runs one WorkflowExecution to each of Completed (lock released), Failed (lock released), Skipped
(ResourceBusy) and Running (its PipelineRun in progress, as Tekton reports it); they are read back,
then deleted through the controller's own finalizer, so the measured controller never sees them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import ConditionReason, ConditionType, Phase
from bench.cluster import ensure_namespaces
from bench.errors import BenchError, ProgressTimeoutError
from bench.observer import TERMINAL, Observer
from bench.scale import controller
from bench.scale.templates import (
    COMPLETED,
    FAILED,
    RUNNING,
    SKIPPED,
    Template,
    template_name,
    template_target,
)
from bench.scale.verdicts import fail, progress, succeed
from bench.workload import workflow_execution
from wfe.controller.conditions import get_condition
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client

NAMESPACE = "scale-templates"
TIMEOUT = 60.0

Object = dict[str, Any]


def capture(
    client: Client, kubeconfig: Path, execution_namespace: str, log: Path
) -> tuple[dict[str, Template], float]:
    """The four templates and when they were taken (epoch seconds)."""
    ensure_namespaces(client, [NAMESPACE])
    launch = controller.Launch(
        kubeconfig,
        execution_namespace,
        log,
        watch_namespace=NAMESPACE,
        extra_flags=("--cooldown-period=1s",),
    )
    process = controller.start(launch)
    observer = Observer(client, NAMESPACE, execution_namespace)
    try:
        observer.start()
        templates = _run(client, observer, execution_namespace)
        captured_at = time.time()
        for name in (template_name(kind) for kind in templates):
            client.delete(WORKFLOW_EXECUTIONS, name, NAMESPACE)
        _wait_until(
            lambda: not client.list(WORKFLOW_EXECUTIONS, NAMESPACE).get("items"),
            "the template WorkflowExecutions deleted (finalizers removed by the controller)",
        )
        process.check_alive()
    finally:
        observer.stop()
        process.stop()
    return templates, captured_at


def _run(client: Client, observer: Observer, execution_namespace: str) -> dict[str, Template]:
    def create(name: str, target: str) -> None:
        client.create(WORKFLOW_EXECUTIONS, workflow_execution(name, NAMESPACE, target))

    def reach(names: list[str], phases: list[str], what: str, must_be: str) -> None:
        observer.wait_for_phases(names, phases, TIMEOUT, what)
        wrong = [n for n in names if not observer.was_seen(n, must_be)]
        if wrong:
            raise BenchError(f"templates: {wrong} never {must_be}")

    runners = [COMPLETED, FAILED, RUNNING]
    names = [template_name(kind) for kind in runners]
    for kind in runners:
        create(template_name(kind), template_target(kind))
    reach(
        names, [Phase.RUNNING, *TERMINAL], "the template WorkflowExecutions Running", Phase.RUNNING
    )
    observer.wait_for_pipeline_runs(names, TIMEOUT, "the template PipelineRuns")
    # a duplicate on the running one's target: Skipped, ResourceBusy
    skipped = template_name(SKIPPED)
    create(skipped, template_target(RUNNING))
    reach([skipped], [Phase.SKIPPED], "the duplicate Skipped", Phase.SKIPPED)

    runs = {kind: observer.pipeline_run_of(template_name(kind)) for kind in runners}
    succeed(client, runs[COMPLETED], execution_namespace)
    fail(client, runs[FAILED], execution_namespace)
    progress(client, runs[RUNNING], execution_namespace)
    reach([template_name(COMPLETED)], list(TERMINAL), "Completed", Phase.COMPLETED)
    reach([template_name(FAILED)], list(TERMINAL), "Failed", Phase.FAILED)

    def read(kind: str) -> Object:
        return client.get(WORKFLOW_EXECUTIONS, template_name(kind), NAMESPACE)

    _wait_until(
        lambda: all(_lock_released(read(kind)) for kind in (COMPLETED, FAILED)),
        "the template locks released after their one-second cooldown",
    )
    _wait_until(
        lambda: bool((read(RUNNING).get("status") or {}).get("pipelineRunStatus")),
        "the running template's progress mirrored",
    )
    return {
        kind: Template(
            kind,
            read(kind),
            client.get(PIPELINE_RUNS, runs[RUNNING], execution_namespace)
            if kind == RUNNING
            else None,
        )
        for kind in (COMPLETED, FAILED, SKIPPED, RUNNING)
    }


def _lock_released(wfe: Object) -> bool:
    condition = get_condition(
        (wfe.get("status") or {}).get("conditions"), ConditionType.RESOURCE_LOCK_ACQUIRED
    )
    return bool(condition) and condition.get("reason") == ConditionReason.LOCK_RELEASED  # type: ignore[union-attr]


def _wait_until(reached: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not reached():
        if time.monotonic() > deadline:
            raise ProgressTimeoutError(f"templates: {what} not reached within {TIMEOUT:g}s")
        time.sleep(0.1)
