"""A shared index informer: a reflector filling an indexer, and notifications to event handlers.

client-go's sharedIndexInformer without the DeltaFIFO: the reflector's thread applies each change to
the indexer and queues its notification under one lock, so the cache is current before any handler
runs and a handler added late sees a consistent snapshot (synthetic adds) followed by every later
change. Each handler runs on its own thread with its own buffer (see ``processor``), so a slow one
delays neither the others nor ``has_synced``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

from wfe.runtime.cache.handlers import ResourceEventHandler
from wfe.runtime.cache.index import NAMESPACE_INDEX, IndexFunc, Object, namespace_index
from wfe.runtime.cache.processor import ProcessorListener, SharedProcessor
from wfe.runtime.cache.reflector import Reflector, ReflectorOptions
from wfe.runtime.cache.store import Change, ChangeType, Indexer, Listing, ProjectFunc
from wfe.runtime.client import Client, Resource


class SharedIndexInformer:
    """Watches one resource (optionally one namespace and selectors) into an indexed cache.

    Every informer has a ``namespace`` index. ``resync_period`` (seconds), when set, is the
    default resync period of its handlers: each is re-delivered every cached object as an update
    (old is new) that often, as client-go's resync does. A relist that finds an object at the
    resourceVersion the cache holds is a resync too: only handlers whose resync is due get it.
    """

    def __init__(
        self,
        client: Client,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        resync_period: float | None = None,
        reflector_options: ReflectorOptions | None = None,
        transform: Transform | None = None,
    ):
        self.resource = resource
        self._transform = transform
        self.namespace = namespace if resource.namespaced else None
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._indexer = Indexer({NAMESPACE_INDEX: namespace_index, **(indexers or {})})
        self._lock = threading.Lock()  # orders store changes with handler registration
        self._resync_period = resync_period
        self._synced = threading.Event()
        self._started = False
        self._stopped = False
        self._processor = SharedProcessor(f"informer-{resource.plural}", on_resync=self._resync)
        self._reflector = Reflector(
            client,
            resource,
            _InformerFeed(self),
            namespace=self.namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            options=reflector_options,
        )
        self._reflector_thread = threading.Thread(
            target=self._reflector.run, name=f"reflector-{resource.plural}", daemon=True
        )

    def __repr__(self) -> str:
        scope = f" in {self.namespace}" if self.namespace else ""
        return f"<informer {self.resource}{scope}>"

    @property
    def indexer(self) -> Indexer:
        """The cache; read it freely (reads return copies), write to it never."""
        return self._indexer

    @property
    def last_sync_resource_version(self) -> str:
        return self._reflector.last_sync_resource_version

    def add_event_handler(
        self, handler: ResourceEventHandler, resync_period: float | None = None
    ) -> None:
        """Registers ``handler`` (resyncing every ``resync_period``, default the informer's).

        It first gets an add for every object already cached, then every later change.
        """
        period = self._resync_period if resync_period is None else resync_period
        with self._lock:
            listener = self._processor.add_listener(handler, period)
            for change in self._indexer.stored_changes(ChangeType.ADDED):
                listener.add(change)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Adds named indexes; only before :meth:`start`."""
        with self._lock:
            if self._started:
                raise RuntimeError(f"informer for {self.resource} already started: index first")
            self._indexer.add_indexers(indexers)

    def add_projections(self, projectors: Mapping[str, ProjectFunc]) -> None:
        """Adds named projections (see :class:`Indexer`); only before :meth:`start`."""
        with self._lock:
            if self._started:
                raise RuntimeError(f"informer for {self.resource} already started: project first")
            self._indexer.add_projections(projectors)

    def start(self) -> None:
        """Starts listing, watching and delivering in the background; returns at once."""
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"informer for {self.resource} was stopped; it cannot restart")
            if self._started:
                return
            self._started = True
        self._processor.start()
        self._reflector_thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Closes the watch and stops delivery; True when both threads ended within ``timeout``."""
        with self._lock:
            self._stopped = True
        self._reflector.stop()
        self._processor.stop()
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Waits for a stopping informer's threads; True when they have ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        threads = [self._reflector_thread, *self._processor.threads()]
        for thread in threads:
            if thread.is_alive():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def is_stopped(self) -> bool:
        """True once :meth:`stop` was called (client-go: SharedInformer.IsStopped)."""
        with self._lock:
            return self._stopped

    def has_synced(self) -> bool:
        """True once the first full list is in the cache (its adds are queued to every handler)."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    # --- fed by the reflector --------------------------------------------------------------------

    def _apply(self, mutate: Callable[[Object], Change], obj: Object) -> None:
        with self._lock:
            self._processor.distribute(mutate(obj))

    def _replace(self, listing: Listing, resource_version: str) -> None:
        with self._lock:
            due = self._processor.due_listeners()
            for change in self._indexer.replace_listing(listing, resource_version):
                self._processor.distribute(change, due if change.resync else None)
            # a full list is a full resync for the handlers whose resync was due
            self._processor.reschedule_due(due)
        self._synced.set()

    def _resync(self, listeners: Sequence[ProcessorListener]) -> None:
        if not listeners:
            return
        with self._lock:
            for change in self._indexer.stored_changes(ChangeType.UPDATED, resync=True):
                self._processor.distribute(change, listeners)


class _InformerFeed:
    """The store the reflector writes to: the informer's indexer plus its notifications."""

    def __init__(self, informer: SharedIndexInformer):
        self._informer = informer

    # The reflector's objects were just decoded and nothing else holds them: the store keeps their
    # JSON, and the handlers see those same objects, read-only. A list is assembled page by page
    # in a Listing (stored JSON), so it never exists as decoded objects all at once.

    def add(self, obj: Object) -> None:
        self._informer._apply(self._informer.indexer.add, self._shape(obj))

    def update(self, obj: Object) -> None:
        self._informer._apply(self._informer.indexer.update, self._shape(obj))

    def delete(self, obj: Object) -> None:
        self._informer._apply(self._informer.indexer.delete, self._shape(obj))

    def new_listing(self) -> Listing:
        return self._informer.indexer.new_listing(self._informer._transform)

    def replace_listing(self, listing: Listing, resource_version: str) -> None:
        self._informer._replace(listing, resource_version)

    def _shape(self, obj: Object) -> Object:
        transform = self._informer._transform
        return transform(obj) if transform is not None else obj


Transform = Callable[[Object], Object]


def strip_managed_fields(obj: Object) -> Object:
    """controller-runtime's TransformStripManagedFields: server-side-apply bookkeeping is more than
    half of a small object's size and nothing a controller reads; dropping it halves the cache."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj
