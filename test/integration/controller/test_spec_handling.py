"""Parameters reach Tekton unchanged, and a spec the schema lets through but the controller cannot
run fails at once as a configuration error, before anything is created."""

from __future__ import annotations

from typing import Any

import pytest
from support.wait import wait_for

from wfe.controller.conditions import get_condition

from .harness import Cluster, StartController, metric

UNICODE = "Ünïcødé ✓ 日本語 — «quotes» \"double\" 'single' \\ back\\slash 🚀\nsecond line"
TEN_KB = "".join(f"{i:05d}ä" for i in range(10 * 1024 // 6 + 1))[: 10 * 1024]


def test_a_workflow_without_parameters_passes_none(
    cluster: Cluster, start: StartController
) -> None:
    start()
    cluster.create_wfe("bare")
    cluster.wait_for_phase("bare", "Running")

    pipeline_run = cluster.pipeline_run_for()

    assert pipeline_run is not None
    assert "params" not in pipeline_run["spec"]


def test_unicode_and_ten_kilobyte_parameter_values_reach_tekton_unchanged(
    cluster: Cluster, start: StartController
) -> None:
    start()
    cluster.create_wfe("rich", parameters={"MESSAGE": UNICODE, "MANIFEST": TEN_KB, "EMPTY": ""})
    cluster.wait_for_phase("rich", "Running")

    pipeline_run = cluster.pipeline_run_for()

    assert pipeline_run is not None
    assert len(TEN_KB) == 10 * 1024
    assert pipeline_run["spec"]["params"] == [
        {"name": "EMPTY", "value": ""},
        {"name": "MANIFEST", "value": TEN_KB},
        {"name": "MESSAGE", "value": UNICODE},
    ]


def invalid_specs() -> float:
    return metric("workflowexecution_errors_total", category="validation", reason="InvalidSpec")


# A timeout outside (0, 24h] is refused by the CRD itself now (test_crd_validation); the
# controller's own check for objects an older CRD admitted is a unit test (test_spec_validation).
INVALID = {
    "name-longer-than-a-label": ("a" * 64, {}, "longer than 63 characters"),
    "image-pinned-to-another-digest": (
        "two-digests",
        {
            "image": f"quay.io/kubernaut/workflows/restart@sha256:{'cd' * 32}",
            "digest": f"sha256:{'ab' * 32}",
        },
        "is pinned to sha256:cd",
    ),
}


@pytest.mark.parametrize(("name", "spec", "explanation"), INVALID.values(), ids=INVALID.keys())
def test_a_spec_the_controller_cannot_run_fails_as_a_configuration_error_without_a_pipeline_run(
    name: str,
    spec: dict[str, Any],
    explanation: str,
    cluster: Cluster,
    start: StartController,
) -> None:
    invalid_before = invalid_specs()
    start()
    cluster.create_wfe(name, **spec)

    status = cluster.wait_for_phase(name, "Failed")["status"]

    details = status["failureDetails"]
    assert details["reason"] == "ConfigurationError"
    assert details["wasExecutionFailure"] is False
    assert details["requiresManualReview"] is False
    assert explanation in details["message"]
    assert "before any step ran" in details["naturalLanguageSummary"]
    assert status["outcome"] == "Failure"
    assert "startTime" not in status and "pipelineRunRef" not in status
    created = get_condition(status["conditions"], "PipelineRunCreated")
    assert created is not None
    assert (created["status"], created["reason"]) == ("False", "InvalidSpec")
    event = cluster.wait_for_event(name, "InvalidSpec")
    assert event["type"] == "Warning" and explanation in event["message"]
    assert cluster.pipeline_runs() == []
    wait_for(lambda: invalid_specs() == invalid_before + 1, 2, message="the invalid spec counted")
    assert invalid_specs() == invalid_before + 1
