"""Runs the WorkflowExecution controller in-process for one test, and reads what it did.

Each test gets its own controller watching only the test's namespace, with its own execution
namespace, settings, clock and audit store, so tests never see each other's objects or locks.
``Cluster`` is the test's view of the API server: the WorkflowExecutions it creates, the
PipelineRuns and Events the controller made, and waits on their state.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from support.wait import wait_for

from api.workflowexecution.v1alpha1.constants import API_VERSION, KIND
from wfe.audit.events import AuditEvent
from wfe.audit.recorder import AuditRecorder, Recorder
from wfe.audit.sink import AuditDeliveryError
from wfe.audit.spool import MemorySpool
from wfe.controller.engines import EngineRegistry
from wfe.controller.naming import pipeline_run_name
from wfe.controller.pipelinerun import ExecutionSettings
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.settings import (
    CREATE_RETRY_WINDOW_SECONDS,
    MAX_COOLDOWN_SECONDS,
    TIMEOUT_GRACE_SECONDS,
    ControllerSettings,
)
from wfe.controller.setup import setup_controller
from wfe.runtime.cache.cache import Cache
from wfe.runtime.client import EVENTS, Client
from wfe.runtime.controller import Controller
from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.record import EventRecorder

Object = dict[str, Any]

DEFAULT_TARGET = "payment/deployment/payment-api"
DEFAULT_WORKFLOW = "restart-deployment"
DEFAULT_IMAGE = "quay.io/kubernaut/workflows/restart-deployment:v1.0.0"
RUNNER_SERVICE_ACCOUNT = "kubernaut-workflow-runner"


def whole_second(moment: datetime) -> datetime:
    """Kubernetes timestamps carry whole seconds; a clock set to one compares exactly."""
    return moment.replace(microsecond=0)


def workflow_execution(
    name: str,
    namespace: str,
    *,
    target: str = DEFAULT_TARGET,
    workflow_id: str = DEFAULT_WORKFLOW,
    image: str = DEFAULT_IMAGE,
    parameters: dict[str, str] | None = None,
    execution_config: dict[str, str] | None = None,
    digest: str | None = None,
) -> Object:
    """A WorkflowExecution as the RemediationOrchestrator creates it (SPEC §2)."""
    workflow_ref: Object = {"workflowId": workflow_id, "version": "1.0.0", "containerImage": image}
    if digest is not None:
        workflow_ref["containerDigest"] = digest
    spec: Object = {
        "remediationRequestRef": {
            "apiVersion": "remediation.kubernaut.ai/v1alpha1",
            "kind": "RemediationRequest",
            "name": f"rr-{name}",
            "namespace": namespace,
            "uid": "6a1c1b4e-0000-4000-8000-000000000001",
        },
        "workflowRef": workflow_ref,
        "targetResource": target,
        "confidence": 0.9,
        "rationale": "Pods crash-loop after a config change; a restart picks up the fix.",
    }
    if parameters is not None:
        spec["parameters"] = parameters
    if execution_config is not None:
        spec["executionConfig"] = execution_config
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@dataclass
class Cluster:
    """The test's view of the API server: WorkflowExecutions in ``namespace``, PipelineRuns in
    ``execution_namespace``, and the Events the controller recorded."""

    client: Client
    namespace: str
    execution_namespace: str

    def create_wfe(self, name: str, namespace: str | None = None, **spec: Any) -> Object:
        return self.client.create(
            WORKFLOW_EXECUTIONS, workflow_execution(name, namespace or self.namespace, **spec)
        )

    def get_wfe(self, name: str) -> Object | None:
        return self.client.get_or_none(WORKFLOW_EXECUTIONS, name, self.namespace)

    def write_wfe_status(self, name: str, status: Object, namespace: str | None = None) -> Object:
        """Sets a WorkflowExecution's status as some earlier controller run left it."""
        current = self.client.get(WORKFLOW_EXECUTIONS, name, namespace or self.namespace)
        current["status"] = status
        return self.client.update_status(WORKFLOW_EXECUTIONS, current)

    def list_wfes(self) -> list[Object]:
        items: list[Object] = self.client.list(WORKFLOW_EXECUTIONS, self.namespace)["items"]
        return items

    def delete_wfe(self, name: str) -> None:
        self.client.delete(WORKFLOW_EXECUTIONS, name, self.namespace)

    def wait_for_phase(self, name: str, phase: str, timeout: float = 10.0) -> Object:
        def reached() -> Object | None:
            wfe = self.get_wfe(name)
            seen = ((wfe or {}).get("status") or {}).get("phase")
            assert seen == phase, f"{name} is in phase {seen!r}"
            return wfe

        found: Object = wait_for(reached, timeout, message=f"{name} to reach {phase}")
        return found

    def wait_for_status(
        self, name: str, check: Callable[[Object], bool], what: str, timeout: float = 10.0
    ) -> Object:
        def holds() -> Object | None:
            wfe = self.get_wfe(name)
            return wfe if wfe is not None and check(wfe.get("status") or {}) else None

        found: Object = wait_for(holds, timeout, message=f"{name}: {what}")
        return found

    def wait_until_gone(self, name: str, timeout: float = 10.0) -> None:
        wait_for(lambda: self.get_wfe(name) is None, timeout, message=f"{name} to be deleted")

    def pipeline_run(self, name: str) -> Object | None:
        return self.client.get_or_none(PIPELINE_RUNS, name, self.execution_namespace)

    def pipeline_run_for(self, target: str = DEFAULT_TARGET) -> Object | None:
        return self.pipeline_run(pipeline_run_name(target))

    def pipeline_runs(self) -> list[Object]:
        items: list[Object] = self.client.list(PIPELINE_RUNS, self.execution_namespace)["items"]
        return items

    def events_for(self, name: str) -> list[Object]:
        selector = f"involvedObject.kind={KIND},involvedObject.name={name}"
        items: list[Object] = self.client.list(EVENTS, self.namespace, field_selector=selector)[
            "items"
        ]
        return items

    def wait_for_event(self, name: str, reason: str, timeout: float = 10.0) -> Object:
        def recorded() -> Object | None:
            return next((e for e in self.events_for(name) if e.get("reason") == reason), None)

        found: Object = wait_for(recorded, timeout, message=f"Event {reason} on {name}")
        return found


class PipelineRunWatch:
    """Every PipelineRun event in a namespace from the moment it starts: proves "created once, ever"."""

    def __init__(self, client: Client, namespace: str):
        listed = client.list(PIPELINE_RUNS, namespace)
        self._stream = client.watch(
            PIPELINE_RUNS,
            namespace,
            resource_version=listed["metadata"]["resourceVersion"],
            allow_bookmarks=False,
        )
        self._lock = threading.Lock()
        self._events: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._read, name="pipelinerun-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for event in self._stream:
            with self._lock:
                self._events.append((event.type, event.object["metadata"]["name"]))

    def count(self, event_type: str) -> Counter[str]:
        """How many ``event_type`` events each PipelineRun name had so far."""
        with self._lock:
            return Counter(name for seen, name in self._events if seen == event_type)

    def close(self) -> None:
        self._stream.close()
        self._thread.join(5.0)


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
    audit: Recorder | None = None,
    max_cooldown_seconds: float | None = None,
    create_retry_window_seconds: float = CREATE_RETRY_WINDOW_SECONDS,
    engines: Sequence[str] = ("tekton",),
) -> RunningController:
    """Builds the controller as the entry point does, for ``cluster``'s namespaces, and starts it.

    Its clock runs in real time until the test freezes it (``running.clock.set``). It audits to
    ``audit_sink`` (an in-memory store) unless the test brings its own recorder (``audit``).
    ``engines``: the execution engines it serves (``--engines``).
    """
    if audit is not None and audit_sink is not None:
        raise ValueError("pass either an audit recorder or an audit sink, not both")
    clock = ManualClock()
    settings = ControllerSettings(
        execution=ExecutionSettings(
            execution_namespace=cluster.execution_namespace,
            default_service_account=service_account,
            default_timeout_seconds=default_timeout_seconds,
        ),
        cooldown_seconds=cooldown_seconds,
        timeout_grace_seconds=timeout_grace_seconds,
        max_cooldown_seconds=(
            MAX_COOLDOWN_SECONDS if max_cooldown_seconds is None else max_cooldown_seconds
        ),
        create_retry_window_seconds=create_retry_window_seconds,
    )
    cache = Cache(client)
    events = EventRecorder(client)
    audit_sink = audit_sink or CollectingAuditSink()
    recorder = audit or AuditRecorder(
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
        engines=EngineRegistry.of(engines),
    )
    running = RunningController(controller, cache, events, recorder, settings, clock, audit_sink)
    recorder.start()
    cache.start()
    if not cache.wait_for_cache_sync(30):
        running.stop()
        raise AssertionError("the controller's cache did not sync within 30s")
    controller.start(running.stop_event)
    return running
