"""Events on a real API server: repeats aggregate into one Event whose count grows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import apply_controller_rbac

from wfe.runtime.client import EVENTS, Client, Resource
from wfe.runtime.envtest import ControlPlane
from wfe.runtime.record import EventRecorder

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


@pytest.fixture
def recorder(admin_client: Client) -> Iterator[EventRecorder]:
    recorder = EventRecorder(admin_client, "workflowexecution-controller")
    yield recorder
    recorder.stop(5)


@pytest.fixture
def subject(admin_client: Client, namespace: str) -> dict[str, Any]:
    """Any object can be an event's subject; a ConfigMap needs no CRD."""
    created = admin_client.create(
        CONFIGMAPS, {"metadata": {"name": "subject", "namespace": namespace}}
    )
    return {"apiVersion": "v1", "kind": "ConfigMap", **created}


def events_about(client: Client, namespace: str, name: str) -> list[dict[str, Any]]:
    answer = client.list(EVENTS, namespace, field_selector=f"involvedObject.name={name}")
    return list(answer["items"])


def test_the_same_event_three_times_is_one_event_with_count_three(
    recorder: EventRecorder, admin_client: Client, namespace: str, subject: dict[str, Any]
) -> None:
    for _ in range(3):
        recorder.event(subject, "Warning", "CleanupFailed", "could not delete PipelineRun")
    assert recorder.flush(10)
    (event,) = events_about(admin_client, namespace, "subject")
    assert event["count"] == 3
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning",
        "CleanupFailed",
        "could not delete PipelineRun",
    )
    assert event["source"]["component"] == "workflowexecution-controller"
    assert event["involvedObject"]["uid"] == subject["metadata"]["uid"]
    assert event["involvedObject"]["kind"] == "ConfigMap"
    assert event["firstTimestamp"] <= event["lastTimestamp"]


def test_a_different_message_is_a_separate_event(
    recorder: EventRecorder, admin_client: Client, namespace: str, subject: dict[str, Any]
) -> None:
    recorder.event(subject, "Normal", "PipelineRunCreated", "created pr-1")
    recorder.event(subject, "Normal", "PipelineRunCreated", "created pr-2")
    assert recorder.flush(10)
    messages = sorted(e["message"] for e in events_about(admin_client, namespace, "subject"))
    assert messages == ["created pr-1", "created pr-2"]


def test_an_event_deleted_on_the_server_is_recreated_with_its_count(
    recorder: EventRecorder, admin_client: Client, namespace: str, subject: dict[str, Any]
) -> None:
    recorder.event(subject, "Normal", "WorkflowCompleted", "done")
    assert recorder.flush(10)
    (first,) = events_about(admin_client, namespace, "subject")
    admin_client.delete(EVENTS, first["metadata"]["name"], namespace)
    recorder.event(subject, "Normal", "WorkflowCompleted", "done")
    assert recorder.flush(10)
    (again,) = events_about(admin_client, namespace, "subject")
    assert again["count"] == 2


def test_the_controller_role_suffices_to_record_and_aggregate(
    control_plane: ControlPlane, admin_client: Client, namespace: str, subject: dict[str, Any]
) -> None:
    apply_controller_rbac(admin_client)
    recorder = EventRecorder(control_plane.client(CONTROLLER_USER))
    try:
        for _ in range(2):  # create, then patch
            recorder.event(subject, "Normal", "WorkflowCompleted", "done")
        assert recorder.flush(10)
    finally:
        recorder.stop(5)
    (event,) = events_about(admin_client, namespace, "subject")
    assert event["count"] == 2
