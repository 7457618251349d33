"""A controller client that lets a test inject one failure or one concurrent write at a chosen call.

Everything else goes to the real API server unchanged; no API is mocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wfe.runtime.client import Client, Resource, is_conflict

Object = dict[str, Any]


class FaultInjectingClient(Client):
    """``fail_next_create``: the next create of a resource raises the given error instead.
    ``before_next_status_write``: runs a callback (e.g. a concurrent writer) before the next
    status write of a resource goes out. Both fire once; ``conflicts`` counts 409s on status writes.
    """

    def __init__(self, configuration: Any):
        super().__init__(configuration)
        self._lock = threading.Lock()
        self._create_failures: dict[Resource, BaseException] = {}
        self._status_hooks: dict[Resource, Callable[[Object], None]] = {}
        self.conflicts = 0

    def fail_next_create(self, resource: Resource, error: BaseException) -> None:
        with self._lock:
            self._create_failures[resource] = error

    def before_next_status_write(self, resource: Resource, hook: Callable[[Object], None]) -> None:
        with self._lock:
            self._status_hooks[resource] = hook

    def create(self, resource: Resource, obj: Object, namespace: str | None = None) -> Object:
        with self._lock:
            error = self._create_failures.pop(resource, None)
        if error is not None:
            raise error
        return super().create(resource, obj, namespace)

    def update_status(self, resource: Resource, obj: Object) -> Object:
        with self._lock:
            hook = self._status_hooks.pop(resource, None)
        if hook is not None:
            hook(obj)
        try:
            return super().update_status(resource, obj)
        except Exception as err:
            if is_conflict(err):
                with self._lock:
                    self.conflicts += 1
            raise
