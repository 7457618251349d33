"""Copies of real WorkflowExecutions for seeding: a status the controller itself wrote, renamed.

Seeding 10,000 WorkflowExecutions by running each through the controller would take minutes and
measure nothing; writing statuses by hand would seed objects the controller does not write (and
would rewrite at start, which is not a cold start). So the controller is run once over one
WorkflowExecution per kind (Completed, Failed, Skipped, Running: see ``capture``), and each seeded
object is a copy of one of those: the same JSON with the name, the target, the PipelineRun (lock)
name and the owner's uid replaced, and every timestamp of the status moved by a given amount.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wfe.controller.naming import pipeline_run_name

Object = dict[str, Any]

COMPLETED = "completed"
FAILED = "failed"
SKIPPED = "skipped"
RUNNING = "running"
KINDS = (COMPLETED, FAILED, SKIPPED, RUNNING)

TARGET_NAMESPACE = "apps"  # where the remediated Deployments would live (never created)

# RFC 3339 as the API server and the controller write it (seconds, optional fraction, Z).
_TIMESTAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z\b")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"

# metadata the API server owns: a copy must not carry them into a create
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)


def template_name(kind: str) -> str:
    return f"tw-{kind}"


def template_app(kind: str) -> str:
    return f"td-{kind}"


def template_target(kind: str) -> str:
    return f"{TARGET_NAMESPACE}/deployment/{template_app(kind)}"


def app_target(index: int) -> str:
    """The target of seeded (and later) WorkflowExecutions: ``apps/deployment/app-<index>``."""
    return f"{TARGET_NAMESPACE}/deployment/app-{index}"


@dataclass(frozen=True)
class Template:
    """One WorkflowExecution as the controller left it (and its PipelineRun, when it runs)."""

    kind: str
    workflow_execution: Object
    pipeline_run: Object | None

    @property
    def name(self) -> str:
        return str(self.workflow_execution["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.workflow_execution["metadata"]["uid"])

    @property
    def target(self) -> str:
        return str(self.workflow_execution["spec"]["targetResource"])

    @property
    def namespace(self) -> str:
        return str(self.workflow_execution["metadata"]["namespace"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "workflow_execution": self.workflow_execution,
            "pipeline_run": self.pipeline_run,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        return cls(data["kind"], data["workflow_execution"], data.get("pipeline_run"))


@dataclass(frozen=True)
class Copy:
    """What to write for one seeded WorkflowExecution: create ``body``, then write ``status``;
    for a Running one, create ``pipeline_run`` (its owner uid filled in by ``owned_by``) and write
    its status too."""

    body: Object
    status: Object
    pipeline_run: Object | None
    pipeline_run_status: Object | None

    def owned_by(self, uid: str) -> Object:
        if self.pipeline_run is None:
            raise ValueError("this copy has no PipelineRun")
        return json.loads(json.dumps(self.pipeline_run).replace(_UID_PLACEHOLDER, uid))  # type: ignore[no-any-return]


_UID_PLACEHOLDER = "00000000-0000-4000-8000-0000000000ff"


def shift_timestamps(text: str, by: timedelta) -> str:
    """Every RFC 3339 timestamp in ``text`` moved by ``by`` (fractions kept)."""

    def moved(match: re.Match[str]) -> str:
        when = datetime.strptime(match.group(1), _TIMESTAMP_FORMAT).replace(tzinfo=UTC) + by
        return f"{when.strftime(_TIMESTAMP_FORMAT)}{match.group(2) or ''}Z"

    return _TIMESTAMP.sub(moved, text)


def copy_of(template: Template, namespace: str, name: str, target: str, shift: timedelta) -> Copy:
    """``template`` renamed to ``namespace/name`` on ``target``, its timestamps moved by ``shift``."""
    replacements = [
        # longest and most specific first: the target contains the app name
        (template.target, target),
        (pipeline_run_name(template.target), pipeline_run_name(target)),
        (_app(template.target), _app(target)),
        (template.name, name),
        (template.uid, _UID_PLACEHOLDER),
        (f'"{template.namespace}"', f'"{namespace}"'),  # whole JSON strings only
    ]

    def renamed(obj: Object) -> Object:
        text = json.dumps(obj)
        for old, new in replacements:
            text = text.replace(old, new)
        return json.loads(shift_timestamps(text, shift))  # type: ignore[no-any-return]

    wfe = renamed(template.workflow_execution)
    pipeline_run = renamed(template.pipeline_run) if template.pipeline_run is not None else None
    return Copy(
        body=_creatable(wfe),
        status=wfe.get("status") or {},
        pipeline_run=_creatable(pipeline_run) if pipeline_run is not None else None,
        pipeline_run_status=(pipeline_run or {}).get("status"),
    )


def _app(target: str) -> str:
    return target.rsplit("/", 1)[-1]


def _creatable(obj: Object) -> Object:
    """``obj`` without its status and the metadata the API server sets."""
    metadata = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_METADATA}
    return {k: v for k, v in obj.items() if k != "status"} | {"metadata": metadata}
