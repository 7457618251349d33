"""Names from Tekton Pipelines' `tekton.dev/v1` API that the controller writes or reads."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

GROUP: Final = "tekton.dev"
VERSION: Final = "v1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

PIPELINE_RUN_KIND: Final = "PipelineRun"
PIPELINE_RUN_PLURAL: Final = "pipelineruns"
TASK_RUN_KIND: Final = "TaskRun"
TASK_RUN_PLURAL: Final = "taskruns"

# Tekton reports every run's outcome in one condition of this type.
SUCCEEDED_CONDITION: Final = "Succeeded"

# The bundles resolver pulls a Pipeline out of an OCI image.
BUNDLES_RESOLVER: Final = "bundles"
BUNDLE_PARAM: Final = "bundle"
BUNDLE_NAME_PARAM: Final = "name"
BUNDLE_KIND_PARAM: Final = "kind"

# Labels Tekton puts on the TaskRuns of a PipelineRun.
LABEL_PIPELINE_RUN: Final = "tekton.dev/pipelineRun"
LABEL_PIPELINE_TASK: Final = "tekton.dev/pipelineTask"

# Value of spec.status that asks Tekton to cancel a PipelineRun.
SPEC_STATUS_CANCELLED: Final = "Cancelled"


class PipelineRunReason(StrEnum):
    """Reasons of a PipelineRun's Succeeded condition that the controller tells apart."""

    STARTED = "Started"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    PENDING = "PipelineRunPending"
    TIMEOUT = "PipelineRunTimeout"
    RESOLVING_PIPELINE_REF = "ResolvingPipelineRef"
    COULDNT_GET_PIPELINE = "CouldntGetPipeline"
    COULDNT_GET_TASK = "CouldntGetTask"
    PARAMETER_MISSING = "ParameterMissing"
    PARAMETER_TYPE_MISMATCH = "ParameterTypeMismatch"
    INVALID_PARAM_VALUE = "InvalidParamValue"
    VALIDATION_FAILED = "PipelineValidationFailed"
    INVALID_GRAPH = "PipelineInvalidGraph"
    CREATE_RUN_FAILED = "CreateRunFailed"


class TaskRunReason(StrEnum):
    """Reasons of a TaskRun's Succeeded condition (including pod-level ones) the controller uses."""

    STARTED = "Started"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "TaskRunCancelled"
    TIMEOUT = "TaskRunTimeout"
    IMAGE_PULL_FAILED = "TaskRunImagePullFailed"
    RESOLUTION_FAILED = "TaskRunResolutionFailed"
    VALIDATION_FAILED = "TaskRunValidationFailed"
    TASK_VALIDATION_FAILED = "TaskValidationFailed"
    EXCEEDED_RESOURCE_QUOTA = "ExceededResourceQuota"
    EXCEEDED_NODE_RESOURCES = "ExceededNodeResources"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    POD_CREATION_FAILED = "PodCreationFailed"
