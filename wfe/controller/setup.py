"""Wires the reconciler into a runtime Controller: informers, the target index, watches (SetupWithManager)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from api.workflowexecution.v1alpha1.constants import (
    LABEL_SOURCE_NAMESPACE,
    LABEL_WORKFLOW_EXECUTION,
    TARGET_RESOURCE_FIELD,
    Phase,
)
from wfe.audit.events import AuditEvent
from wfe.audit.recorder import Recorder
from wfe.controller import cache_gauges, metrics
from wfe.controller.dependencies import EventSink
from wfe.controller.engines import EngineRegistry
from wfe.controller.engines.tekton import TektonEngine
from wfe.controller.lock import LOCK_FACTS, lock_facts_projection
from wfe.controller.phases.pending import StaleLockRetriesExhaustedError
from wfe.controller.reconciler import CONTROLLER_NAME, WorkflowExecutionReconciler, utc_now
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.controller.settings import ControllerSettings
from wfe.controller.targets import AS_WRITTEN, KindNames
from wfe.runtime.cache.cache import Cache
from wfe.runtime.cache.index import index_by_field
from wfe.runtime.client import Client
from wfe.runtime.controller import Controller
from wfe.runtime.handler import EnqueueRequestForObject, EnqueueRequestsFromMapFunc
from wfe.runtime.reconcile import Request
from wfe.runtime.source import Kind

Object = dict[str, Any]
PHASE_FIELD = "status.phase"


def target_resource_of(obj: Object, kinds: KindNames = AS_WRITTEN) -> list[str]:
    """The index value of a WorkflowExecution: its canonical target (SPEC §3)."""
    target = (obj.get("spec") or {}).get("targetResource")
    return [kinds.key(target)] if isinstance(target, str) and target else []


def workflow_execution_of(execution: Object) -> list[Request]:
    """Maps an execution (PipelineRun, Job) to its WorkflowExecution through the labels the
    controller put on it."""
    labels = (execution.get("metadata") or {}).get("labels") or {}
    name, namespace = labels.get(LABEL_WORKFLOW_EXECUTION), labels.get(LABEL_SOURCE_NAMESPACE)
    return [Request(namespace, name)] if name and namespace else []


def setup_controller(
    client: Client,
    cache: Cache,
    events: EventSink,
    audit: Recorder,
    settings: ControllerSettings,
    *,
    watch_namespace: str | None = None,
    max_concurrent_reconciles: int = 4,
    clock: Callable[[], datetime] = utc_now,
    kinds: KindNames | None = None,
    engines: EngineRegistry | None = None,
) -> Controller:
    """``kinds``: the kind names for lock keys, discovered from the API server once when not
    given (the entry point discovers them within its start-up retries). ``engines``: the
    execution engines served (``--engines``, those installed); Tekton alone when not given."""
    kinds = KindNames.discover(client) if kinds is None else kinds
    engines = EngineRegistry([TektonEngine()]) if engines is None else engines
    wfe_informer = cache.informer_for(WORKFLOW_EXECUTIONS, namespace=watch_namespace)
    cache.index_field(
        WORKFLOW_EXECUTIONS, TARGET_RESOURCE_FIELD, lambda obj: target_resource_of(obj, kinds)
    )
    # the lock check's facts of every execution, kept beside the target index (nothing decoded)
    cache.project(WORKFLOW_EXECUTIONS, LOCK_FACTS, lock_facts_projection)
    phase_index = cache.index_field(WORKFLOW_EXECUTIONS, PHASE_FIELD, index_by_field(PHASE_FIELD))
    audit_index = cache.index_field(
        WORKFLOW_EXECUTIONS, cache_gauges.AUDIT_INDEX_FIELD, cache_gauges.audit_index_values
    )
    # only executions (PipelineRuns, Jobs) this controller labelled, only in the execution namespace
    execution_informers = [
        cache.informer_for(
            engine.resource,
            namespace=settings.execution.execution_namespace,
            label_selector=LABEL_WORKFLOW_EXECUTION,
        )
        for engine in engines
    ]
    reconciler = WorkflowExecutionReconciler(
        client, cache, events, audit, settings, clock, kinds, engines
    )
    controller = Controller(
        CONTROLLER_NAME,
        reconciler,
        max_concurrent_reconciles=max_concurrent_reconciles,
        # raised on purpose (retried with backoff); any other exception is a bug: a panic
        expected_errors=(StaleLockRetriesExhaustedError,),
    )
    controller.watch(Kind(wfe_informer, EnqueueRequestForObject()))
    # every execution change, status-only ones included, reconciles its WorkflowExecution
    for informer in execution_informers:
        controller.watch(Kind(informer, EnqueueRequestsFromMapFunc(workflow_execution_of)))

    def reconcile_audited(delivered: Iterable[AuditEvent]) -> None:
        # AuditRecorded is set by the reconcile that follows a delivery outcome
        for request in {Request(e.namespace, e.resource_id) for e in delivered}:
            try:
                controller.queue.add(request)
            except RuntimeError:
                return  # not started (or stopping): the next reconcile will see it

    # accepted → AuditRecorded=True; failing or refused → AuditRecorded=False, on the next reconcile
    audit.set_listener(
        reconcile_audited, on_rejected=reconcile_audited, on_failed=reconcile_audited
    )
    # counted from the phase index at scrape time: no object is read, let alone copied
    metrics.count_active_with(
        lambda: cache.count_by_index(WORKFLOW_EXECUTIONS, phase_index, Phase.RUNNING)
    )
    # scrape-time gauges from the indexes: only Running objects are copied, the rest is counted
    cache_gauges.install(
        lambda: cache.by_index(WORKFLOW_EXECUTIONS, phase_index, Phase.RUNNING),
        lambda: cache.count_by_index(
            WORKFLOW_EXECUTIONS, audit_index, cache_gauges.AUDIT_NOT_RECORDED
        ),
        settings.execution.default_timeout_seconds,
        clock,
    )
    return controller
