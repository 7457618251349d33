"""Pydantic models of the WorkflowExecution resource: the single source of truth for its CRD schema
(`hack/gen_crd.py` generates `config/crd/bases/` from them) and the controller's spec validator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .constants import (
    API_VERSION,
    KIND,
    ConditionStatus,
    ExecutionEngine,
    FailureReason,
    Outcome,
    Phase,
    SkipReason,
)
from .duration import is_execution_timeout, parse_go_duration
from .patterns import (
    CONDITION_REASON_PATTERN,
    CONDITION_TYPE_PATTERN,
    CONTAINER_DIGEST_PATTERN,
    DNS1123_SUBDOMAIN_PATTERN,
    GO_DURATION_PATTERN,
    OCI_REFERENCE_PATTERN,
    PARAMETER_NAME_PATTERN,
    QUANTITY_PATTERN,
    RESOURCE_NAME_PATTERN,
    TARGET_RESOURCE_MAX_LENGTH,
    TARGET_RESOURCE_PATTERN,
)

SPEC_IMMUTABLE_MESSAGE: Final = (
    "spec is immutable after creation; delete and recreate the WorkflowExecution to change it"
)
PARAMETER_NAMES_MESSAGE: Final = (
    f"parameter names must be UPPER_SNAKE_CASE (match {PARAMETER_NAME_PATTERN})"
)
# Bounds on spec.parameters (SPEC §2): they are copied into the PipelineRun, the cache and every
# audit event, so an unbounded map costs memory everywhere and can make objects unwritable.
MAX_PARAMETERS: Final = 64
MAX_PARAMETER_VALUE_LENGTH: Final = 32 * 1024
EXECUTION_TIMEOUT_MESSAGE: Final = "timeout must be a positive Go duration of at most 24h"
# The CEL rule's cost must be bounded: a duration string is short.
_TIMEOUT_MAX_LENGTH: Final = 64


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[AwareDatetime, PlainSerializer(_format_time, return_type=str, when_used="json")]
"""A metav1.Time: a timezone-aware instant, serialised as RFC 3339 UTC with second precision."""

ParameterName = Annotated[str, StringConstraints(pattern=PARAMETER_NAME_PATTERN)]
Quantity = Annotated[
    int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)],
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": True,
        }
    ),
]
"""A resource.Quantity: an integer or a string such as "100m", "64Mi"."""
ResourceName = Annotated[str, StringConstraints(pattern=RESOURCE_NAME_PATTERN)]
# a container has a handful of resources; the bound keeps the CEL key rule cheap
MAX_RESOURCE_NAMES: Final = 16
RESOURCE_NAMES_MESSAGE: Final = (
    f"resource names must be like cpu, memory or vendor.example/gpu (match {RESOURCE_NAME_PATTERN})"
)


def _resource_list() -> Any:
    return Field(
        default=None,
        max_length=MAX_RESOURCE_NAMES,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(k, k.matches('{RESOURCE_NAME_PATTERN}'))",
                    "message": RESOURCE_NAMES_MESSAGE,
                }
            ]
        },
    )


ParameterValue = Annotated[str, StringConstraints(max_length=MAX_PARAMETER_VALUE_LENGTH)]


class APIModel(BaseModel):
    """Base of every API object part: camelCase JSON names, snake_case Python names."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
        defer_build=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The object as the API server stores it: camelCase keys, unset fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------------------------------- spec


class RemediationRequestRef(APIModel):
    """The RemediationRequest that asked for this execution; its name is the correlation id."""

    api_version: str | None = None
    """API version of the RemediationRequest."""
    kind: str | None = None
    """Kind of the referenced object (RemediationRequest)."""
    name: str = Field(min_length=1)
    """Name of the RemediationRequest; used as correlation id in logs and audit events."""
    namespace: str | None = None
    """Namespace of the RemediationRequest."""
    uid: str | None = None
    """UID of the RemediationRequest."""


RESOURCES_NEED_JOB_MESSAGE: Final = "resources is only supported with executionEngine: job"


class WorkflowRef(APIModel):
    """Which workflow to run, where it is packaged, and which engine runs it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.resources) || "
                    "(has(self.executionEngine) && self.executionEngine == 'job')",
                    "message": RESOURCES_NEED_JOB_MESSAGE,
                }
            ]
        }
    )

    workflow_id: str = Field(min_length=1, max_length=253)
    """Catalogue id of the workflow; with the target it keys the cooldown."""
    version: str = Field(min_length=1)
    """Version of the workflow in the catalogue."""
    container_image: str = Field(pattern=OCI_REFERENCE_PATTERN)
    """OCI reference registry/repo[:tag][@sha256:digest]: the Tekton bundle holding the Pipeline,
    or the Job's container image (executionEngine job)."""
    container_digest: str | None = Field(default=None, pattern=CONTAINER_DIGEST_PATTERN)
    """Expected digest of the image (sha256:<64 hex>): the reference is pinned to it, and it is
    recorded on the PipelineRun or Job."""
    execution_engine: ExecutionEngine | None = None
    """What runs the workflow: tekton (when unset; a PipelineRun from the bundle in containerImage)
    or job (a Kubernetes Job running containerImage as its single container, parameters as
    environment variables)."""
    resources: ContainerResources | None = None
    """Container resources of the Job (executionEngine job only; a Tekton workflow sets its
    steps' resources in its Pipeline)."""

    @model_validator(mode="after")
    def _resources_need_job(self) -> Self:
        if self.resources is not None and self.execution_engine != ExecutionEngine.JOB:
            raise ValueError(RESOURCES_NEED_JOB_MESSAGE)
        return self


class ContainerResources(APIModel):
    """Requests and limits of the Job's container (corev1.ResourceRequirements without claims)."""

    requests: dict[ResourceName, Quantity] | None = _resource_list()
    """Minimum resources the container needs, e.g. {cpu: 100m, memory: 64Mi}."""
    limits: dict[ResourceName, Quantity] | None = _resource_list()
    """Maximum resources the container may use; above the memory limit it is OOMKilled."""


class ExecutionConfig(APIModel):
    """Per-execution overrides of the controller's defaults."""

    timeout: str | None = Field(
        default=None,
        max_length=_TIMEOUT_MAX_LENGTH,
        pattern=GO_DURATION_PATTERN,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    # a duration Go cannot hold makes duration() fail: refused as well
                    "rule": "duration(self) > duration('0s') && duration(self) <= duration('24h')",
                    "message": EXECUTION_TIMEOUT_MESSAGE,
                }
            ]
        },
    )
    """Maximum run time as a Go duration (30m, 1h30m), positive and at most 24h; the controller
    default applies when unset."""
    service_account_name: str | None = Field(
        default=None, max_length=253, pattern=DNS1123_SUBDOMAIN_PATTERN
    )
    """ServiceAccount the workflow's TaskRuns run as; the controller default applies when unset."""

    @field_validator("timeout")
    @classmethod
    def _timeout_in_range(cls, value: str | None) -> str | None:
        if value is not None and not is_execution_timeout(value):
            raise ValueError(EXECUTION_TIMEOUT_MESSAGE)
        return value

    @property
    def timeout_seconds(self) -> float | None:
        """The timeout in seconds, or None when unset."""
        return None if self.timeout is None else parse_go_duration(self.timeout)


class WorkflowExecutionSpec(APIModel):
    """What to run, against what. Immutable once created."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": SPEC_IMMUTABLE_MESSAGE},
            ]
        }
    )

    remediation_request_ref: RemediationRequestRef
    """The RemediationRequest this execution serves."""
    workflow_ref: WorkflowRef
    """The workflow to run."""
    target_resource: str = Field(
        max_length=TARGET_RESOURCE_MAX_LENGTH, pattern=TARGET_RESOURCE_PATTERN
    )
    """The resource being remediated: namespace/kind/name, or kind/name when cluster-scoped.
    At most one execution runs per target at a time."""
    parameters: dict[ParameterName, ParameterValue] | None = Field(
        default=None,
        max_length=MAX_PARAMETERS,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(k, k.matches('{PARAMETER_NAME_PATTERN}'))",
                    "message": PARAMETER_NAMES_MESSAGE,
                }
            ]
        },
    )
    """Pipeline parameters, passed unchanged as string params; names are UPPER_SNAKE_CASE; at
    most 64, each value at most 32 KiB."""
    confidence: float | None = Field(default=None, ge=0, le=1)
    """Confidence of the recommendation that chose this workflow, 0..1 (audit only)."""
    rationale: str | None = None
    """Why this workflow was chosen (audit only)."""
    execution_config: ExecutionConfig | None = None
    """Overrides of the controller defaults for this execution."""


# -------------------------------------------------------------------------------------- status


class Condition(APIModel):
    """A metav1.Condition."""

    type: str = Field(max_length=316, pattern=CONDITION_TYPE_PATTERN)
    """Type of condition in CamelCase."""
    status: ConditionStatus
    """True, False or Unknown."""
    observed_generation: int | None = Field(
        default=None, ge=0, json_schema_extra={"format": "int64"}
    )
    """The .metadata.generation the condition was set for."""
    last_transition_time: Time
    """When the condition last changed status."""
    reason: str = Field(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN)
    """Programmatic identifier of the last transition, in CamelCase."""
    message: str = Field(max_length=32768)
    """Human-readable details of the last transition."""


class PipelineRunRef(APIModel):
    """Where the PipelineRun executing this workflow lives."""

    name: str
    """Name of the PipelineRun (the lock: wfe-<hash of the target>)."""
    namespace: str
    """Execution namespace of the PipelineRun."""


class PipelineRunStatusSummary(APIModel):
    """The PipelineRun's Succeeded condition and task progress, mirrored from Tekton."""

    status: ConditionStatus
    """Status of Tekton's Succeeded condition."""
    reason: str | None = None
    """Tekton's reason (Running, Succeeded, PipelineRunTimeout, ...)."""
    message: str | None = None
    """Tekton's message."""
    completed_tasks: int | None = Field(default=None, ge=0)
    """Tasks finished so far."""
    total_tasks: int | None = Field(default=None, ge=0)
    """Tasks started or finished so far (Tekton's childReferences)."""


class FailureDetails(APIModel):
    """Structured, LLM-readable account of why an execution failed."""

    failed_task_index: int | None = Field(default=None, ge=0)
    """Position of the failed task in the PipelineRun's childReferences."""
    failed_task_name: str | None = None
    """Pipeline task name of the failed task."""
    failed_step_name: str | None = None
    """First step of the failed TaskRun that exited non-zero."""
    exit_code: int | None = Field(default=None, json_schema_extra={"format": "int32"})
    """Exit code of that step."""
    reason: FailureReason
    """Classified failure reason."""
    message: str
    """Error message from Tekton or the controller."""
    failed_at: Time | None = None
    """When the failure was observed."""
    execution_time_before_failure: str | None = None
    """How long the execution ran before failing (Go duration)."""
    was_execution_failure: bool = False
    """True once any task ran: the cluster state may have been partially changed."""
    requires_manual_review: bool = False
    """True when a human should check the target before retrying (same as wasExecutionFailure)."""
    natural_language_summary: str | None = None
    """A few plain sentences describing the failure and a recommendation."""


class ConflictingWorkflow(APIModel):
    """The execution already running against the same target."""

    name: str
    """Name of the running WorkflowExecution."""
    namespace: str
    """Namespace of the running WorkflowExecution."""
    workflow_id: str | None = None
    """Workflow it runs."""
    started_at: Time | None = None
    """When it started."""
    target_resource: str | None = None
    """The contended target."""


class RecentRemediation(APIModel):
    """The execution that ran the same workflow against the same target within the cooldown."""

    name: str
    """Name of the recent WorkflowExecution."""
    namespace: str
    """Namespace of the recent WorkflowExecution."""
    workflow_id: str | None = None
    """Workflow it ran."""
    completed_at: Time | None = None
    """When it finished."""
    outcome: Outcome | None = None
    """How it ended."""
    target_resource: str | None = None
    """The target it remediated."""
    cooldown_remaining: str | None = None
    """Time left until the same workflow may run on this target again (Go duration)."""


class SkipDetails(APIModel):
    """Why an execution was skipped instead of started."""

    reason: SkipReason
    """ResourceBusy or RecentlyRemediated."""
    message: str
    """One human sentence explaining the skip."""
    skipped_at: Time
    """When the skip was decided."""
    conflicting_workflow: ConflictingWorkflow | None = None
    """Set for ResourceBusy."""
    recent_remediation: RecentRemediation | None = None
    """Set for RecentlyRemediated."""


class WorkflowExecutionStatus(APIModel):
    """Observed state of a WorkflowExecution, written only by the controller."""

    phase: Phase | None = None
    """Pending, Running, Completed, Failed or Skipped (empty means Pending)."""
    observed_generation: int | None = Field(
        default=None, ge=0, json_schema_extra={"format": "int64"}
    )
    """The .metadata.generation last acted on."""
    start_time: Time | None = None
    """When the PipelineRun was created."""
    completion_time: Time | None = None
    """When the execution reached a terminal phase."""
    duration: str | None = None
    """Run time as a Go duration rounded to seconds (3m30s)."""
    outcome: Outcome | None = None
    """Success or Failure once terminal; absent for Skipped."""
    message: str | None = None
    """One human sentence about the current state."""
    pipeline_run_ref: PipelineRunRef | None = None
    """The PipelineRun executing the workflow."""
    pipeline_run_status: PipelineRunStatusSummary | None = None
    """The PipelineRun's status as last seen."""
    failure_reason: FailureReason | None = None
    """Deprecated: copy of failureDetails.reason, kept for older consumers."""
    failure_details: FailureDetails | None = None
    """Why the execution failed."""
    skip_details: SkipDetails | None = None
    """Why the execution was skipped."""
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    """Standard conditions: ResourceLockAcquired, PipelineRunCreated, ExecutionRunning,
    ExecutionComplete, AuditRecorded, Ready."""


# ------------------------------------------------------------------------------------ resource


class WorkflowExecution(APIModel):
    """Runs one remediation workflow, packaged as a Tekton bundle, against one target resource."""

    api_version: str = API_VERSION
    """APIVersion defines the versioned schema of this representation of an object."""
    kind: str = KIND
    """Kind is a string value representing the REST resource this object represents."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Standard object metadata."""
    spec: WorkflowExecutionSpec
    """What to run, against what."""
    status: WorkflowExecutionStatus | None = None
    """Observed state, written by the controller."""

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> Self:
        """Validate an object as returned by the API server (raises pydantic.ValidationError)."""
        return cls.model_validate(obj)
