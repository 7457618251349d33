"""A steady trickle of workflows, each taken through its whole life the way its neighbours would:
created (the RemediationOrchestrator), given a verdict once Running (Tekton: nine in ten succeed,
one fails), and deleted a while after it finished (the RemediationOrchestrator's retention, which
runs the controller's finalizer). Every twentieth also gets a duplicate on the same target, which
the lock must skip. One thread walks every live workflow through these steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from api.workflowexecution.v1alpha1.constants import Phase
from bench.errors import BenchError, ProgressTimeoutError
from bench.observer import TERMINAL, Observer
from bench.scale.verdicts import fail, succeed
from bench.workload import workflow_execution
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, is_not_found

TICK_S = 0.05
FAIL_EVERY = 10
DUPLICATE_EVERY = 20
STUCK_AFTER_S = 120.0  # created this long ago and still no answer: the controller stopped


@dataclass
class _Workflow:
    name: str
    created_at: float
    verdict_at: float | None = None
    finished_at: float | None = None
    fails: bool = False


@dataclass
class Counts:
    created: int = 0
    verdicts: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    deleted: int = 0
    synced_s: list[float] = field(default_factory=list)  # verdict issued → terminal seen


class Trickle:
    def __init__(
        self,
        client: Client,
        observer: Observer,
        rate_per_s: float,
        targets: int,
        retention_s: float,
    ):
        self._client = client
        self._observer = observer
        self._interval = 1.0 / rate_per_s
        self._targets = targets
        self._retention = retention_s
        self._live: list[_Workflow] = []
        self._counts = Counts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def counts(self) -> Counts:
        with self._lock:
            c = self._counts
            return Counts(
                c.created,
                c.verdicts,
                c.completed,
                c.failed,
                c.skipped,
                c.deleted,
                list(c.synced_s),
            )

    def live(self) -> int:
        with self._lock:
            return len(self._live)

    def run_for(self, seconds: float, on_tick: Callable[[], None] = lambda: None) -> None:
        """Creates workflows for ``seconds``, then lets the live ones finish and be deleted."""
        began = time.monotonic()
        next_create, index = began, 0
        while True:
            now = time.monotonic()
            creating = now - began < seconds
            if creating and now >= next_create:
                self._create(index, now)
                index += 1
                next_create += self._interval
            self._step(now)
            on_tick()
            if not creating and not self.live():
                return
            if not creating and now - began > seconds + STUCK_AFTER_S + self._retention:
                raise ProgressTimeoutError(f"soak: {self.live()} workflows never finished")
            time.sleep(TICK_S)

    # --- one workflow's life ---------------------------------------------------------------------

    def _create(self, index: int, now: float) -> None:
        target = f"soak/deployment/app-{index % self._targets}"
        names = [f"soak-{index}"]
        if index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            names.append(f"soak-{index}-dup")
        for name in names:
            self._client.create(
                WORKFLOW_EXECUTIONS, workflow_execution(name, self._observer.namespace, target)
            )
            with self._lock:
                self._live.append(_Workflow(name, now, fails=index % FAIL_EVERY == FAIL_EVERY - 1))
                self._counts.created += 1

    def _step(self, now: float) -> None:
        with self._lock:
            live = list(self._live)
        for workflow in live:
            phase = self._observer.phase_of(workflow.name)
            if workflow.verdict_at is None and workflow.finished_at is None:
                self._decide(workflow, phase, now)
            elif workflow.finished_at is None and phase in TERMINAL:
                self._finished(workflow, phase, now)
            elif workflow.finished_at is not None and now - workflow.finished_at >= self._retention:
                self._delete(workflow)

    def _decide(self, workflow: _Workflow, phase: str | None, now: float) -> None:
        observer = self._observer
        if phase == Phase.SKIPPED:
            self._finished(workflow, phase, now)
            return
        run = _pipeline_run(observer, workflow.name) if phase == Phase.RUNNING else None
        if run is not None:
            namespace = observer.execution_namespace
            workflow.verdict_at = time.monotonic()
            if workflow.fails:
                fail(self._client, run, namespace)
            else:
                succeed(self._client, run, namespace)
            with self._lock:
                self._counts.verdicts += 1
            return
        if phase in TERMINAL:
            raise BenchError(f"soak: {workflow.name} ended {phase} before it ran")
        if now - workflow.created_at > STUCK_AFTER_S:
            raise ProgressTimeoutError(
                f"soak: {workflow.name} still {phase or 'unseen'} {STUCK_AFTER_S:g}s after its "
                "create"
            )

    def _finished(self, workflow: _Workflow, phase: str | None, now: float) -> None:
        workflow.finished_at = now
        with self._lock:
            counts = self._counts
            if phase == Phase.COMPLETED:
                counts.completed += 1
            elif phase == Phase.FAILED:
                counts.failed += 1
            else:
                counts.skipped += 1
            if workflow.verdict_at is not None:
                seen = self._observer.phase_seen_at(workflow.name, str(phase))
                counts.synced_s.append(seen - workflow.verdict_at)

    def _delete(self, workflow: _Workflow) -> None:
        try:
            self._client.delete(WORKFLOW_EXECUTIONS, workflow.name, self._observer.namespace)
        except Exception as err:
            if not is_not_found(err):
                raise
        with self._lock:
            self._live.remove(workflow)
            self._counts.deleted += 1


def _pipeline_run(observer: Observer, name: str) -> str | None:
    """The PipelineRun of ``name`` once the observer saw it (its own watch may lag the WFE's)."""
    try:
        return observer.pipeline_run_of(name)
    except KeyError:
        return None
