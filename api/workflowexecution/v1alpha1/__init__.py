"""The `workflowexecution.kubernaut.ai/v1alpha1` API: models, names and duration helpers."""

from typing import TYPE_CHECKING, Any

from .constants import (
    ANNOTATION_CONTAINER_DIGEST,
    ANNOTATION_TARGET_RESOURCE,
    ANNOTATION_WORKFLOW_EXECUTION_UID,
    API_VERSION,
    CATEGORIES,
    DEFAULT_EXECUTION_ENGINE,
    FINALIZER,
    GROUP,
    KIND,
    LABEL_MANAGED_BY,
    LABEL_SOURCE_NAMESPACE,
    LABEL_WORKFLOW_EXECUTION,
    LABEL_WORKFLOW_ID,
    LIST_KIND,
    MANAGED_BY,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    TARGET_RESOURCE_FIELD,
    VERSION,
    ConditionReason,
    ConditionStatus,
    ConditionType,
    ExecutionEngine,
    FailureReason,
    Outcome,
    Phase,
    SkipReason,
)
from .duration import GO_DURATION_PATTERN, format_go_duration, parse_go_duration
from .validation import SpecProblem, spec_problem

if TYPE_CHECKING:
    from .types import (
        APIModel,
        Condition,
        ConflictingWorkflow,
        ContainerResources,
        ExecutionConfig,
        FailureDetails,
        PipelineRunRef,
        PipelineRunStatusSummary,
        RecentRemediation,
        RemediationRequestRef,
        SkipDetails,
        Time,
        WorkflowExecution,
        WorkflowExecutionSpec,
        WorkflowExecutionStatus,
        WorkflowRef,
    )

__all__ = [
    "ANNOTATION_CONTAINER_DIGEST",
    "ANNOTATION_TARGET_RESOURCE",
    "ANNOTATION_WORKFLOW_EXECUTION_UID",
    "API_VERSION",
    "CATEGORIES",
    "DEFAULT_EXECUTION_ENGINE",
    "FINALIZER",
    "GO_DURATION_PATTERN",
    "GROUP",
    "KIND",
    "LABEL_MANAGED_BY",
    "LABEL_SOURCE_NAMESPACE",
    "LABEL_WORKFLOW_EXECUTION",
    "LABEL_WORKFLOW_ID",
    "LIST_KIND",
    "MANAGED_BY",
    "PLURAL",
    "SHORT_NAMES",
    "SINGULAR",
    "TARGET_RESOURCE_FIELD",
    "VERSION",
    "APIModel",
    "Condition",
    "ConditionReason",
    "ConditionStatus",
    "ConditionType",
    "ConflictingWorkflow",
    "ContainerResources",
    "ExecutionConfig",
    "ExecutionEngine",
    "FailureDetails",
    "FailureReason",
    "Outcome",
    "Phase",
    "PipelineRunRef",
    "PipelineRunStatusSummary",
    "RecentRemediation",
    "RemediationRequestRef",
    "SkipDetails",
    "SkipReason",
    "SpecProblem",
    "Time",
    "WorkflowExecution",
    "WorkflowExecutionSpec",
    "WorkflowExecutionStatus",
    "WorkflowRef",
    "format_go_duration",
    "parse_go_duration",
    "spec_problem",
]

# The pydantic models are loaded on first use (PEP 562): the controller's process never needs them
# (it checks a spec with .validation, against the schema generated from them), and pydantic with
# the models costs ~8 MiB of resident memory and ~0.2 s of start-up. The lazy names are those
# exported but not imported above: the list is written once, in __all__.
_LAZY_MODELS = frozenset(__all__).difference(globals())

if not TYPE_CHECKING:  # for mypy the names are the imports above: a misspelt one stays an error

    def __getattr__(name: str) -> Any:
        if name in _LAZY_MODELS:
            from . import types

            return getattr(types, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY_MODELS})
