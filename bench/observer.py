"""Watches the WorkflowExecutions and their PipelineRuns, and stamps when each state was first seen.

The stamps are ``time.monotonic()`` readings taken as the watch event is handled, so a latency
measured against them includes the watch delivery to this observer: it is an upper bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from api.workflowexecution.v1alpha1.constants import LABEL_WORKFLOW_EXECUTION, Phase
from bench.errors import BenchError, ProgressTimeoutError
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.cache.cache import Cache
from wfe.runtime.cache.handlers import ResourceEventHandlerFuncs
from wfe.runtime.client import Client

Object = dict[str, Any]

SYNC_TIMEOUT = 60.0
TERMINAL = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.SKIPPED})


def _phase(obj: Object) -> str:
    return str((obj.get("status") or {}).get("phase") or Phase.PENDING)


class Observer:
    """An informer cache of its own (its own client), separate from the controller's."""

    def __init__(self, client: Client, namespace: str, execution_namespace: str):
        self.namespace = namespace
        self.execution_namespace = execution_namespace
        self._cache = Cache(client)
        self._changed = threading.Condition()
        self._phase_seen: dict[str, dict[str, float]] = {}
        self._phase_now: dict[str, str] = {}
        self._pipeline_run_seen: dict[str, float] = {}
        self._pipeline_run_name: dict[str, str] = {}
        self._abandoned: str | None = None
        wfes = self._cache.informer_for(WORKFLOW_EXECUTIONS, namespace=namespace)
        wfes.add_event_handler(
            ResourceEventHandlerFuncs(
                add_func=self._on_wfe, update_func=lambda _old, new: self._on_wfe(new)
            )
        )
        pipeline_runs = self._cache.informer_for(
            PIPELINE_RUNS, namespace=execution_namespace, label_selector=LABEL_WORKFLOW_EXECUTION
        )
        pipeline_runs.add_event_handler(ResourceEventHandlerFuncs(add_func=self._on_pipeline_run))

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._cache.start()
        if not self._cache.wait_for_cache_sync(SYNC_TIMEOUT):
            raise ProgressTimeoutError(
                f"the observer's cache did not sync within {SYNC_TIMEOUT:g}s"
            )

    def stop(self) -> None:
        self._cache.stop()

    # --- what was seen ---------------------------------------------------------------------------

    def phase_seen_at(self, name: str, phase: str) -> float:
        with self._changed:
            return self._phase_seen[name][phase]

    def was_seen(self, name: str, phase: str) -> bool:
        with self._changed:
            return phase in self._phase_seen.get(name, {})

    def pipeline_run_seen_at(self, name: str) -> float:
        with self._changed:
            return self._pipeline_run_seen[name]

    def pipeline_run_of(self, name: str) -> str:
        with self._changed:
            return self._pipeline_run_name[name]

    def phase_of(self, name: str) -> str | None:
        with self._changed:
            return self._phase_now.get(name)

    def workflow_execution(self, name: str) -> Object | None:
        return self._cache.get(WORKFLOW_EXECUTIONS, name, self.namespace)

    def workflow_executions(self, names: Iterable[str]) -> list[Object]:
        found = (self.workflow_execution(name) for name in names)
        return [obj for obj in found if obj is not None]

    # --- waiting ---------------------------------------------------------------------------------

    def abandon_waits(self, why: str) -> None:
        """Makes every current and future wait raise at once (another thread of the run failed)."""
        with self._changed:
            self._abandoned = why
            self._changed.notify_all()

    def wait_for_phases(
        self, names: Iterable[str], phases: Iterable[str], timeout: float, what: str
    ) -> float:
        """Waits until every WFE in ``names`` has been seen in one of ``phases``; returns when."""
        wanted, pending = frozenset(phases), list(names)

        def reached() -> bool:
            nonlocal pending
            pending = [n for n in pending if wanted.isdisjoint(self._phase_seen.get(n, {}))]
            return not pending

        return self._wait(reached, timeout, what, lambda: self._describe(pending))

    def wait_for_pipeline_runs(self, names: Iterable[str], timeout: float, what: str) -> float:
        """Waits until a PipelineRun labelled for each WFE in ``names`` has been seen."""
        pending = list(names)

        def reached() -> bool:
            nonlocal pending
            pending = [n for n in pending if n not in self._pipeline_run_seen]
            return not pending

        return self._wait(reached, timeout, what, lambda: self._describe(pending))

    def _wait(
        self, reached: Callable[[], bool], timeout: float, what: str, stragglers: Callable[[], str]
    ) -> float:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not reached():
                if self._abandoned is not None:
                    raise BenchError(f"stopped waiting for {what}: {self._abandoned}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProgressTimeoutError(
                        f"no progress: {what} not reached within {timeout:g}s; {stragglers()}"
                    )
                self._changed.wait(remaining)
        return time.monotonic()

    def _describe(self, pending: list[str]) -> str:
        shown = ", ".join(f"{n}={self._phase_now.get(n, 'unseen')}" for n in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return f"{len(pending)} still waiting: {shown}{more}"

    # --- watch handlers --------------------------------------------------------------------------

    def _on_wfe(self, obj: Object) -> None:
        now = time.monotonic()
        name, phase = obj["metadata"]["name"], _phase(obj)
        with self._changed:
            self._phase_seen.setdefault(name, {}).setdefault(phase, now)
            self._phase_now[name] = phase
            self._changed.notify_all()

    def _on_pipeline_run(self, obj: Object) -> None:
        now = time.monotonic()
        metadata = obj["metadata"]
        owner = (metadata.get("labels") or {}).get(LABEL_WORKFLOW_EXECUTION)
        if not owner:
            return
        with self._changed:
            self._pipeline_run_seen.setdefault(owner, now)
            self._pipeline_run_name.setdefault(owner, metadata["name"])
            self._changed.notify_all()
