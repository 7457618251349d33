"""The physical floor of the scale targets on this machine: the API work a controller cannot avoid,
done by the bare client the load uses (``bench/kube_rest.py``: keep-alive connections, JSON, no
object model, no cache, no watch), with no controller running.

* **Flip**: N Running WorkflowExecutions with their PipelineRuns (seeded copies of the controller's
  own Running one), then from one separate process: 8 threads write ``Succeeded=True`` on the
  PipelineRuns exactly as the flip's load does, and as each verdict write returns, one of 4
  workers (the controller's default concurrency; or as many as the controller's extra flip has)
  writes that WorkflowExecution's Completed status
  (a PUT of the status subresource with the controller's own Completed status, renamed) and hands
  its ``WorkflowCompleted`` Event to one sender thread (the controller's Event recorder is one
  sender too). What it leaves out is everything a controller adds: the watch events it decodes,
  its cache, the reconcile that reads the PipelineRun, the second reconcile its own write causes.
  Sync is measured as for a controller: verdict write issued → the harness's observer sees the
  WorkflowExecution Completed.
* **List**: the paged LIST of every WorkflowExecution (500 per page, from the watch cache, as the
  informer asks), decoded: what any cold start must read before its caches are synced.

The functions named ``*_in_child`` run in a process of their own (``load.in_child``): plain
arguments in, plain results out.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import GROUP, PLURAL, VERSION, Phase
from bench.errors import BenchError
from bench.kube_rest import KubeRest, resource_path
from bench.load_worker import Load, event_body
from bench.observer import TERMINAL, Observer
from bench.scale import load
from bench.scale.seed import Seeded
from bench.scale.templates import COMPLETED, RUNNING, Template, copy_of
from bench.stats import Distribution
from wfe.controller.naming import pipeline_run_name

Object = dict[str, Any]

WFE = (GROUP, VERSION, PLURAL)
EVENTS = ("", "v1", "events")
VERDICT_THREADS = 8  # as the flip's load process
WORKERS = 4  # the controller's default --max-concurrent-reconciles
LIST_PAGE = 500  # the informer's page size (wfe/runtime/cache/reflector.py)
COMPONENT = "wfe-bench-floor"
MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class FloorFlip:
    workflows: int
    workers: int
    verdicts_issued_s: float  # first → last verdict write issued
    written: Distribution  # verdict issued → the bare Completed status write returned
    synced: Distribution  # verdict issued → seen Completed by the observer
    all_completed_s: float  # first verdict issued → every one seen Completed

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflows": self.workflows,
            "workers": self.workers,
            "verdicts_issued_s": self.verdicts_issued_s,
            "written": self.written.as_dict(),
            "synced": self.synced.as_dict(),
            "all_completed_s": self.all_completed_s,
        }


@dataclass(frozen=True)
class BareList:
    objects: int
    pages: int
    seconds: float  # first request → last page decoded

    def as_dict(self) -> dict[str, Any]:
        return {"objects": self.objects, "pages": self.pages, "seconds": self.seconds}


# --- the harness's side ---------------------------------------------------------------------------


def measure_flip(
    observer: Observer,
    kubeconfig: Path,
    templates: dict[str, Template],
    captured_at: float,
    targets: list[str],
    timeout_for: Callable[[int], float],
    workers: int = WORKERS,
    prefix: str = "floor",
) -> FloorFlip:
    """Seeds ``len(targets)`` Running copies, then flips them with the bare client, ``workers``
    status writes in flight (no controller may run: it would make the same writes)."""
    names = [f"{prefix}-{index}" for index in range(len(targets))]
    timeout = timeout_for(len(names))
    as_dicts = {kind: template.as_dict() for kind, template in templates.items()}
    items = [
        Seeded(name, RUNNING, target, 0.0) for name, target in zip(names, targets, strict=True)
    ]
    load.seed_in_child(kubeconfig, observer.namespace, templates, items, captured_at)
    observer.wait_for_phases(
        names, [Phase.RUNNING], timeout, "every floor WorkflowExecution Running"
    )
    observer.wait_for_pipeline_runs(names, timeout, "every floor PipelineRun")
    answer = load.in_child(
        flip_in_child,
        str(kubeconfig),
        observer.namespace,
        observer.execution_namespace,
        as_dicts[COMPLETED],
        captured_at,
        [(name, target) for name, target in zip(names, targets, strict=True)],
        workers,
    )
    issued, written = answer["issued"], answer["written"]
    finished = observer.wait_for_phases(
        names, TERMINAL, timeout, "every floor WorkflowExecution Completed"
    )
    wrong = [name for name in names if not observer.was_seen(name, Phase.COMPLETED)]
    if wrong:
        raise BenchError(f"floor: {len(wrong)} never seen Completed, e.g. {wrong[:3]}")
    return FloorFlip(
        workflows=len(names),
        workers=workers,
        verdicts_issued_s=max(issued.values()) - min(issued.values()),
        written=Distribution.of(written[name] - issued[name] for name in names),
        synced=Distribution.of(
            observer.phase_seen_at(name, Phase.COMPLETED) - issued[name] for name in names
        ),
        all_completed_s=finished - min(issued.values()),
    )


def measure_list(kubeconfig: Path, namespace: str) -> BareList:
    objects, pages, seconds = load.in_child(list_in_child, str(kubeconfig), namespace)
    return BareList(objects, pages, seconds)


# --- the child's side -----------------------------------------------------------------------------


def list_in_child(kubeconfig: str, namespace: str) -> tuple[int, int, float]:
    """The informer's initial list with the bare client: (objects, pages, seconds)."""
    kube = KubeRest(Path(kubeconfig))
    kube.request("GET", "/version")  # the connection (TLS handshake) is not part of the list
    began = time.monotonic()
    objects = pages = 0
    query = {"limit": str(LIST_PAGE), "resourceVersion": "0"}
    while True:
        page = kube.request("GET", resource_path(*WFE, namespace, query=query))
        pages += 1
        objects += len(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return objects, pages, time.monotonic() - began
        query = {"limit": str(LIST_PAGE), "continue": token}


def flip_in_child(
    kubeconfig: str,
    namespace: str,
    exec_namespace: str,
    completed_template: dict[str, Any],
    captured_at: float,
    items: Sequence[tuple[str, str]],
    workers: int = WORKERS,
) -> dict[str, dict[str, float]]:
    """Verdicts from 8 threads; each returned verdict is followed by its Completed status write
    from one of ``workers`` and its Event from one sender. Returns, per WorkflowExecution, when its
    verdict was issued and when its status write returned (``time.monotonic()``)."""
    connections = VERDICT_THREADS + workers + 1
    kube = KubeRest(Path(kubeconfig), connections=connections)
    template = Template.from_dict(completed_template)
    # read from as many threads as will write: every connection is open before the flip
    bodies = _completed_bodies(kube, namespace, template, captured_at, items, connections)
    runs = {name: pipeline_run_name(target) for name, target in items}
    flip = _BareFlip(kube, exec_namespace, bodies, runs, workers)
    flip.run()
    if flip.errors:
        shown = flip.errors[:MAX_ERRORS_SHOWN]
        raise BenchError(f"floor flip: {len(flip.errors)} failed writes, e.g. {shown}")
    return {"issued": flip.issued, "written": flip.written}


class _BareFlip:
    """Tekton's verdicts → the controller's unavoidable writes, with nothing in between."""

    def __init__(
        self,
        kube: KubeRest,
        exec_namespace: str,
        bodies: dict[str, Object],
        runs: dict[str, str],
        workers: int,
    ):
        self.kube, self.exec_namespace, self.bodies, self.runs = kube, exec_namespace, bodies, runs
        self.workers = workers
        self.tekton = Load(kube)
        self.errors: list[str] = []
        self.issued: dict[str, float] = {}
        self.written: dict[str, float] = {}
        self.verdicts: queue.SimpleQueue[str] = queue.SimpleQueue()
        for name in runs:
            self.verdicts.put(name)
        self.to_write: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.to_announce: queue.SimpleQueue[Object | None] = queue.SimpleQueue()

    def run(self) -> None:
        sender = _started(self._send_events)
        workers = [_started(self._write_statuses) for _ in range(self.workers)]
        for thread in [_started(self._write_verdicts) for _ in range(VERDICT_THREADS)]:
            thread.join()
        for _ in workers:
            self.to_write.put(None)
        for thread in workers:
            thread.join()
        self.to_announce.put(None)
        sender.join()

    def _guarded(self, what: str, call: Callable[..., object], *args: Any) -> None:
        try:
            call(*args)
        except Exception as err:  # reported to the harness, which fails the run
            self.errors.append(f"{what}: {err}")

    def _write_verdicts(self) -> None:
        while True:
            try:
                name = self.verdicts.get_nowait()
            except queue.Empty:
                return
            self.issued[name] = time.monotonic()
            self._guarded(
                f"verdict {name}", self.tekton.succeed, self.exec_namespace, self.runs[name]
            )
            self.to_write.put(name)

    def _write_statuses(self) -> None:
        while (name := self.to_write.get()) is not None:
            self._guarded(f"status {name}", self._write_status, name)

    def _write_status(self, name: str) -> None:
        body = self.bodies[name]
        path = resource_path(*WFE, body["metadata"]["namespace"], name, "status")
        answer = self.kube.request("PUT", path, body)
        self.written[name] = time.monotonic()
        self.to_announce.put(answer)

    def _send_events(self) -> None:
        while (wfe := self.to_announce.get()) is not None:
            body = event_body(
                wfe, "WorkflowCompleted", "Workflow completed successfully", COMPONENT
            )
            path = resource_path(*EVENTS, wfe["metadata"]["namespace"])
            self._guarded("event", self.kube.request, "POST", path, body)


def _started(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _completed_bodies(
    kube: KubeRest,
    namespace: str,
    template: Template,
    captured_at: float,
    items: Sequence[tuple[str, str]],
    threads: int,
) -> dict[str, Object]:
    """Each WorkflowExecution as read now, with the controller's Completed status (renamed, its
    times moved to now) in place of its Running one: the body of the status PUT. Read before the
    flip: a controller has it in its cache."""
    shift = timedelta(seconds=time.time() - captured_at)
    bodies: dict[str, Object] = {}
    errors: list[str] = []
    todo: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for item in items:
        todo.put(item)

    def reader() -> None:
        while True:
            try:
                name, target = todo.get_nowait()
            except queue.Empty:
                return
            try:
                wfe = kube.request("GET", resource_path(*WFE, namespace, name))
            except Exception as err:
                errors.append(f"{name}: {err}")
                continue
            wfe["status"] = copy_of(template, namespace, name, target, shift).status
            # as both controllers' caches hold it (the server keeps the field's value on a PUT
            # without it): no managedFields in the body
            wfe["metadata"].pop("managedFields", None)
            bodies[name] = wfe

    for thread in [_started(reader) for _ in range(threads)]:
        thread.join()
    if errors:
        raise BenchError(f"floor: reading {len(errors)} failed, e.g. {errors[:MAX_ERRORS_SHOWN]}")
    return bodies
