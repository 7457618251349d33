"""Seeded copies of the controller's own objects: renamed everywhere, timestamps moved, creatable."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bench.scale.templates import RUNNING, Template, copy_of, shift_timestamps, template_target
from wfe.controller.naming import pipeline_run_name

TEMPLATE_TARGET = template_target(RUNNING)
LOCK = pipeline_run_name(TEMPLATE_TARGET)
UID = "0b8a6a35-3f7e-4c7a-9d0e-6b7f2b1e9c11"


def running_template() -> Template:
    wfe: dict[str, Any] = {
        "apiVersion": "workflowexecution.kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "name": "tw-running",
            "namespace": "scale-templates",
            "uid": UID,
            "resourceVersion": "42",
            "creationTimestamp": "2026-11-30T14:00:00Z",
            "generation": 1,
            "finalizers": ["workflowexecution.kubernaut.ai/finalizer"],
        },
        "spec": {
            "targetResource": TEMPLATE_TARGET,
            "parameters": {"TARGET_DEPLOYMENT": "td-running"},
            "remediationRequestRef": {"name": "rr-tw-running", "namespace": "scale-templates"},
        },
        "status": {
            "phase": "Running",
            "startTime": "2026-11-30T14:00:01Z",
            "pipelineRunRef": {"name": LOCK, "namespace": "kubernaut-workflows"},
            "conditions": [{"type": "Running", "lastTransitionTime": "2026-11-30T14:00:01.5Z"}],
            "message": f"PipelineRun kubernaut-workflows/{LOCK} runs {TEMPLATE_TARGET}",
        },
    }
    run: dict[str, Any] = {
        "metadata": {
            "name": LOCK,
            "namespace": "kubernaut-workflows",
            "uid": "ffffffff-0000-4000-8000-000000000001",
            "labels": {
                "kubernaut.ai/workflow-execution": "tw-running",
                "kubernaut.ai/source-namespace": "scale-templates",
            },
            "annotations": {
                "kubernaut.ai/target-resource": TEMPLATE_TARGET,
                "kubernaut.ai/workflow-execution-uid": UID,
            },
        },
        "spec": {"params": [{"name": "TARGET_DEPLOYMENT", "value": "td-running"}]},
        "status": {"startTime": "2026-11-30T14:00:01Z"},
    }
    return Template(RUNNING, wfe, run)


def test_a_copy_carries_its_own_name_target_lock_and_namespace_everywhere() -> None:
    copy = copy_of(running_template(), "scale", "seed-7", "apps/deployment/app-3", timedelta(0))
    text = json.dumps([copy.body, copy.status, copy.pipeline_run, copy.pipeline_run_status])
    for stale in ("tw-running", "td-running", TEMPLATE_TARGET, LOCK, UID, "scale-templates"):
        assert stale not in text, stale
    assert copy.body["metadata"] == {
        "name": "seed-7",
        "namespace": "scale",
        "finalizers": ["workflowexecution.kubernaut.ai/finalizer"],
    }
    assert copy.body["spec"]["parameters"] == {"TARGET_DEPLOYMENT": "app-3"}
    assert copy.body["spec"]["remediationRequestRef"] == {"name": "rr-seed-7", "namespace": "scale"}
    assert "status" not in copy.body
    assert copy.status["pipelineRunRef"]["name"] == pipeline_run_name("apps/deployment/app-3")


def test_the_pipeline_run_names_its_owner_by_the_uid_the_api_server_gave_the_copy() -> None:
    copy = copy_of(running_template(), "scale", "seed-7", "apps/deployment/app-3", timedelta(0))
    run = copy.owned_by("11111111-2222-4333-8444-555555555555")
    assert run["metadata"]["name"] == pipeline_run_name("apps/deployment/app-3")
    assert "uid" not in run["metadata"] and "status" not in run
    assert run["metadata"]["labels"] == {
        "kubernaut.ai/workflow-execution": "seed-7",
        "kubernaut.ai/source-namespace": "scale",
    }
    assert (
        run["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"]
        == "11111111-2222-4333-8444-555555555555"
    )
    assert copy.pipeline_run_status == {"startTime": "2026-11-30T14:00:01Z"}


def test_every_timestamp_of_the_status_moves_by_the_shift_fractions_kept() -> None:
    copy = copy_of(
        running_template(), "scale", "seed-7", "apps/deployment/app-3", timedelta(days=-2)
    )
    assert copy.status["startTime"] == "2026-11-28T14:00:01Z"
    assert copy.status["conditions"][0]["lastTransitionTime"] == "2026-11-28T14:00:01.5Z"


def test_shifting_crosses_month_boundaries_and_leaves_other_text_alone() -> None:
    moved = shift_timestamps("at 2026-12-01T00:00:30Z, not 2026-12-01", timedelta(minutes=-1))
    assert moved == "at 2026-11-30T23:59:30Z, not 2026-12-01"
