"""Typed shapes (TypedDicts over the plain JSON dicts) of the Tekton PipelineRun and TaskRun fields
the controller writes and reads. Field names follow `tekton.dev/v1` exactly."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

# ------------------------------------------------------------------------------ written (spec)


class Param(TypedDict):
    """A string parameter: `{name, value}` (Tekton also allows arrays and objects; we send strings)."""

    name: str
    value: str


class PipelineRef(TypedDict):
    """`spec.pipelineRef`: a resolver and its params (remote resolution)."""

    resolver: str
    params: list[Param]


# `spec.timeouts`, Go duration strings; functional form because "finally" is a Python keyword.
TimeoutFields = TypedDict(
    "TimeoutFields", {"pipeline": str, "tasks": str, "finally": str}, total=False
)


class SeccompProfile(TypedDict):
    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]


class PodSecurityContext(TypedDict, total=False):
    runAsNonRoot: bool
    seccompProfile: SeccompProfile


class PodTemplate(TypedDict, total=False):
    """`taskRunTemplate.podTemplate` (the subset the controller sets)."""

    securityContext: PodSecurityContext


class TaskRunTemplate(TypedDict, total=False):
    """`spec.taskRunTemplate`: applied to every TaskRun of the PipelineRun."""

    serviceAccountName: str
    podTemplate: PodTemplate


class PipelineRunSpec(TypedDict, total=False):
    pipelineRef: PipelineRef
    params: list[Param]
    timeouts: TimeoutFields
    taskRunTemplate: TaskRunTemplate
    status: str  # "Cancelled" and friends


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    finalizers: list[str]


# ------------------------------------------------------------------------------- read (status)


class TektonCondition(TypedDict, total=False):
    """A knative `apis.Condition` (Tekton reports `type: Succeeded`)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    lastTransitionTime: str
    severity: str


class ChildStatusReference(TypedDict, total=False):
    """`status.childReferences[]`: one TaskRun (or CustomRun) of the PipelineRun."""

    apiVersion: str
    kind: str
    name: str
    pipelineTaskName: str
    displayName: str


class PipelineRunStatus(TypedDict, total=False):
    conditions: list[TektonCondition]
    startTime: str
    completionTime: str
    childReferences: list[ChildStatusReference]
    observedGeneration: int


class PipelineRun(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PipelineRunSpec
    status: PipelineRunStatus


class ContainerStateTerminated(TypedDict, total=False):
    exitCode: int
    reason: str
    message: str
    signal: int
    startedAt: str
    finishedAt: str
    containerID: str


class ContainerStateWaiting(TypedDict, total=False):
    reason: str
    message: str


class StepState(TypedDict, total=False):
    """`status.steps[]` of a TaskRun: a corev1.ContainerState plus the step's names."""

    name: str
    container: str
    imageID: str
    running: dict[str, Any]
    waiting: ContainerStateWaiting
    terminated: ContainerStateTerminated
    terminationReason: str  # newer Tekton: Completed, Continued, Skipped, TimeoutExceeded


class TaskRunStatus(TypedDict, total=False):
    conditions: list[TektonCondition]
    podName: str
    startTime: str
    completionTime: str
    steps: list[StepState]


class TaskRun(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    status: TaskRunStatus
