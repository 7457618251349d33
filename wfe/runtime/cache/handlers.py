"""Informer event handlers: the on_add/on_update/on_delete protocol and how a change reaches one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wfe.runtime.cache.index import Object
from wfe.runtime.cache.store import Change, ChangeType


class ResourceEventHandler(Protocol):
    """Receives an informer's notifications (client-go: cache.ResourceEventHandler).

    Handlers of one informer share the objects they are handed, which are the cache's own
    objects (client-go's contract): read them, never modify them; copy what must be changed.
    ``on_delete`` always gets an object: for a delete that a relist inferred (client-go's
    ``DeletedFinalStateUnknown`` tombstone) it is the last state the cache held.
    """

    def on_add(self, obj: Object) -> None: ...

    def on_update(self, old: Object, new: Object) -> None: ...

    def on_delete(self, obj: Object) -> None: ...


@dataclass(frozen=True, slots=True)
class ResourceEventHandlerFuncs:
    """A handler from plain functions; a missing one ignores its notification."""

    add_func: Callable[[Object], None] | None = None
    update_func: Callable[[Object, Object], None] | None = None
    delete_func: Callable[[Object], None] | None = None

    def on_add(self, obj: Object) -> None:
        if self.add_func is not None:
            self.add_func(obj)

    def on_update(self, old: Object, new: Object) -> None:
        if self.update_func is not None:
            self.update_func(old, new)

    def on_delete(self, obj: Object) -> None:
        if self.delete_func is not None:
            self.delete_func(obj)


def deliver(handler: ResourceEventHandler, change: Change) -> None:
    """Calls the handler method that matches ``change``."""
    obj = change.obj  # decoded here when the change carries stored JSON: once per handler
    if change.type is ChangeType.ADDED:
        handler.on_add(obj)
    elif change.type is ChangeType.UPDATED:
        handler.on_update(change.old if change.old is not None else obj, obj)
    else:
        handler.on_delete(obj)
