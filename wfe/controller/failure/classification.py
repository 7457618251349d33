"""Classify a failed PipelineRun into one FailureReason: the single table of Tekton reason codes,
then message keywords, then exit codes (SPEC §5); and decide whether the workflow had started."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from api.workflowexecution.v1alpha1.constants import FailureReason

_R = FailureReason

# Every reason code Tekton (PipelineRun and TaskRun Succeeded condition, step container states)
# or the kubelet can report that names the cause on its own. Generic codes ("Failed",
# "StepFailed", "Error", "PodCreationFailed") are deliberately absent: they say nothing the
# message or the exit code does not say better.
TEKTON_REASON_TABLE: Final[Mapping[str, FailureReason]] = MappingProxyType(
    {
        # Timeouts.
        "PipelineRunTimeout": _R.DEADLINE_EXCEEDED,
        "TaskRunTimeout": _R.DEADLINE_EXCEEDED,
        "PipelineRunCouldntTimeOut": _R.DEADLINE_EXCEEDED,
        "DeadlineExceeded": _R.DEADLINE_EXCEEDED,
        # The workflow could not be resolved or validated; nothing ran.
        "CouldntGetPipeline": _R.CONFIGURATION_ERROR,
        "CouldntGetTask": _R.CONFIGURATION_ERROR,
        "ParameterMissing": _R.CONFIGURATION_ERROR,
        "ParameterTypeMismatch": _R.CONFIGURATION_ERROR,
        "InvalidParamValue": _R.CONFIGURATION_ERROR,
        "ObjectParameterMissKeys": _R.CONFIGURATION_ERROR,
        "ParamArrayIndexingInvalid": _R.CONFIGURATION_ERROR,
        "PipelineValidationFailed": _R.CONFIGURATION_ERROR,
        "PipelineInvalidGraph": _R.CONFIGURATION_ERROR,
        "InvalidWorkspaceBindings": _R.CONFIGURATION_ERROR,
        "InvalidTaskRunSpecs": _R.CONFIGURATION_ERROR,
        "InvalidMatrixParameterTypes": _R.CONFIGURATION_ERROR,
        "InvalidTaskResultReference": _R.CONFIGURATION_ERROR,
        "InvalidPipelineResultReference": _R.CONFIGURATION_ERROR,
        "RequiredWorkspaceMarkedOptional": _R.CONFIGURATION_ERROR,
        "ResourceVerificationFailed": _R.CONFIGURATION_ERROR,
        "CELEvaluationFailed": _R.CONFIGURATION_ERROR,
        "TaskRunResolutionFailed": _R.CONFIGURATION_ERROR,
        "TaskRunValidationFailed": _R.CONFIGURATION_ERROR,
        "TaskValidationFailed": _R.CONFIGURATION_ERROR,
        "PodAdmissionFailed": _R.CONFIGURATION_ERROR,
        "CreateContainerConfigError": _R.CONFIGURATION_ERROR,
        # The step image could not be pulled (Tekton's verdict, then the kubelet's waiting reasons).
        "TaskRunImagePullFailed": _R.IMAGE_PULL_BACK_OFF,
        "PullImageFailed": _R.IMAGE_PULL_BACK_OFF,
        "ImagePullBackOff": _R.IMAGE_PULL_BACK_OFF,
        "ErrImagePull": _R.IMAGE_PULL_BACK_OFF,
        "ErrImageNeverPull": _R.IMAGE_PULL_BACK_OFF,
        "InvalidImageName": _R.IMAGE_PULL_BACK_OFF,
        "ImageInspectError": _R.IMAGE_PULL_BACK_OFF,
        "RegistryUnavailable": _R.IMAGE_PULL_BACK_OFF,
        # Quota or node capacity.
        "ExceededResourceQuota": _R.RESOURCE_EXHAUSTED,
        "ExceededNodeResources": _R.RESOURCE_EXHAUSTED,
        # Someone stopped the run.
        "Cancelled": _R.CANCELLED,
        "TaskRunCancelled": _R.CANCELLED,
        "PipelineRunCancelled": _R.CANCELLED,
        "PipelineRunCouldntCancel": _R.CANCELLED,
        "CancelledRunFinally": _R.CANCELLED,
        "StoppedRunFinally": _R.CANCELLED,
        "CancelledRunningFinally": _R.CANCELLED,
        "StoppedRunningFinally": _R.CANCELLED,
        # Out of memory (kubelet's terminated reason; Tekton's newer TaskRun reasons).
        "OOMKilled": _R.OOM_KILLED,
        "StepOOM": _R.OOM_KILLED,
        "SidecarOOM": _R.OOM_KILLED,
        "InitContainerOOM": _R.OOM_KILLED,
    }
)


@dataclass(frozen=True)
class KeywordRule:
    """A message containing any of ``keywords`` (and, when ``only_with`` is set, one of those
    too) stands for ``reason``. Case-insensitive."""

    keywords: tuple[str, ...]
    reason: FailureReason
    only_with: tuple[str, ...] = ()

    def matches(self, lowered: str) -> bool:
        return any(k in lowered for k in self.keywords) and (
            not self.only_with or any(c in lowered for c in self.only_with)
        )


# Consulted in order, only when no reason code matched; the first rule any message matches wins.
# The order settles messages that match several: the API server words a quota rejection as
# "... is forbidden: exceeded quota", and an image pull error can say "403 Forbidden" or
# "context deadline exceeded", so quota and image pull come before Forbidden and DeadlineExceeded.
# "invalid" and "not found" are too common to mean anything on their own: they classify only a
# resolution message (the bundle or the pipeline in it could not be resolved).
MESSAGE_KEYWORD_TABLE: Final[tuple[KeywordRule, ...]] = (
    KeywordRule(
        ("exceeded quota", "insufficient cpu", "insufficient memory"), _R.RESOURCE_EXHAUSTED
    ),
    KeywordRule(
        ("imagepullbackoff", "errimagepull", "pull access denied", "manifest unknown"),
        _R.IMAGE_PULL_BACK_OFF,
    ),
    KeywordRule(("oomkilled", "out of memory"), _R.OOM_KILLED),
    KeywordRule(("forbidden", "permission denied"), _R.FORBIDDEN),
    KeywordRule(("deadline exceeded", "timed out"), _R.DEADLINE_EXCEEDED),
    # Tekton's pod builder refusing the workflow's own TaskSpec (reason PodCreationFailed)
    KeywordRule(("non-existent variable", "invalid taskspec"), _R.CONFIGURATION_ERROR),
    KeywordRule(
        ("invalid", "not found"),
        _R.CONFIGURATION_ERROR,
        only_with=("resolv", "resolution", "remote resource", "bundle"),
    ),
)


@dataclass(frozen=True)
class FailureEvidence:
    """What a failed run tells us, most authoritative first.

    ``reason_codes``: the PipelineRun's Succeeded reason, then the failed TaskRun's, then the
    terminated and waiting reasons of that TaskRun's steps. ``messages``: condition messages.
    """

    reason_codes: Sequence[str] = ()
    messages: Sequence[str] = ()
    nonzero_exit_code: bool = False


def reason_for_code(code: str) -> FailureReason | None:
    """The FailureReason a single Tekton/kubelet reason code stands for, if it is specific."""
    return TEKTON_REASON_TABLE.get(code)


def classify(evidence: FailureEvidence) -> FailureReason:
    """Reason codes first, then message keywords, then a non-zero exit (TaskFailed), else Unknown."""
    for code in evidence.reason_codes:
        reason = reason_for_code(code)
        if reason is not None:
            return reason
    lowered = [message.lower() for message in evidence.messages if message]
    for rule in MESSAGE_KEYWORD_TABLE:
        if any(rule.matches(message) for message in lowered):
            return rule.reason
    if evidence.nonzero_exit_code:
        return _R.TASK_FAILED
    return _R.UNKNOWN


def was_execution_failure(
    *, any_step_started: bool, task_runs_created: int, task_runs_inspected: int
) -> bool:
    """True once any step of the workflow ran, so the cluster may have been changed.

    Resolution, validation, image-pull and RBAC failures stop a run before its first step, and
    then the answer is False. When some TaskRuns could not be inspected the answer is True: a
    run that might have changed the cluster must be reviewed by a human.
    """
    if any_step_started:
        return True
    return task_runs_inspected < task_runs_created
