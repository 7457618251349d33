"""Pending: validate, check the lock and cooldown, create (or adopt) the execution (a PipelineRun or
a Job, by the WFE's engine) (SPEC §3, §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from api.workflowexecution.v1alpha1.constants import (
    ConditionReason,
    ConditionStatus,
    ConditionType,
    FailureReason,
    Phase,
)
from api.workflowexecution.v1alpha1.duration import format_go_duration
from api.workflowexecution.v1alpha1.validation import spec_problem
from wfe.controller import errors, transitions
from wfe.controller.conditions import get_condition
from wfe.controller.dependencies import Dependencies
from wfe.controller.engines import ExecutionEngine
from wfe.controller.errors import ErrorCategory
from wfe.controller.failure.classification import FailureEvidence, classify
from wfe.controller.failure.details import controller_failure_details
from wfe.controller.lock import LockFacts, busy_conflict
from wfe.controller.messages import mirrored_message
from wfe.controller.naming import is_valid_label_value
from wfe.controller.phases.unsupported import fail_unsupported_engine
from wfe.controller.pipelinerun import Owner, bundle_reference, owner_of
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.controller.status import StaleDecisionError, phase_of
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import ApiError, is_already_exists, is_forbidden, is_invalid, is_not_found
from wfe.runtime.reconcile import Result

Object = dict[str, Any]
log = structlog.get_logger("wfe.controller")

# Create → AlreadyExists → stale lock deleted → create again: bounded, then back off via the queue.
MAX_CREATE_ATTEMPTS = 3


class StaleLockRetriesExhaustedError(Exception):
    """The lock (PipelineRun or Job) kept reappearing; the request is retried with backoff."""


def handle_pending(deps: Dependencies, wfe: Object) -> Result:
    problem = validation_problem(wfe)
    engine = deps.engines.for_workflow_execution(wfe) if problem is None else None
    if problem is None and engine is None:
        return fail_unsupported_engine(deps, wfe, started=False)
    if problem is None and engine is not None:
        problem = engine.validation_problem(wfe)
    if problem is not None:
        details = controller_failure_details(
            FailureReason.CONFIGURATION_ERROR,
            problem,
            now=deps.clock(),
            was_execution_failure=False,
        )
        transitions.fail(
            deps, wfe, details, creation_condition=(ConditionReason.INVALID_SPEC, problem)
        )
        # counted once written: a reconcile on a stale cache re-validates, then finds it decided
        errors.count(ErrorCategory.VALIDATION, "InvalidSpec")
        return Result()

    assert engine is not None  # decided above: valid and served
    conflict = deps.lock.check(wfe)
    if conflict is not None:
        transitions.skip(deps, wfe, conflict)
        return Result()

    lock_key = deps.kinds.key(wfe["spec"]["targetResource"])
    desired = engine.build(wfe, deps.settings.execution, lock_key)
    held = _held_by_another_engine(deps, wfe, engine, desired)
    if held is not None:
        return held
    for _attempt in range(MAX_CREATE_ATTEMPTS):
        try:
            created = deps.client.create(engine.resource, desired)
        except ApiError as err:
            if is_already_exists(err):
                outcome = _resolve_existing(deps, wfe, engine, desired)
                if outcome is None:
                    continue  # stale lock removed: create again
                return outcome
            if is_forbidden(err) and _refused_by_quota(err):
                return _fail_quota_exceeded(deps, wfe, err)
            if is_forbidden(err):
                return _fail_forbidden(deps, wfe, engine, err)
            if is_invalid(err):
                return _fail_invalid_pipeline_run(deps, wfe, engine, err)
            return _create_failed(deps, wfe, engine, desired, err)
        _record_created(deps, wfe, created)
        return Result()
    raise StaleLockRetriesExhaustedError(
        f"{engine.kind} {desired['metadata']['name']} kept reappearing after stale-lock removal"
    )


def _record_created(deps: Dependencies, wfe: Object, created: Object) -> None:
    """Running on the PipelineRun this reconcile created. If the status write meets a conflict,
    the decision is made again on the fresh object: while that is still Pending, the PipelineRun
    we just created is still the fact to record (and "created" still the truth, not "adopted")."""
    try:
        transitions.start_running(deps, wfe, created, adopted=False)
    except StaleDecisionError as stale:
        if phase_of(stale.current) != Phase.PENDING:
            raise  # someone else decided meanwhile: the reconciler decides again from scratch
        transitions.start_running(deps, stale.current, created, adopted=False)


def validation_problem(wfe: Object) -> str | None:
    """Defence in depth beyond the CRD schema: a human-actionable message, or None when valid."""
    invalid = spec_problem(wfe.get("spec") or {})
    if invalid is not None:
        return f"Invalid {invalid.path}: {invalid.message}. Fix the WorkflowExecution and create it again."
    name = wfe["metadata"]["name"]
    if not is_valid_label_value(name):
        # the name is the label that maps PipelineRun events back to this object
        return (
            f"WorkflowExecution name {name!r} is longer than 63 characters or not a valid label "
            "value; PipelineRuns could not be traced back to it. Use a shorter name."
        )
    workflow_ref = wfe["spec"]["workflowRef"]
    try:
        # the image as pinned: a PipelineRun's bundle, a Job's container image
        bundle_reference(workflow_ref["containerImage"], workflow_ref.get("containerDigest"))
    except ValueError as err:
        return f"{err}. Fix the WorkflowExecution and create it again."
    return None


def _held_by_another_engine(
    deps: Dependencies, wfe: Object, engine: ExecutionEngine, desired: Object
) -> Result | None:
    """One target, one execution across engines: the lock name is the same for a PipelineRun and
    a Job, but the API server only refuses a duplicate of the same kind. So an execution of that
    name under another served engine is decided on like an AlreadyExists (read live: the
    WorkflowExecution index already said the target is free, so only a race or debris is left)."""
    for other in deps.engines:
        if other.name == engine.name:
            continue
        outcome = _resolve_existing(deps, wfe, other, desired, adopt=False)
        if outcome is not None:
            return outcome
    return None


def _resolve_existing(
    deps: Dependencies,
    wfe: Object,
    engine: ExecutionEngine,
    desired: Object,
    *,
    adopt: bool = True,
) -> Result | None:
    """The AlreadyExists decision table of SPEC §3. None means: the stale lock is gone (or there
    was none), create again. ``adopt=False``: an execution of another engine is never ours to run
    on, even with our labels; it is removed like a stale lock."""
    meta = desired["metadata"]
    existing = deps.client.get_or_none(engine.resource, meta["name"], meta["namespace"])
    if existing is None:
        return None  # deleted between our create and get: try again
    owner = owner_of(existing)
    if owner == Owner.of(wfe) and adopt:
        transitions.start_running(deps, wfe, existing, adopted=True)
        return Result()
    if owner is not None and owner != Owner.of(wfe):
        holder = deps.client.get_or_none(WORKFLOW_EXECUTIONS, owner.name, owner.namespace)
        if holder is not None and holder["metadata"].get("uid") == owner.uid:
            holder_phase = phase_of(holder)
            if holder_phase in (Phase.RUNNING, Phase.PENDING):
                transitions.skip(
                    deps, wfe, busy_conflict(wfe["spec"]["targetResource"], LockFacts.of(holder))
                )
                return Result()
            # a terminal holder the cache may not see (another namespace than --watch-namespace):
            # its cooldown still applies before its lock may be taken over
            cooling = deps.lock.recent_remediation(wfe, extra=[holder])
            if cooling is not None:
                transitions.skip(deps, wfe, cooling)
                return Result()
    # unlabelled debris, an owner that is gone, or an owner that is terminal: a stale lock
    log.info("removing stale lock", kind=engine.kind, pipeline_run=meta["name"], owner=str(owner))
    try:
        deps.client.delete(
            engine.resource, meta["name"], meta["namespace"], uid=existing["metadata"].get("uid")
        )
    except ApiError as err:
        if not (is_not_found(err) or err.status == 409):  # gone, or replaced meanwhile: re-decide
            raise
    return None


def _create_failed(
    deps: Dependencies, wfe: Object, engine: ExecutionEngine, desired: Object, err: ApiError
) -> Result:
    """A create that failed for any other reason (namespace missing, Tekton gone, API server
    trouble): visible on the object at once, retried within --create-retry-window (counted from
    the first failure, kept in the condition), then Failed (SPEC §7)."""
    meta = desired["metadata"]
    window = deps.settings.create_retry_window_seconds
    now = deps.clock()
    first_failure = _first_create_failure(wfe) or now
    elapsed = max(0.0, (now - first_failure).total_seconds())
    cause = missing_prerequisite(err, meta["namespace"], engine)
    message = mirrored_message(
        f"Creating {engine.kind} {meta['namespace']}/{meta['name']} failed: "
        f"{cause or err.message or err}"
    )
    if elapsed >= window:
        errors.count_exception(err)
        reason = FailureReason.CONFIGURATION_ERROR if cause else FailureReason.UNKNOWN
        final = mirrored_message(
            f"{message} (still failing after {format_go_duration(window)} of retries, "
            "--create-retry-window)"
        )
        details = controller_failure_details(reason, final, now=now, was_execution_failure=False)
        transitions.fail(
            deps, wfe, details, creation_condition=(ConditionReason.CREATION_FAILED, final)
        )
        return Result()
    transitions.creation_failed(
        deps,
        wfe,
        mirrored_message(f"{message}; retrying for up to {format_go_duration(window)}."),
    )
    remaining = window - elapsed
    if elapsed < remaining:
        # first half of the window: a reconcile error like any other (counted, logged, retried
        # with the queue's per-item exponential backoff)
        raise err
    # Second half: the queue's backoff (by now about the time already spent) would overshoot the
    # window by up to as much again; retry at most a minute apart (or after Retry-After), and once
    # more exactly when the window ends, so the verdict comes when the window says.
    errors.count_exception(err)
    log.warning(f"{engine.kind} create failed, retrying", error=str(err), elapsed=round(elapsed, 1))
    delay = max(_CREATE_RETRY_MAX_DELAY, err.retry_after_seconds or 0.0)
    return Result(requeue_after=max(min(delay, remaining), 0.001))


_CREATE_RETRY_MAX_DELAY = 60.0


def _first_create_failure(wfe: Object) -> datetime | None:
    condition = get_condition(
        (wfe.get("status") or {}).get("conditions"), ConditionType.PIPELINE_RUN_CREATED
    )
    if (
        condition is None
        or condition.get("status") != ConditionStatus.FALSE
        or condition.get("reason") != ConditionReason.CREATION_FAILED
    ):
        return None
    return parse_time(condition.get("lastTransitionTime"))


def missing_prerequisite(
    err: ApiError, namespace: str, engine: ExecutionEngine | None = None
) -> str | None:
    """A configuration problem a retry alone will not fix: the execution namespace, or the engine's
    API (Tekton's PipelineRun), is missing. None for anything else (API server trouble)."""
    if not is_not_found(err):
        return None
    details = err.body.get("details") or {}
    if details.get("kind") == "namespaces":
        return (
            f"the execution namespace {namespace} does not exist; create it or fix "
            "--execution-namespace"
        )
    if engine is not None and engine.name != "tekton":
        return f"the {engine.kind} API ({engine.resource.api_version}) is not served"
    return (
        "the Tekton PipelineRun API (tekton.dev/v1) is not served; Tekton Pipelines must be "
        "installed"
    )


def _fail_forbidden(
    deps: Dependencies, wfe: Object, engine: ExecutionEngine, err: ApiError
) -> Result:
    errors.count(ErrorCategory.PERMISSION, "Forbidden")
    execution = deps.settings.execution
    service_account = (wfe["spec"].get("executionConfig") or {}).get(
        "serviceAccountName"
    ) or execution.default_service_account
    message = (
        f"Forbidden to create the {engine.kind} in namespace {execution.execution_namespace} "
        f"(runner service account {service_account}): {err.message}. Grant the controller "
        f"'create' on {engine.resource.group or 'core'} {engine.resource.plural} in "
        f"{execution.execution_namespace}."
    )
    details = controller_failure_details(
        FailureReason.FORBIDDEN, message, now=deps.clock(), was_execution_failure=False
    )
    transitions.fail(deps, wfe, details, creation_condition=(ConditionReason.FORBIDDEN, message))
    return Result()


def _refused_by_quota(err: ApiError) -> bool:
    """Quota admission answers 403 "... is forbidden: exceeded quota: ...": not an RBAC denial."""
    evidence = FailureEvidence(messages=[err.message])
    return classify(evidence) == FailureReason.RESOURCE_EXHAUSTED


def _fail_quota_exceeded(deps: Dependencies, wfe: Object, err: ApiError) -> Result:
    errors.count(ErrorCategory.EXTERNAL, "ExceededQuota")
    namespace = deps.settings.execution.execution_namespace
    message = (
        f"A ResourceQuota in namespace {namespace} refused the PipelineRun: {err.message}. "
        "Free capacity or raise the quota, then create the WorkflowExecution again."
    )
    details = controller_failure_details(
        FailureReason.RESOURCE_EXHAUSTED, message, now=deps.clock(), was_execution_failure=False
    )
    transitions.fail(
        deps, wfe, details, creation_condition=(ConditionReason.CREATION_FAILED, message)
    )
    return Result()


def _fail_invalid_pipeline_run(
    deps: Dependencies, wfe: Object, engine: ExecutionEngine, err: ApiError
) -> Result:
    errors.count(ErrorCategory.VALIDATION, f"Invalid{engine.kind}")
    message = f"The API server rejected the {engine.kind} built from this spec: {err.message}"
    details = controller_failure_details(
        FailureReason.CONFIGURATION_ERROR, message, now=deps.clock(), was_execution_failure=False
    )
    transitions.fail(deps, wfe, details, creation_condition=(ConditionReason.INVALID_SPEC, message))
    return Result()
