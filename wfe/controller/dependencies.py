"""What the phase handlers work with, gathered once by the reconciler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from wfe.audit.recorder import Recorder
from wfe.controller.engines.registry import EngineRegistry
from wfe.controller.engines.tekton import TektonEngine
from wfe.controller.lock import LockChecker
from wfe.controller.settings import ControllerSettings
from wfe.controller.status import StatusWriter
from wfe.controller.targets import KindNames
from wfe.runtime.client import Client, Resource

Object = dict[str, Any]


class CacheReader(Protocol):
    def get(self, resource: Resource, name: str, namespace: str | None = None) -> Object | None: ...

    def by_index(self, resource: Resource, index_name: str, value: str) -> list[Object]: ...

    def projected_by_index(
        self, resource: Resource, index_name: str, value: str, projection: str
    ) -> list[Any]: ...


class EventSink(Protocol):
    def event(
        self, obj: Object, event_type: Literal["Normal", "Warning"], reason: str, message: str, /
    ) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    client: Client
    reader: CacheReader
    events: EventSink
    audit: Recorder
    settings: ControllerSettings
    clock: Callable[[], datetime]
    status: StatusWriter
    lock: LockChecker
    kinds: KindNames
    """Canonical kinds for lock keys (SPEC §3): ``kinds.key(spec.targetResource)``."""
    engines: EngineRegistry = field(default_factory=lambda: EngineRegistry([TektonEngine()]))
    """The execution engines this controller serves (``--engines``)."""
