"""Pending: validate, check the lock and cooldown, create (or adopt) the PipelineRun (SPEC §3, §4)."""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from api.workflowexecution.v1alpha1.constants import (
    ConditionReason,
    FailureReason,
    Phase,
)
from api.workflowexecution.v1alpha1.duration import parse_go_duration
from api.workflowexecution.v1alpha1.types import WorkflowExecutionSpec
from wfe.controller import errors, transitions
from wfe.controller.dependencies import Dependencies
from wfe.controller.errors import ErrorCategory
from wfe.controller.failure.classification import FailureEvidence, classify
from wfe.controller.failure.details import controller_failure_details
from wfe.controller.lock import busy_conflict
from wfe.controller.naming import is_valid_label_value
from wfe.controller.pipelinerun import Owner, build_pipeline_run, bundle_reference, owner_of
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.status import phase_of
from wfe.runtime.client import ApiError, is_already_exists, is_forbidden, is_invalid, is_not_found
from wfe.runtime.reconcile import Result

Object = dict[str, Any]
log = structlog.get_logger("wfe.controller")

# Create → AlreadyExists → stale lock deleted → create again: bounded, then back off via the queue.
MAX_CREATE_ATTEMPTS = 3


class StaleLockRetriesExhaustedError(Exception):
    """The lock PipelineRun kept reappearing; the request is retried with backoff."""


def handle_pending(deps: Dependencies, wfe: Object) -> Result:
    problem = validation_problem(wfe)
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

    conflict = deps.lock.check(wfe)
    if conflict is not None:
        transitions.skip(deps, wfe, conflict)
        return Result()

    desired = build_pipeline_run(wfe, deps.settings.execution)
    for _attempt in range(MAX_CREATE_ATTEMPTS):
        try:
            created = deps.client.create(PIPELINE_RUNS, desired)
        except ApiError as err:
            if is_already_exists(err):
                outcome = _resolve_existing(deps, wfe, desired)
                if outcome is None:
                    continue  # stale lock removed: create again
                return outcome
            if is_forbidden(err) and _refused_by_quota(err):
                return _fail_quota_exceeded(deps, wfe, err)
            if is_forbidden(err):
                return _fail_forbidden(deps, wfe, err)
            if is_invalid(err):
                return _fail_invalid_pipeline_run(deps, wfe, err)
            raise  # transient: requeue with backoff
        transitions.start_running(deps, wfe, created, adopted=False)
        return Result()
    raise StaleLockRetriesExhaustedError(
        f"PipelineRun {desired['metadata']['name']} kept reappearing after stale-lock removal"
    )


def validation_problem(wfe: Object) -> str | None:
    """Defence in depth beyond the CRD schema: a human-actionable message, or None when valid."""
    try:
        WorkflowExecutionSpec.model_validate(wfe.get("spec") or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"Invalid spec.{where}: {first.get('msg')}. Fix the WorkflowExecution and create it again."
    name = wfe["metadata"]["name"]
    if not is_valid_label_value(name):
        # the name is the label that maps PipelineRun events back to this object
        return (
            f"WorkflowExecution name {name!r} is longer than 63 characters or not a valid label "
            "value; PipelineRuns could not be traced back to it. Use a shorter name."
        )
    workflow_ref = wfe["spec"]["workflowRef"]
    try:
        bundle_reference(workflow_ref["containerImage"], workflow_ref.get("containerDigest"))
    except ValueError as err:
        return f"{err}. Fix the WorkflowExecution and create it again."
    timeout = (wfe["spec"].get("executionConfig") or {}).get("timeout")
    if timeout and parse_go_duration(timeout) <= 0:
        return f"spec.executionConfig.timeout {timeout!r} must be positive (0 means no timeout to Tekton)."
    return None


def _resolve_existing(deps: Dependencies, wfe: Object, desired: Object) -> Result | None:
    """The AlreadyExists decision table of SPEC §3. None means: the stale lock is gone, create again."""
    meta = desired["metadata"]
    existing = deps.client.get_or_none(PIPELINE_RUNS, meta["name"], meta["namespace"])
    if existing is None:
        return None  # deleted between our create and get: try again
    owner = owner_of(existing)
    if owner == Owner.of(wfe):
        transitions.start_running(deps, wfe, existing, adopted=True)
        return Result()
    if owner is not None:
        holder = deps.client.get_or_none(WORKFLOW_EXECUTIONS, owner.name, owner.namespace)
        if holder is not None and holder["metadata"].get("uid") == owner.uid:
            holder_phase = phase_of(holder)
            if holder_phase in (Phase.RUNNING, Phase.PENDING):
                transitions.skip(deps, wfe, busy_conflict(wfe["spec"]["targetResource"], holder))
                return Result()
            # a terminal holder the cache may not see (another namespace than --watch-namespace):
            # its cooldown still applies before its lock may be taken over
            cooling = deps.lock.recent_remediation(wfe, [holder])
            if cooling is not None:
                transitions.skip(deps, wfe, cooling)
                return Result()
    # unlabelled debris, an owner that is gone, or an owner that is terminal: a stale lock
    log.info("removing stale lock", pipeline_run=meta["name"], owner=str(owner))
    try:
        deps.client.delete(
            PIPELINE_RUNS, meta["name"], meta["namespace"], uid=existing["metadata"].get("uid")
        )
    except ApiError as err:
        if not (is_not_found(err) or err.status == 409):  # gone, or replaced meanwhile: re-decide
            raise
    return None


def _fail_forbidden(deps: Dependencies, wfe: Object, err: ApiError) -> Result:
    errors.count(ErrorCategory.PERMISSION, "Forbidden")
    execution = deps.settings.execution
    service_account = (wfe["spec"].get("executionConfig") or {}).get(
        "serviceAccountName"
    ) or execution.default_service_account
    message = (
        f"Forbidden to create the PipelineRun in namespace {execution.execution_namespace} "
        f"(runner service account {service_account}): {err.message}. Grant the controller "
        f"'create' on tekton.dev pipelineruns in {execution.execution_namespace}."
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


def _fail_invalid_pipeline_run(deps: Dependencies, wfe: Object, err: ApiError) -> Result:
    errors.count(ErrorCategory.VALIDATION, "InvalidPipelineRun")
    message = f"The API server rejected the PipelineRun built from this spec: {err.message}"
    details = controller_failure_details(
        FailureReason.CONFIGURATION_ERROR, message, now=deps.clock(), was_execution_failure=False
    )
    transitions.fail(deps, wfe, details, creation_condition=(ConditionReason.INVALID_SPEC, message))
    return Result()
