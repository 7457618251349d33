"""The informer cache and its reader (controller-runtime: pkg/cache): one informer per resource.

Reads never reach the API server: a resource must have its informer (``informer_for``) before the
cache starts, and reads of a resource without one raise :class:`ResourceNotCachedError` instead of
lazily starting a watch the way controller-runtime does (a surprise RBAC need and a blocking read).
Reads before the cache has synced see a partial picture; the manager waits for sync first.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog

from wfe.runtime.cache.index import NAMESPACE_INDEX, Object, field_index_name, object_key
from wfe.runtime.cache.informer import SharedIndexInformer, strip_managed_fields
from wfe.runtime.cache.processor import DEFAULT_RESYNC_SECONDS, jittered_resync_period
from wfe.runtime.cache.reflector import ReflectorOptions
from wfe.runtime.cache.store import Indexer, ProjectFunc
from wfe.runtime.client import Client, Resource

log = structlog.get_logger(__name__)
T = TypeVar("T")


class ResourceNotCachedError(LookupError):
    """A read named a resource the cache has no informer for."""


class Cache:
    """Informers by resource, started together, plus reads served from their indexers.

    ``default_namespace`` confines informers of namespaced resources that name no namespace of
    their own, and is the namespace of a ``get`` that names none. ``resync_period`` is
    controller-runtime's SyncPeriod (default 10 h): each informer resyncs its handlers every
    period, jittered by ±10 % per informer; None turns resyncs off.
    """

    def __init__(
        self,
        client: Client,
        *,
        default_namespace: str | None = None,
        reflector_options: ReflectorOptions | None = None,
        resync_period: float | None = DEFAULT_RESYNC_SECONDS,
    ):
        self._client = client
        self._resync_period = resync_period
        self._default_namespace = default_namespace
        self._reflector_options = reflector_options
        self._lock = threading.Lock()
        self._informers: dict[Resource, SharedIndexInformer] = {}
        self._started = False
        self._stopped = threading.Event()

    # --- informers -------------------------------------------------------------------------------

    def informer_for(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> SharedIndexInformer:
        """The informer of ``resource``, created (and started, if the cache runs) on first use.

        The first call fixes its namespace and selectors; a later call that names different ones
        is an error, one that names none gets the existing informer.
        """
        names_options = (namespace, label_selector, field_selector) != (None, None, None)
        namespace = self._effective_namespace(resource, namespace)
        with self._lock:
            informer = self._informers.get(resource)
            if informer is None:
                informer = SharedIndexInformer(
                    self._client,
                    resource,
                    namespace=namespace,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    reflector_options=self._reflector_options,
                    transform=strip_managed_fields,
                    resync_period=(
                        None
                        if self._resync_period is None
                        else jittered_resync_period(self._resync_period)
                    ),
                )
                self._informers[resource] = informer
                if self._started:
                    informer.start()
                return informer
        wanted = (namespace, label_selector, field_selector)
        existing = (informer.namespace, informer.label_selector, informer.field_selector)
        if names_options and wanted != existing:
            raise ValueError(
                f"informer for {resource} already watches namespace/labels/fields {existing}, "
                f"not {wanted}"
            )
        return informer

    def index_field(
        self, resource: Resource, field_path: str, extract: Callable[[Object], list[str]]
    ) -> str:
        """Indexes ``resource`` by ``extract`` under ``field:<field_path>``; before start only.

        Returns the index name to pass to :meth:`by_index`.
        """
        name = field_index_name(field_path)
        self.informer_for(resource).add_indexers({name: extract})
        return name

    def project(self, resource: Resource, name: str, project: ProjectFunc) -> str:
        """Keeps ``project``'s value of every cached ``resource`` object under ``name``, computed
        when the object is stored (see :class:`Indexer`); before start only. Returns ``name``, to
        pass to :meth:`projected_by_index`."""
        self.informer_for(resource).add_projections({name: project})
        return name

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, stop_event: threading.Event | None = None) -> None:
        """Starts every informer; returns at once. Setting ``stop_event`` later stops the cache."""
        with self._lock:
            if self._started:
                return
            self._started = True
            informers = list(self._informers.values())
        for informer in informers:
            informer.start()
        if stop_event is not None:
            threading.Thread(
                target=self._stop_when_set, args=(stop_event,), name="cache-stopper", daemon=True
            ).start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops every informer, waiting for them all within ``timeout``. Idempotent."""
        self._stopped.set()
        with self._lock:
            informers = list(self._informers.values())
        deadline = time.monotonic() + timeout
        for informer in informers:
            informer.stop(timeout=0)
        for informer in informers:
            if not informer.join(max(0.0, deadline - time.monotonic())):
                log.warning("informer did not stop in time", informer=repr(informer))

    def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        """Waits until every informer has synced; False when ``timeout`` passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            informers = list(self._informers.values())
        for informer in informers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not informer.wait_for_sync(remaining):
                return False
        return True

    def has_synced(self) -> bool:
        """True when the cache runs and every informer has synced (a readiness check)."""
        with self._lock:
            informers = list(self._informers.values())
            started = self._started
        return started and all(informer.has_synced() for informer in informers)

    # --- reads -----------------------------------------------------------------------------------

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> Object | None:
        """The cached object (a copy), or None when the cache does not hold it."""
        namespace = self._effective_namespace(resource, namespace)
        if resource.namespaced and not namespace:
            raise ValueError(f"{resource} is namespaced: name a namespace to get {name!r}")
        return self._indexer(resource).get_by_key(object_key(namespace, name))

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: Mapping[str, str] | None = None,
    ) -> list[Object]:
        """Cached objects (copies) in ``namespace`` (all when None) carrying every given label."""
        indexer = self._indexer(resource)
        where = _matches_labels(label_selector) if label_selector else None
        if namespace and resource.namespaced:
            return indexer.by_index(NAMESPACE_INDEX, namespace, where=where)
        return indexer.list(where=where)

    def by_index(self, resource: Resource, index_name: str, value: str) -> builtins.list[Object]:
        """Cached objects (copies) indexed under ``value`` in ``index_name``, in key order."""
        return self._indexer(resource).by_index(index_name, value)

    def projected_by_index(
        self, resource: Resource, index_name: str, value: str, projection: str
    ) -> builtins.list[Any]:
        """The ``projection`` values (shared, immutable) of the cached objects indexed under
        ``value``, in key order; objects the projection keeps nothing for are left out. Nothing
        is decoded or copied."""
        return self._indexer(resource).projected_by_index(index_name, value, projection)

    def peek(
        self, resource: Resource, name: str, namespace: str | None, view: Callable[[Object], T]
    ) -> T | None:
        """``view`` of the cached object, without a copy (see :meth:`Indexer.peek`); None if absent."""
        namespace = self._effective_namespace(resource, namespace)
        return self._indexer(resource).peek(object_key(namespace, name), view)

    def count_by_index(self, resource: Resource, index_name: str, value: str) -> int:
        """How many cached objects are indexed under ``value``: no object is read or copied."""
        return self._indexer(resource).index_count(index_name, value)

    def _indexer(self, resource: Resource) -> Indexer:
        with self._lock:
            informer = self._informers.get(resource)
        if informer is None:
            raise ResourceNotCachedError(f"no informer for {resource}: call informer_for first")
        return informer.indexer

    def _effective_namespace(self, resource: Resource, namespace: str | None) -> str | None:
        return (namespace or self._default_namespace) if resource.namespaced else None

    def _stop_when_set(self, stop_event: threading.Event) -> None:
        while not stop_event.wait(0.5):
            if self._stopped.is_set():
                return
        self.stop()


def _matches_labels(selector: Mapping[str, str]) -> Callable[[Object], bool]:
    wanted = dict(selector)

    def matches(obj: Object) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(labels.get(key) == value for key, value in wanted.items())

    return matches
