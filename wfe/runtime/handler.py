"""Event handlers: turn watch events on objects into reconcile requests (controller-runtime's handler).

Objects are the plain dicts the API server sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from wfe.runtime.reconcile import Request

Object = dict[str, Any]


class RequestQueue(Protocol):
    """The part of a controller's work queue that handlers use."""

    def add(self, item: Request) -> None: ...

    def discard_waiting(self, item: Request) -> None:
        """Cancel the item's pending delayed add (a ``requeue_after``), if any."""
        ...


class EventHandler(Protocol):
    def on_add(self, obj: Object, queue: RequestQueue) -> None: ...

    def on_update(self, old: Object, new: Object, queue: RequestQueue) -> None: ...

    def on_delete(self, obj: Object, queue: RequestQueue) -> None: ...


def request_for(obj: Object) -> Request:
    """The request naming `obj` itself (metadata.namespace, metadata.name)."""
    metadata = obj.get("metadata") or {}
    return Request(namespace=metadata.get("namespace") or "", name=metadata.get("name") or "")


class EnqueueRequestForObject:
    """Reconcile the object the event is about.

    On a delete, the object's pending ``requeue_after`` is cancelled: the reconcile the delete
    queues answers for the object now, and asks for a wake-up of its own if it needs one. Kept, a
    wake-up would hold the request in memory until it fired on nothing (a Running
    WorkflowExecution asks for one at its timeout plus grace, 35 minutes by default).
    """

    def on_add(self, obj: Object, queue: RequestQueue) -> None:
        queue.add(request_for(obj))

    def on_update(self, old: Object, new: Object, queue: RequestQueue) -> None:
        queue.add(request_for(new))

    def on_delete(self, obj: Object, queue: RequestQueue) -> None:
        request = request_for(obj)
        queue.discard_waiting(request)
        queue.add(request)


MapFunc = Callable[[Object], Iterable[Request]]


class EnqueueRequestsFromMapFunc:
    """Reconcile whatever `map_func` says an object belongs to; an update maps old and new."""

    def __init__(self, map_func: MapFunc) -> None:
        self._map_func = map_func

    def on_add(self, obj: Object, queue: RequestQueue) -> None:
        self._enqueue(queue, obj)

    def on_update(self, old: Object, new: Object, queue: RequestQueue) -> None:
        # Both: an object that moved from one owner to another must wake up both.
        self._enqueue(queue, old, new)

    def on_delete(self, obj: Object, queue: RequestQueue) -> None:
        self._enqueue(queue, obj)

    def _enqueue(self, queue: RequestQueue, *objects: Object) -> None:
        requests: dict[Request, None] = {}
        for obj in objects:
            requests.update(dict.fromkeys(self._map_func(obj)))
        for request in requests:
            queue.add(request)
