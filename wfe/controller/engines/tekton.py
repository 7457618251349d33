"""The Tekton engine: a workflow runs as a tekton.dev/v1 PipelineRun resolved from an OCI bundle.

Everything Tekton-specific the phase handlers need is here: the PipelineRun builder
(:mod:`wfe.controller.pipelinerun`), Tekton's Succeeded verdict, the progress mirrored into
status.pipelineRunStatus, and failure details read from the failed TaskRuns.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from api.tekton.v1 import PIPELINE_RUN_KIND
from api.workflowexecution.v1alpha1.constants import ConditionStatus
from wfe.controller.engines.base import Verdict
from wfe.controller.failure.details import failure_details
from wfe.controller.messages import mirrored_message
from wfe.controller.pipelinerun import ExecutionSettings, build_pipeline_run
from wfe.controller.resources import PIPELINE_RUNS, TASK_RUNS
from wfe.controller.tekton_status import succeeded_condition
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import Client

Object = dict[str, Any]

_TASKS_COMPLETED = re.compile(r"Tasks Completed: (\d+)")
_CONDITION_STATUSES = frozenset(ConditionStatus)
# Tekton's reasons are short CamelCase codes; a longer one is cut like a message.
_MIRRORED_REASON_MAX_BYTES: Final = 1024


class TektonEngine:
    name: Final = "tekton"
    kind: Final = PIPELINE_RUN_KIND
    resource: Final = PIPELINE_RUNS

    def validation_problem(self, wfe: Object) -> str | None:
        return None  # the bundle reference is checked for every engine

    def build(self, wfe: Object, settings: ExecutionSettings, lock_key: str) -> Object:
        return build_pipeline_run(wfe, settings, lock_key)

    def verdict(self, execution: Object) -> Verdict:
        status = succeeded_condition(execution).get("status")
        if status == "True":
            return Verdict.SUCCEEDED
        if status == "False":
            return Verdict.FAILED
        return Verdict.RUNNING

    def has_progress(self, execution: Object) -> bool:
        # nothing to mirror until Tekton has touched the PipelineRun (saves a write per workflow)
        return bool(succeeded_condition(execution))

    def summary(self, execution: Object) -> Object:
        return pipeline_run_summary(execution)

    def completion_time(self, execution: Object) -> datetime | None:
        return parse_time((execution.get("status") or {}).get("completionTime"))

    def verdict_time(self, execution: Object) -> datetime | None:
        verdict = succeeded_condition(execution)
        if verdict.get("status") not in ("True", "False"):
            return None
        return parse_time(verdict.get("lastTransitionTime"))

    def failure_details(self, client: Client, execution: Object, now: datetime) -> Object:
        return failure_details(execution, _task_runs(client, execution), now)


def pipeline_run_summary(pipeline_run: Object) -> Object:
    """status.pipelineRunStatus: Tekton's Succeeded condition and task progress.

    Tekton reports progress in the condition message ("Tasks Completed: 2 (Failed: 0, ...)") and
    the resolved pipeline in status.pipelineSpec; before resolution only childReferences are known.
    """
    status = pipeline_run.get("status") or {}
    succeeded = succeeded_condition(pipeline_run)
    pipeline_spec = status.get("pipelineSpec") or {}
    total = len(pipeline_spec.get("tasks") or []) + len(pipeline_spec.get("finally") or [])
    total = total or len(status.get("childReferences") or [])
    progress = _TASKS_COMPLETED.search(str(succeeded.get("message", "")))
    verdict = succeeded.get("status")
    return {
        # the schema allows the three values only: anything else would be refused (422) forever
        "status": verdict
        if isinstance(verdict, str) and verdict in _CONDITION_STATUSES
        else ConditionStatus.UNKNOWN,
        "reason": mirrored_message(succeeded.get("reason", ""), _MIRRORED_REASON_MAX_BYTES),
        "message": mirrored_message(succeeded.get("message", "")),
        "completedTasks": int(progress.group(1)) if progress else 0,
        "totalTasks": total,
    }


def _task_runs(client: Client, pipeline_run: Object) -> list[Object]:
    """The TaskRuns of a failed PipelineRun, read live (failure is rare; accuracy matters)."""
    namespace = pipeline_run["metadata"]["namespace"]
    found: list[Object] = []
    for reference in (pipeline_run.get("status") or {}).get("childReferences") or []:
        if reference.get("kind", "TaskRun") != "TaskRun" or not reference.get("name"):
            continue
        task_run = client.get_or_none(TASK_RUNS, reference["name"], namespace)
        if task_run is not None:
            found.append(task_run)
    return found
