"""The one classification table (SPEC §5): Tekton reason codes, then keywords, then exit codes."""

from __future__ import annotations

import pytest

from api.workflowexecution.v1alpha1.constants import FailureReason as R
from wfe.controller.failure.classification import (
    MESSAGE_KEYWORD_TABLE,
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
        # SPEC §5 keywords, in messages as the kubelet, the scheduler, registries and Tekton's
        # resolvers word them
        ("0/3 nodes are available: 3 Insufficient cpu.", R.RESOURCE_EXHAUSTED),
        ("0/1 nodes are available: 1 Insufficient memory.", R.RESOURCE_EXHAUSTED),
        (
            'Back-off pulling image "registry.example/kubectl:nope": ImagePullBackOff',
            R.IMAGE_PULL_BACK_OFF,
        ),
        ("failed to pull image: ErrImagePull: rpc error: code = NotFound", R.IMAGE_PULL_BACK_OFF),
        (
            "pull access denied for kubectl, repository does not exist or may require "
            "'docker login': denied: requested access to the resource is denied",
            R.IMAGE_PULL_BACK_OFF,
        ),
        (
            "GET https://registry.example/v2/wf/manifests/v9: MANIFEST_UNKNOWN: manifest unknown",
            R.IMAGE_PULL_BACK_OFF,
        ),
        (
            "ErrImagePull: unexpected status 403 Forbidden: context deadline exceeded",
            R.IMAGE_PULL_BACK_OFF,
        ),
        ("container apply was killed: out of memory", R.OOM_KILLED),
        (
            "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
            R.DEADLINE_EXCEEDED,
        ),
        ("waiting for rollout: timed out waiting for the condition", R.DEADLINE_EXCEEDED),
        (
            'error requesting remote resource: resolver "bundles" failed: invalid bundle reference',
            R.CONFIGURATION_ERROR,
        ),
        (
            "resolution failed: pipeline workflow not found in image "
            "registry.example/wf/restart:v1",
            R.CONFIGURATION_ERROR,
        ),
        # Tekton v1.12's PodCreationFailed for a task using an undeclared parameter (e2e tier)
        (
            'failed to create task run pod "wfe-1-remediate": non-existent variable in '
            '"$(params.REPLICAS)": steps[0].args[0]. Maybe invalid TaskSpec',
            R.CONFIGURATION_ERROR,
        ),
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


@pytest.mark.parametrize(
    ("keyword", "context", "expected"),
    [
        (keyword, rule.only_with[0] if rule.only_with else "", rule.reason)
        for rule in MESSAGE_KEYWORD_TABLE
        for keyword in rule.keywords
    ],
)
def test_every_keyword_of_the_table_classifies_in_any_case(
    keyword: str, context: str, expected: R
) -> None:
    message = f"step said: {keyword.upper()} ({context})"
    assert classify(FailureEvidence(messages=[message], nonzero_exit_code=True)) == expected


@pytest.mark.parametrize(
    "message",
    ["deployment/app not found after 3 retries", "invalid argument --replicas=-1"],
)
def test_invalid_or_not_found_outside_a_resolution_message_classifies_nothing(
    message: str,
) -> None:
    # a step's own "not found" is the workflow's business: its exit code says TaskFailed
    evidence = FailureEvidence(messages=[message], nonzero_exit_code=True)
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
