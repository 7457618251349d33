"""The one classification table (SPEC §5): Tekton reason codes, then keywords, then exit codes."""

from __future__ import annotations

import pytest

from api.workflowexecution.v1alpha1.constants import FailureReason as R
from wfe.controller.failure.classification import (
    TEKTON_REASON_TABLE,
    FailureEvidence,
    classify,
    was_execution_failure,
)

# Written out by hand, one row per Tekton/kubelet reason string, so a typo in the table fails.
REASON_CODE_ROWS: list[tuple[str, R]] = [
    ("PipelineRunTimeout", R.DEADLINE_EXCEEDED),
    ("TaskRunTimeout", R.DEADLINE_EXCEEDED),
    ("PipelineRunCouldntTimeOut", R.DEADLINE_EXCEEDED),
    ("DeadlineExceeded", R.DEADLINE_EXCEEDED),
    ("CouldntGetPipeline", R.CONFIGURATION_ERROR),
    ("CouldntGetTask", R.CONFIGURATION_ERROR),
    ("ParameterMissing", R.CONFIGURATION_ERROR),
    ("ParameterTypeMismatch", R.CONFIGURATION_ERROR),
    ("InvalidParamValue", R.CONFIGURATION_ERROR),
    ("ObjectParameterMissKeys", R.CONFIGURATION_ERROR),
    ("ParamArrayIndexingInvalid", R.CONFIGURATION_ERROR),
    ("PipelineValidationFailed", R.CONFIGURATION_ERROR),
    ("PipelineInvalidGraph", R.CONFIGURATION_ERROR),
    ("InvalidWorkspaceBindings", R.CONFIGURATION_ERROR),
    ("InvalidTaskRunSpecs", R.CONFIGURATION_ERROR),
    ("InvalidMatrixParameterTypes", R.CONFIGURATION_ERROR),
    ("InvalidTaskResultReference", R.CONFIGURATION_ERROR),
    ("InvalidPipelineResultReference", R.CONFIGURATION_ERROR),
    ("RequiredWorkspaceMarkedOptional", R.CONFIGURATION_ERROR),
    ("ResourceVerificationFailed", R.CONFIGURATION_ERROR),
    ("CELEvaluationFailed", R.CONFIGURATION_ERROR),
    ("TaskRunResolutionFailed", R.CONFIGURATION_ERROR),
    ("TaskRunValidationFailed", R.CONFIGURATION_ERROR),
    ("TaskValidationFailed", R.CONFIGURATION_ERROR),
    ("PodAdmissionFailed", R.CONFIGURATION_ERROR),
    ("CreateContainerConfigError", R.CONFIGURATION_ERROR),
    ("TaskRunImagePullFailed", R.IMAGE_PULL_BACK_OFF),
    ("PullImageFailed", R.IMAGE_PULL_BACK_OFF),
    ("ImagePullBackOff", R.IMAGE_PULL_BACK_OFF),
    ("ErrImagePull", R.IMAGE_PULL_BACK_OFF),
    ("ErrImageNeverPull", R.IMAGE_PULL_BACK_OFF),
    ("InvalidImageName", R.IMAGE_PULL_BACK_OFF),
    ("ImageInspectError", R.IMAGE_PULL_BACK_OFF),
    ("RegistryUnavailable", R.IMAGE_PULL_BACK_OFF),
    ("ExceededResourceQuota", R.RESOURCE_EXHAUSTED),
    ("ExceededNodeResources", R.RESOURCE_EXHAUSTED),
    ("Cancelled", R.CANCELLED),
    ("TaskRunCancelled", R.CANCELLED),
    ("PipelineRunCancelled", R.CANCELLED),
    ("PipelineRunCouldntCancel", R.CANCELLED),
    ("CancelledRunFinally", R.CANCELLED),
    ("StoppedRunFinally", R.CANCELLED),
    ("CancelledRunningFinally", R.CANCELLED),
    ("StoppedRunningFinally", R.CANCELLED),
    ("OOMKilled", R.OOM_KILLED),
    ("StepOOM", R.OOM_KILLED),
    ("SidecarOOM", R.OOM_KILLED),
    ("InitContainerOOM", R.OOM_KILLED),
]


@pytest.mark.parametrize(("code", "expected"), REASON_CODE_ROWS)
def test_reason_code_classifies(code: str, expected: R) -> None:
    assert classify(FailureEvidence(reason_codes=[code])) == expected


def test_every_table_row_is_covered_by_the_table_test() -> None:
    assert dict(REASON_CODE_ROWS) == dict(TEKTON_REASON_TABLE)


@pytest.mark.parametrize("generic", ["Failed", "StepFailed", "Error", "PodCreationFailed", ""])
def test_generic_codes_defer_to_later_evidence(generic: str) -> None:
    evidence = FailureEvidence(reason_codes=[generic, "OOMKilled"])
    assert classify(evidence) == R.OOM_KILLED


def test_first_specific_code_wins() -> None:
    # A PipelineRun timeout cancels its TaskRuns: the timeout, not the cancellation, is the cause.
    evidence = FailureEvidence(reason_codes=["PipelineRunTimeout", "TaskRunCancelled"])
    assert classify(evidence) == R.DEADLINE_EXCEEDED


def test_reason_code_beats_keywords_and_exit_code() -> None:
    evidence = FailureEvidence(
        reason_codes=["CouldntGetPipeline"],
        messages=["error requesting remote resource: forbidden"],
        nonzero_exit_code=True,
    )
    assert classify(evidence) == R.CONFIGURATION_ERROR


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'pods "wfe-1-apply-pod" is forbidden: User "system:serviceaccount:x:y" cannot create'
            ' resource "pods"',
            R.FORBIDDEN,
        ),
        ("open /var/run/secret: Permission denied", R.FORBIDDEN),
        ("deployments.apps is FORBIDDEN", R.FORBIDDEN),
        (
            'pods "p" is forbidden: exceeded quota: compute, requested: cpu=2, limited: cpu=1',
            R.RESOURCE_EXHAUSTED,
        ),
        ("OOMKilled", R.OOM_KILLED),
    ],
)
def test_message_keywords_classify_when_no_code_matches(message: str, expected: R) -> None:
    evidence = FailureEvidence(reason_codes=["Failed"], messages=["", message])
    assert classify(evidence) == expected


def test_keyword_beats_exit_code() -> None:
    evidence = FailureEvidence(messages=["permission denied"], nonzero_exit_code=True)
    assert classify(evidence) == R.FORBIDDEN


def test_nonzero_exit_without_other_evidence_is_task_failed() -> None:
    evidence = FailureEvidence(
        reason_codes=["Failed", "Failed", "Error"],
        messages=['"step-apply" exited with code 1'],
        nonzero_exit_code=True,
    )
    assert classify(evidence) == R.TASK_FAILED


def test_nothing_recognisable_is_unknown() -> None:
    assert classify(FailureEvidence(reason_codes=["Failed"], messages=["boom"])) == R.UNKNOWN
    assert classify(FailureEvidence()) == R.UNKNOWN


@pytest.mark.parametrize(
    ("started", "created", "inspected", "expected"),
    [
        (True, 1, 1, True),  # a step ran: the cluster may have changed
        (False, 0, 0, False),  # resolution/validation failure: no TaskRun at all
        (False, 2, 2, False),  # image pull / config error before the first step
        (False, 2, 1, True),  # a TaskRun we could not see may have run: be conservative
    ],
)
def test_was_execution_failure(started: bool, created: int, inspected: int, expected: bool) -> None:
    assert (
        was_execution_failure(
            any_step_started=started, task_runs_created=created, task_runs_inspected=inspected
        )
        is expected
    )
