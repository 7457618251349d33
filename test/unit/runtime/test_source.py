"""The Kind source: informer callbacks become requests in the controller's queue, behind predicates."""

from __future__ import annotations

from typing import Any

from wfe.runtime.handler import EnqueueRequestForObject
from wfe.runtime.predicate import GenerationChangedPredicate, LabelSelectorPredicate
from wfe.runtime.reconcile import Request
from wfe.runtime.source import Kind, ResourceEventHandler


class FakeInformer:
    """Delivers events by hand to the handlers registered on it."""

    def __init__(self) -> None:
        self.handlers: list[ResourceEventHandler] = []

    def add_event_handler(self, handler: ResourceEventHandler) -> None:
        self.handlers.append(handler)


def thing(name: str, generation: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": name, "generation": generation, "labels": labels}
    }


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[Request] = []
        self.discarded: list[Request] = []

    def add(self, request: Request) -> None:
        self.added.append(request)

    def discard_waiting(self, request: Request) -> None:
        self.discarded.append(request)


def started_kind(*predicates: Any) -> tuple[ResourceEventHandler, RecordingQueue]:
    informer = FakeInformer()
    queue = RecordingQueue()
    Kind(informer, EnqueueRequestForObject(), *predicates).start(queue)
    (handler,) = informer.handlers
    return handler, queue


def test_kind_turns_every_informer_event_into_a_request() -> None:
    handler, queue = started_kind()

    handler.on_add(thing("a"))
    handler.on_update(thing("b"), thing("b"))
    handler.on_delete(thing("c"))

    assert queue.added == [Request("ns", "a"), Request("ns", "b"), Request("ns", "c")]


def test_kind_drops_events_a_predicate_rejects() -> None:
    handler, queue = started_kind(
        GenerationChangedPredicate(), LabelSelectorPredicate({"app": "x"})
    )

    handler.on_add(thing("unlabelled"))
    handler.on_add(thing("labelled", app="x"))
    handler.on_update(thing("labelled", 1, app="x"), thing("labelled", 1, app="x"))
    handler.on_update(thing("labelled", 1, app="x"), thing("labelled", 2, app="x"))
    handler.on_delete(thing("unlabelled"))
    handler.on_delete(thing("labelled", app="x"))

    assert queue.added == [Request("ns", "labelled")] * 3


def test_kind_describes_its_informer() -> None:
    informer = FakeInformer()

    assert str(Kind(informer, EnqueueRequestForObject())).startswith("kind source: ")
