"""Runs the WorkflowExecution controller in-process for one test, wired as the entry point wires it.

Each test gets its own controller watching only the test's namespace, with its own execution
namespace, settings, clock and audit store, so tests never see each other's objects or locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from support.wait import wait_for

from wfe.audit.events import AuditEvent
from wfe.audit.recorder import AuditRecorder, Recorder
from wfe.audit.sink import AuditDeliveryError
from wfe.audit.spool import MemorySpool
from wfe.controller.pipelinerun import ExecutionSettings
from wfe.controller.settings import TIMEOUT_GRACE_SECONDS, ControllerSettings
from wfe.controller.setup import setup_controller
from wfe.runtime.cache.cache import Cache
from wfe.runtime.client import Client
from wfe.runtime.controller import Controller
from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.record import EventRecorder

from .harness import RUNNER_SERVICE_ACCOUNT, Cluster


def metric(name: str, **labels: str) -> float:
    """The current value of a sample in the process-wide registry (0 before its first use)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class ManualClock:
    """The controller's clock: real time until frozen with :meth:`set`, then moved by hand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None

    def __call__(self) -> datetime:
        with self._lock:
            return self._frozen or datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._frozen = moment


class CollectingAuditSink:
    """An audit sink that keeps what it accepted, so tests can read the audit trail; while
    ``available`` is False it refuses every batch as a down Data Storage would."""

    def __init__(self, available: bool = True) -> None:
        self._lock = threading.Lock()
        self._events: list[AuditEvent] = []
        self.available = available

    def send_batch(self, events: Sequence[AuditEvent]) -> None:
        if not self.available:
            raise AuditDeliveryError("audit store unavailable (test)")
        with self._lock:
            self._events.extend(events)

    def event_types(self, resource_id: str) -> list[str]:
        with self._lock:
            return [str(e.event_type) for e in self._events if e.resource_id == resource_id]


@dataclass
class RunningController:
    """One in-process controller and everything it owns; :meth:`stop` tears all of it down."""

    controller: Controller
    cache: Cache
    events: EventRecorder
    audit: Recorder
    settings: ControllerSettings
    clock: ManualClock
    audit_sink: CollectingAuditSink
    stop_event: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False

    def wait_until_idle(self, timeout: float = 5.0) -> None:
        """Until nothing is queued or being reconciled, seen on several polls in a row."""
        idle_polls = 0

        def idle() -> bool:
            nonlocal idle_polls
            workers = metric("controller_runtime_active_workers", controller=self.controller.name)
            idle_polls = idle_polls + 1 if len(self.controller.queue) == 0 and not workers else 0
            return idle_polls >= 5

        wait_for(idle, timeout, message="the controller to go idle")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.stop_event.set()
        self.controller.stop()
        self.controller.wait(10.0)
        self.cache.stop()
        self.events.stop()
        self.audit.stop()


StartController = Callable[..., RunningController]


def start_controller(
    client: Client,
    cluster: Cluster,
    *,
    cooldown_seconds: float = 60.0,
    default_timeout_seconds: float = 1800.0,
    timeout_grace_seconds: float = TIMEOUT_GRACE_SECONDS,
    service_account: str = RUNNER_SERVICE_ACCOUNT,
    max_concurrent_reconciles: int = 4,
    audit_sink: CollectingAuditSink | None = None,
) -> RunningController:
    """Builds the controller as the entry point does, for ``cluster``'s namespaces, and starts it.

    Its clock runs in real time until the test freezes it (``running.clock.set``).
    """
    clock = ManualClock()
    settings = ControllerSettings(
        execution=ExecutionSettings(
            execution_namespace=cluster.execution_namespace,
            default_service_account=service_account,
            default_timeout_seconds=default_timeout_seconds,
        ),
        cooldown_seconds=cooldown_seconds,
        timeout_grace_seconds=timeout_grace_seconds,
    )
    cache = Cache(client)
    events = EventRecorder(client)
    audit_sink = audit_sink or CollectingAuditSink()
    recorder = AuditRecorder(
        audit_sink, MemorySpool(), flush_interval=0.05, initial_backoff=0.05, max_backoff=0.2
    )
    controller = setup_controller(
        client,
        cache,
        events,
        recorder,
        settings,
        watch_namespace=cluster.namespace,
        max_concurrent_reconciles=max_concurrent_reconciles,
        clock=clock,
    )
    running = RunningController(controller, cache, events, recorder, settings, clock, audit_sink)
    recorder.start()
    cache.start()
    if not cache.wait_for_cache_sync(30):
        running.stop()
        raise AssertionError("the controller's cache did not sync within 30s")
    controller.start(running.stop_event)
    return running
