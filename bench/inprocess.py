"""The controller running in this process, wired the way ``wfe.cmd`` wires it, minus the servers.

Start order follows the manager's: cache (wait for sync), then the controller; stop undoes it in
reverse and is safe to call more than once and after a failed start.
"""

from __future__ import annotations

import threading

from wfe.audit.factory import build_recorder
from wfe.controller.pipelinerun import ExecutionSettings
from wfe.controller.settings import ControllerSettings
from wfe.controller.setup import setup_controller
from wfe.runtime.cache.cache import Cache
from wfe.runtime.client import Client
from wfe.runtime.controller import Controller
from wfe.runtime.record import EventRecorder

MAX_CONCURRENT_RECONCILES = 4
CACHE_SYNC_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class InProcessController:
    """The WorkflowExecution controller over ``client``, watching WFEs in ``watch_namespace``."""

    def __init__(self, client: Client, watch_namespace: str, execution_namespace: str):
        self.settings = ControllerSettings(
            execution=ExecutionSettings(
                execution_namespace=execution_namespace,
                default_service_account="kubernaut-workflow-runner",
                default_timeout_seconds=1800.0,
            ),
        )
        self._stop = threading.Event()
        self._stopped = False
        self._cache = Cache(client)
        self._events = EventRecorder(client)
        self._audit = build_recorder("none")
        self._controller: Controller = setup_controller(
            client,
            self._cache,
            self._events,
            self._audit,
            self.settings,
            watch_namespace=watch_namespace,
            max_concurrent_reconciles=MAX_CONCURRENT_RECONCILES,
        )

    def start(self) -> None:
        self._audit.start()
        self._cache.start(self._stop)
        if not self._cache.wait_for_cache_sync(CACHE_SYNC_TIMEOUT):
            raise RuntimeError(f"controller caches did not sync within {CACHE_SYNC_TIMEOUT:g}s")
        self._controller.start(self._stop)

    def flush_events(self, timeout: float = 30.0) -> None:
        """Waits until the Events queued so far have reached the API server (they are sent async)."""
        if not self._events.flush(timeout):
            raise RuntimeError(f"controller Events still unsent after {timeout:g}s")

    def stop(self) -> None:
        """Idempotent; safe after a failed or missing start."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._controller.stop()
        try:
            # raises if a reconcile panicked: a real error the run must report
            if not self._controller.wait(STOP_TIMEOUT):
                raise RuntimeError(f"controller workers still busy after {STOP_TIMEOUT:g}s")
        finally:
            self._events.stop()
            self._audit.stop()
            self._cache.stop()
