"""The Job engine: a single-container workflow runs as a batch/v1 Job (no Tekton needed).

The Job carries the lock name, labels and annotations of a PipelineRun; its one container runs the
workflow's image (pinned by containerDigest) with the parameters as environment variables, as the
runner ServiceAccount, under the restricted Pod Security profile. It runs once (backoffLimit 0)
for at most the execution timeout (activeDeadlineSeconds); the controller deletes it when the
cooldown ends, like a PipelineRun (no ttlSecondsAfterFinished). Failure details come from its pod.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

from api.workflowexecution.v1alpha1 import parse_go_duration
from api.workflowexecution.v1alpha1.constants import ConditionStatus
from wfe.controller.engines.base import Verdict
from wfe.controller.failure.classification import FailureEvidence, classify
from wfe.controller.failure.details import render_failure
from wfe.controller.failure.facts import FailureFacts
from wfe.controller.messages import mirrored_message
from wfe.controller.pipelinerun import ExecutionSettings, bundle_reference, execution_metadata
from wfe.controller.resources import JOBS, PODS
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import Client

Object = dict[str, Any]

CONTAINER_NAME: Final = "workflow"
# Set by the Job controller on every pod of a Job: selects exactly this Job's pods (not those of
# an earlier Job of the same name, which had another uid).
CONTROLLER_UID_LABEL: Final = "batch.kubernetes.io/controller-uid"
_COMPLETE: Final = "Complete"
_FAILED: Final = "Failed"
_MIRRORED_REASON_MAX_BYTES: Final = 1024


class JobEngine:
    name: Final = "job"
    kind: Final = JOBS.kind
    resource: Final = JOBS

    def validation_problem(self, wfe: Object) -> str | None:
        return None  # the schema and the shared checks cover everything the Job needs

    def build(self, wfe: Object, settings: ExecutionSettings, lock_key: str) -> Object:
        return build_job(wfe, settings, lock_key)

    def verdict(self, execution: Object) -> Verdict:
        if _condition(execution, _COMPLETE).get("status") == "True":
            return Verdict.SUCCEEDED
        if _condition(execution, _FAILED).get("status") == "True":
            return Verdict.FAILED
        return Verdict.RUNNING

    def has_progress(self, execution: Object) -> bool:
        return bool((execution.get("status") or {}).get("startTime"))

    def summary(self, execution: Object) -> Object:
        return job_summary(execution)

    def completion_time(self, execution: Object) -> datetime | None:
        status = execution.get("status") or {}
        return parse_time(status.get("completionTime")) or self.verdict_time(execution)

    def verdict_time(self, execution: Object) -> datetime | None:
        for condition_type in (_COMPLETE, _FAILED):
            condition = _condition(execution, condition_type)
            if condition.get("status") == "True":
                return parse_time(condition.get("lastTransitionTime"))
        return None

    def failure_details(self, client: Client, execution: Object, now: datetime) -> Object:
        return job_failure_details(execution, _pods(client, execution), now)


def build_job(wfe: Object, settings: ExecutionSettings, lock_key: str | None = None) -> Object:
    """The Job that executes ``wfe``; deliberately without ownerReferences (like a PipelineRun:
    the lock outlives nothing it should not, and a WFE in another namespace could not own it)."""
    spec = wfe["spec"]
    workflow_ref = spec["workflowRef"]
    execution_config = spec.get("executionConfig") or {}
    metadata = execution_metadata(wfe, settings, lock_key)
    timeout = execution_config.get("timeout")
    deadline = parse_go_duration(timeout) if timeout else settings.default_timeout_seconds
    parameters = spec.get("parameters") or {}
    container: Object = {
        "name": CONTAINER_NAME,
        "image": bundle_reference(
            workflow_ref["containerImage"], workflow_ref.get("containerDigest")
        ),
        "env": [{"name": key, "value": parameters[key]} for key in sorted(parameters)],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    resources = workflow_ref.get("resources")
    if resources:
        container["resources"] = {k: dict(v) for k, v in resources.items() if v}
    return {
        "apiVersion": JOBS.api_version,
        "kind": JOBS.kind,
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            # at least 1: the API server refuses 0, and a sub-second timeout means "at once"
            "activeDeadlineSeconds": max(1, math.ceil(deadline)),
            "template": {
                "metadata": {"labels": dict(metadata["labels"])},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": execution_config.get("serviceAccountName")
                    or settings.default_service_account,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                },
            },
        },
    }


def job_summary(job: Object) -> Object:
    """status.pipelineRunStatus for a Job: its final condition (or Running/Pending), one task."""
    status = job.get("status") or {}
    final = _condition(job, _COMPLETE) or _condition(job, _FAILED)
    if final.get("status") == "True":
        verdict = ConditionStatus.TRUE if final.get("type") == _COMPLETE else ConditionStatus.FALSE
        reason = str(final.get("reason") or final.get("type", ""))
        message = str(final.get("message") or "")
    else:
        verdict = ConditionStatus.UNKNOWN
        active = int(status.get("active") or 0)
        reason = "Running" if active else "Pending"
        message = f"Job has {active} active pod(s)." if active else "Job has no running pod yet."
    return {
        "status": verdict,
        "reason": mirrored_message(reason, _MIRRORED_REASON_MAX_BYTES),
        "message": mirrored_message(message),
        "completedTasks": 1 if status.get("succeeded") else 0,
        "totalTasks": 1,
    }


def job_failure_details(job: Object, pods: list[Object], now: datetime) -> Object:
    """failureDetails of a Job whose Failed condition is True, from the condition and its pod.

    The container's own verdict comes first: an image that never came (waiting reason) or a
    kernel OOM kill explain the failure better than the Job's BackoffLimitExceeded or
    DeadlineExceeded; then the Job's reason (DeadlineExceeded); then a non-zero exit (TaskFailed).
    """
    failed = _condition(job, _FAILED)
    pod = _latest(pods)
    container = _container_status(pod)
    terminated = (
        (container.get("state") or {}).get("terminated")
        or (container.get("lastState") or {}).get("terminated")
        or {}
    )
    waiting = (container.get("state") or {}).get("waiting") or {}
    exit_code = terminated.get("exitCode")
    nonzero = isinstance(exit_code, int) and exit_code != 0
    reason = classify(
        FailureEvidence(
            reason_codes=[
                str(waiting.get("reason") or ""),
                str(terminated.get("reason") or ""),
                str(failed.get("reason") or ""),
            ],
            messages=[str(waiting.get("message") or ""), str(failed.get("message") or "")],
            nonzero_exit_code=nonzero,
        )
    )
    status = job.get("status") or {}
    failed_at = (
        parse_time(failed.get("lastTransitionTime"))
        or parse_time(terminated.get("finishedAt"))
        or now
    )
    started_at = parse_time(status.get("startTime")) or parse_time(
        (job.get("metadata") or {}).get("creationTimestamp")
    )
    pod_meta = pod.get("metadata") or {}
    logs = (
        f"kubectl -n {pod_meta['namespace']} logs {pod_meta['name']} -c {CONTAINER_NAME}"
        if pod_meta.get("name") and pod_meta.get("namespace") and terminated
        else None
    )
    return render_failure(
        FailureFacts(
            reason=reason,
            message=_message(failed, waiting, terminated),
            failed_at=failed_at,
            elapsed_seconds=(
                max(0.0, (failed_at - started_at).total_seconds()) if started_at else None
            ),
            # no pod to inspect: it may have run, so a human reviews (as for unknown TaskRuns)
            was_execution_failure=_container_started(container) if pod else True,
            step_name=CONTAINER_NAME if nonzero else None,
            exit_code=exit_code if nonzero else None,
            logs_command=logs,
        )
    )


def _message(failed: Object, waiting: Object, terminated: Object) -> str:
    parts = [str(failed.get("message") or f"Job failed with reason {failed.get('reason')}")]
    if waiting.get("reason"):
        parts.append(f"container {CONTAINER_NAME} waiting: {waiting['reason']}")
        if waiting.get("message"):
            parts[-1] += f" ({waiting['message']})"
    elif terminated.get("reason") or terminated.get("message"):
        parts.append(
            f"container {CONTAINER_NAME} terminated: {terminated.get('reason') or 'Error'}"
            + (f" ({terminated['message']})" if terminated.get("message") else "")
        )
    return "; ".join(parts)


def _condition(job: Object, condition_type: str) -> Object:
    for condition in (job.get("status") or {}).get("conditions") or ():
        if condition.get("type") == condition_type:
            found: Object = condition
            return found
    return {}


def _pods(client: Client, job: Object) -> list[Object]:
    """The Job's pods, read live (failure is rare; accuracy matters)."""
    meta = job["metadata"]
    uid = meta.get("uid")
    if not uid:
        return []
    listed = client.list(PODS, meta["namespace"], label_selector=f"{CONTROLLER_UID_LABEL}={uid}")
    items: list[Object] = listed.get("items") or []
    return items


def _latest(pods: list[Object]) -> Object:
    if not pods:
        return {}
    return max(pods, key=lambda pod: str((pod.get("metadata") or {}).get("creationTimestamp", "")))


def _container_status(pod: Object) -> Object:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == CONTAINER_NAME:
            found: Object = status
            return found
    return {}


def _container_started(container: Object) -> bool:
    """Whether the workflow's container ever ran (then the target may have been changed)."""
    state = container.get("state") or {}
    if state.get("running"):
        return True
    for terminated in (
        state.get("terminated"),
        (container.get("lastState") or {}).get("terminated"),
    ):
        if terminated and terminated.get("startedAt"):
            return True
    return False
