"""The status writer copies only the status: the object the reconcile holds never changes."""

from __future__ import annotations

import copy
from typing import Any

from wfe.controller.status import StatusWriter


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def update_status(self, _resource: Any, obj: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(copy.deepcopy(obj))
        return obj


def wfe() -> dict[str, Any]:
    return {
        "metadata": {"name": "a", "namespace": "ns", "resourceVersion": "7"},
        "spec": {"targetResource": "ns/Deployment/x"},
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]},
    }


def test_a_write_sends_the_mutated_status_and_leaves_the_decided_object_alone() -> None:
    client = RecordingClient()
    original = wfe()

    def mutate(obj: dict[str, Any]) -> None:
        obj["status"]["phase"] = "Running"
        obj["status"]["conditions"][0]["status"] = "True"

    StatusWriter(client).write(original, mutate)  # type: ignore[arg-type]
    assert original == wfe()
    assert client.sent[0]["status"]["phase"] == "Running"
    assert client.sent[0]["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert client.sent[0]["metadata"] == original["metadata"]


def test_an_unchanged_status_is_not_written() -> None:
    client = RecordingClient()
    assert StatusWriter(client).write(wfe(), lambda obj: None) == wfe()  # type: ignore[arg-type]
    assert client.sent == []


def test_an_object_without_status_gets_one() -> None:
    client = RecordingClient()
    bare = {k: v for k, v in wfe().items() if k != "status"}
    StatusWriter(client).write(bare, lambda obj: obj["status"].update(phase="Running"))  # type: ignore[arg-type]
    assert client.sent[0]["status"] == {"phase": "Running"}
    assert "status" not in bare
