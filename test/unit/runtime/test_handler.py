"""Event handlers: which reconcile requests each watch event produces."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from support.wait import wait_for

from wfe.runtime.handler import EnqueueRequestForObject, EnqueueRequestsFromMapFunc
from wfe.runtime.reconcile import Request
from wfe.runtime.workqueue import DelayingQueue, FakeClock, NoopMetricsProvider


def obj(name: str, namespace: str | None = "default", **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Thing", "metadata": metadata}


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[Request] = []
        self.discarded: list[Request] = []

    def add(self, item: Request) -> None:
        self.added.append(item)

    def discard_waiting(self, item: Request) -> None:
        self.discarded.append(item)


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


# --- a deleted object's pending wake-up ------------------------------------------------------------

TIMEOUT_WAKE_UP_S = 35 * 60.0  # a Running WorkflowExecution's safety net: timeout + grace


def delaying_queue() -> tuple[DelayingQueue[Request], FakeClock]:
    clock = FakeClock(1000.0)
    return DelayingQueue(clock=clock, metrics_provider=NoopMetricsProvider()), clock


def test_a_deleted_object_is_reconciled_now_and_its_pending_wake_up_is_cancelled() -> None:
    queue, clock = delaying_queue()
    queue.add_after(Request("default", "gone"), TIMEOUT_WAKE_UP_S)
    queue.add_after(Request("default", "alive"), TIMEOUT_WAKE_UP_S)

    EnqueueRequestForObject().on_delete(obj("gone"), queue)

    assert queue.get() == (Request("default", "gone"), False)
    queue.done(Request("default", "gone"))
    assert queue.waiting() == 1, "only the object that still exists keeps its wake-up"
    clock.step(TIMEOUT_WAKE_UP_S)
    wait_for(lambda: len(queue) == 1)
    assert queue.get() == (Request("default", "alive"), False)
    queue.shutdown()


def test_a_deleted_secondary_object_keeps_its_owners_wake_up() -> None:
    queue, _ = delaying_queue()
    owner = Request("owners", "x")
    queue.add_after(owner, TIMEOUT_WAKE_UP_S)

    EnqueueRequestsFromMapFunc(owner_of).on_delete(obj("pipelinerun", owner="x"), queue)

    assert queue.get() == (owner, False)
    assert queue.waiting() == 1, "the owner still exists: its safety net stays"
    queue.shutdown()


def test_the_wake_ups_of_deleted_objects_hold_no_memory() -> None:
    """A steady trickle of short-lived objects, each asking for a wake-up 35 minutes out: what
    the queue holds is bounded by the objects that exist, not by those created in 35 minutes."""
    queue, _ = delaying_queue()
    handler = EnqueueRequestForObject()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(10_000):
            name = f"workflow-{i:05d}"
            queue.add_after(Request("default", name), TIMEOUT_WAKE_UP_S)
            handler.on_delete(obj(name), queue)
            request, _ = queue.get()
            assert request is not None
            queue.done(request)
        gc.collect()
        held = tracemalloc.take_snapshot().compare_to(before, "filename")
    finally:
        tracemalloc.stop()
        queue.shutdown()
    grown = sum(
        stat.size_diff for stat in held if stat.traceback[0].filename != tracemalloc.__file__
    )
    assert queue.waiting() == 0
    assert grown < 64 * 1024, f"the work queue kept {grown} bytes for 10,000 deleted objects"
