"""Event handlers: which reconcile requests each watch event produces."""

from __future__ import annotations

from typing import Any

from wfe.runtime.handler import EnqueueRequestForObject, EnqueueRequestsFromMapFunc
from wfe.runtime.reconcile import Request


def obj(name: str, namespace: str | None = "default", **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Thing", "metadata": metadata}


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[Request] = []

    def add(self, item: Request) -> None:
        self.added.append(item)


def test_enqueue_for_object_requests_the_object_itself_on_every_event() -> None:
    handler = EnqueueRequestForObject()
    queue = RecordingQueue()

    handler.on_add(obj("a"), queue)
    handler.on_update(obj("b"), obj("b"), queue)
    handler.on_delete(obj("c", namespace="other"), queue)

    assert queue.added == [
        Request("default", "a"),
        Request("default", "b"),
        Request("other", "c"),
    ]


def test_enqueue_for_a_cluster_scoped_object_has_an_empty_namespace() -> None:
    queue = RecordingQueue()

    EnqueueRequestForObject().on_add(obj("node-1", namespace=None), queue)

    assert queue.added == [Request("", "node-1")]


def owner_of(thing: dict[str, Any]) -> list[Request]:
    owner = thing["metadata"]["labels"].get("owner")
    return [Request("owners", owner)] if owner else []


def test_map_func_requests_what_the_function_returns() -> None:
    handler = EnqueueRequestsFromMapFunc(owner_of)
    queue = RecordingQueue()

    handler.on_add(obj("a", owner="x"), queue)
    handler.on_add(obj("b"), queue)
    handler.on_delete(obj("c", owner="y"), queue)

    assert queue.added == [Request("owners", "x"), Request("owners", "y")]


def test_map_func_on_update_wakes_the_old_and_the_new_owner_once_each() -> None:
    handler = EnqueueRequestsFromMapFunc(owner_of)
    queue = RecordingQueue()

    handler.on_update(obj("a", owner="x"), obj("a", owner="y"), queue)
    handler.on_update(obj("a", owner="y"), obj("a", owner="y"), queue)

    assert queue.added == [Request("owners", "x"), Request("owners", "y"), Request("owners", "y")]
