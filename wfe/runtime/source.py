"""Sources: where a controller's events come from. `Kind` binds an informer to a handler.

The informer (wfe.runtime.cache) calls plain `on_add`/`on_update`/`on_delete` callbacks; a delete
whose final state was missed arrives as the last known object.
"""

from __future__ import annotations

from typing import Protocol

from wfe.runtime.handler import EventHandler, Object, RequestQueue
from wfe.runtime.predicate import Predicate


class ResourceEventHandler(Protocol):
    """What an informer calls for each change it observes (client-go's ResourceEventHandler)."""

    def on_add(self, obj: Object) -> None: ...

    def on_update(self, old: Object, new: Object) -> None: ...

    def on_delete(self, obj: Object) -> None: ...


class Informer(Protocol):
    def add_event_handler(self, handler: ResourceEventHandler) -> object: ...


class Source(Protocol):
    def start(self, queue: RequestQueue) -> None:
        """Begin delivering events into `queue`; returns at once."""
        ...


class Kind:
    """Events of one informer's kind, filtered by predicates, turned into requests by a handler."""

    def __init__(self, informer: Informer, handler: EventHandler, *predicates: Predicate) -> None:
        self._informer = informer
        self._handler = handler
        self._predicates = predicates

    def start(self, queue: RequestQueue) -> None:
        self._informer.add_event_handler(_FilteredHandler(self._handler, self._predicates, queue))

    def __str__(self) -> str:
        return f"kind source: {self._informer}"


class _FilteredHandler:
    """Adapts informer callbacks to an `EventHandler` writing into one queue, behind predicates."""

    def __init__(
        self, handler: EventHandler, predicates: tuple[Predicate, ...], queue: RequestQueue
    ) -> None:
        self._handler = handler
        self._predicates = predicates
        self._queue = queue

    def on_add(self, obj: Object) -> None:
        if all(p.create(obj) for p in self._predicates):
            self._handler.on_add(obj, self._queue)

    def on_update(self, old: Object, new: Object) -> None:
        if all(p.update(old, new) for p in self._predicates):
            self._handler.on_update(old, new, self._queue)

    def on_delete(self, obj: Object) -> None:
        if all(p.delete(obj) for p in self._predicates):
            self._handler.on_delete(obj, self._queue)
