"""The load generator's own process: ``python -m bench.load_worker --kubeconfig PATH``.

Reads one JSON command per line on stdin, answers one JSON line on stdout. It plays the
RemediationOrchestrator (creates WorkflowExecutions) and Tekton (writes ``Succeeded=True`` on a
PipelineRun's status), and does the bare-client reference: every API write one workflow costs,
with no controller, no watch, no cache. It runs in its own interpreter so the harness's observer is
alone in the harness's, and times each write with ``time.monotonic()`` (CLOCK_MONOTONIC is
system-wide on Linux, so the harness can subtract its own readings).

Commands (``threads`` calls in flight; with ``rate``, item i is issued at start + i/rate):

* ``{"op": "create", "namespace", "items": [[name, target], ...], "threads", "rate"?}``
* ``{"op": "succeed", "namespace", "items": [pipelinerun, ...], "threads", "rate"?}``
* ``{"op": "reference", "namespace", "exec_namespace", "items": [[name, target], ...], "threads"}``
* ``{"op": "counts"}``: the requests made since the last ``counts``, by verb/resource/subresource.

Answers: ``{"issued": {key: monotonic}, "seconds", "error_count", "errors"}``, or ``{"counts"}``.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import FINALIZER, GROUP, PLURAL, VERSION
from bench.kube_rest import MERGE_PATCH, KubeRest, resource_path
from bench.workload import pipeline_run_succeeded_status, workflow_execution
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run

Object = dict[str, Any]

WFE = (GROUP, VERSION, PLURAL)
PIPELINE_RUNS = ("tekton.dev", "v1", "pipelineruns")
EVENTS = ("", "v1", "events")
MAX_ERRORS_SHOWN = 10
COMPONENT = "wfe-bench-reference"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_parallel(
    call: Callable[[Any], None], items: Sequence[Any], threads: int, rate: float | None = None
) -> tuple[dict[str, float], list[str], float]:
    """``call(item)`` for every item from ``threads`` threads (paced at ``rate``/s if given).

    Returns when each item was issued (keyed by the item, or its first element), the errors, and
    the wall time of the whole batch.
    """
    issued: dict[str, float] = {}
    errors: list[str] = []
    todo: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    for pair in enumerate(items):
        todo.put(pair)
    began = time.monotonic()
    start = began + 0.01

    def worker() -> None:
        while True:
            try:
                index, item = todo.get_nowait()
            except queue.Empty:
                return
            if rate:
                time.sleep(max(0.0, start + index / rate - time.monotonic()))
            key = item if isinstance(item, str) else str(item[0])
            issued[key] = time.monotonic()
            try:
                call(item)
            except Exception as err:  # reported to the harness, which fails the run
                errors.append(f"{key}: {err}")

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return issued, errors, time.monotonic() - began


class Load:
    def __init__(self, kube: KubeRest):
        self.kube = kube

    def create(self, namespace: str, item: Sequence[str]) -> Object:
        name, target = item
        return self.kube.request(
            "POST",
            resource_path(*WFE, namespace),
            workflow_execution(name, namespace, target),
            count=("POST", PLURAL, ""),
        )

    def succeed(self, namespace: str, name: str) -> None:
        self.kube.request(
            "PATCH",
            resource_path(*PIPELINE_RUNS, namespace, name, "status"),
            {"status": pipeline_run_succeeded_status(now())},
            content_type=MERGE_PATCH,
            count=("PATCH", "pipelineruns", "status"),
        )

    def reference(self, namespace: str, exec_namespace: str, item: Sequence[str]) -> None:
        """One workflow's whole API work, in the controller's order: the load's 2 writes (create,
        Tekton's verdict) and the controller's 6 (finalizer, PipelineRun, Running, Event,
        Completed, Event), each with the body the controller sends or one of its size."""
        wfe = self.create(namespace, item)
        meta = wfe["metadata"]
        wfe = self.kube.request(
            "PATCH",
            resource_path(*WFE, namespace, meta["name"]),
            {"metadata": {"finalizers": [FINALIZER], "resourceVersion": meta["resourceVersion"]}},
            content_type=MERGE_PATCH,
            count=("PATCH", PLURAL, ""),
        )
        settings = ExecutionSettings(exec_namespace, "kubernaut-workflow-runner", 1800.0)
        pipeline_run = self.kube.request(
            "POST",
            resource_path(*PIPELINE_RUNS, exec_namespace),
            build_pipeline_run(wfe, settings),
            count=("POST", "pipelineruns", ""),
        )
        started = now()
        wfe["status"] = running_status(pipeline_run["metadata"]["name"], exec_namespace, started)
        wfe = self._put_status(wfe)
        self._event(wfe, "PipelineRunCreated", "Created PipelineRun for the workflow")
        self.succeed(exec_namespace, pipeline_run["metadata"]["name"])
        wfe["status"] = completed_status(wfe["status"], now())
        self._put_status(wfe)
        self._event(wfe, "WorkflowCompleted", "Workflow completed successfully")

    def _put_status(self, wfe: Object) -> Object:
        meta = wfe["metadata"]
        return self.kube.request(
            "PUT",
            resource_path(*WFE, meta["namespace"], meta["name"], "status"),
            wfe,
            count=("PUT", PLURAL, "status"),
        )

    def _event(self, wfe: Object, reason: str, message: str) -> None:
        body = event_body(wfe, reason, message, COMPONENT)
        meta = wfe["metadata"]
        self.kube.request(
            "POST", resource_path(*EVENTS, meta["namespace"]), body, count=("POST", "events", "")
        )


def event_body(wfe: Object, reason: str, message: str, component: str) -> Object:
    """A core/v1 Event about ``wfe``, as the controller's recorder posts it."""
    meta, stamp = wfe["metadata"], now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": wfe["apiVersion"],
            "kind": wfe["kind"],
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
        },
        "type": "Normal",
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def _condition(kind: str, status: str, reason: str, message: str, at: str) -> Object:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
    }


def running_status(pipeline_run: str, namespace: str, at: str) -> Object:
    """A Running status the size of the controller's: phase, times, reference, four conditions."""
    return {
        "phase": "Running",
        "startTime": at,
        "message": "Workflow is running.",
        "pipelineRunRef": {"name": pipeline_run, "namespace": namespace},
        "conditions": [
            _condition(
                "TektonPipelineCreated", "True", "PipelineCreated", "PipelineRun created", at
            ),
            _condition("TektonPipelineRunning", "True", "PipelineStarted", "Pipeline running", at),
            _condition("ResourceLocked", "True", "TargetResourceLocked", "target locked", at),
            _condition("AuditRecorded", "True", "AuditDisabled", "auditing disabled", at),
        ],
    }


def completed_status(running: Object, at: str) -> Object:
    """The Completed status: the Running one plus completion, duration and two more conditions."""
    return {
        **running,
        "phase": "Completed",
        "completionTime": at,
        "duration": "0s",
        "message": "Workflow completed successfully.",
        "pipelineRunStatus": {"status": "True", "reason": "Succeeded", "completedTasks": 1},
        "conditions": [
            *running["conditions"],
            _condition("TektonPipelineComplete", "True", "PipelineSucceeded", "all tasks done", at),
            _condition("ExecutionComplete", "True", "Succeeded", "workflow completed", at),
        ],
    }


def serve(kube: KubeRest, lines: Any, answer: Callable[[Object], None]) -> None:
    load = Load(kube)
    for line in lines:
        command: Object = json.loads(line)
        op, threads, rate = command["op"], int(command.get("threads", 4)), command.get("rate")
        items = command.get("items", [])
        call: Callable[[Any], None]
        if op == "counts":
            counts = kube.take_counts()
            answer({"counts": [[*key, n] for key, n in sorted(counts.items())]})
            continue
        if op == "create":
            namespace = command["namespace"]

            def call(item: Any, namespace: str = namespace) -> None:
                load.create(namespace, item)

        elif op == "succeed":
            namespace = command["namespace"]

            def call(item: Any, namespace: str = namespace) -> None:
                load.succeed(namespace, item)

        elif op == "reference":
            namespace, exec_namespace = command["namespace"], command["exec_namespace"]

            def call(item: Any, namespace: str = namespace, exec_ns: str = exec_namespace) -> None:
                load.reference(namespace, exec_ns, item)

        else:
            answer({"error_count": 1, "errors": [f"unknown op {op!r}"], "issued": {}, "seconds": 0})
            continue
        issued, errors, seconds = in_parallel(call, items, threads, rate)
        answer(
            {
                "issued": issued,
                "seconds": seconds,
                "error_count": len(errors),
                "errors": errors[:MAX_ERRORS_SHOWN],
            }
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_worker")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)

    def answer(message: Object) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    serve(KubeRest(args.kubeconfig, args.connections), sys.stdin, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
