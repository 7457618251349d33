"""Mirrors one resource collection into a store: a streaming list (or a paged LIST), then a WATCH.

The initial state comes, as in client-go with its WatchListClient feature, from a "watch-list": a
watch with ``sendInitialEvents=true`` that streams every object as an ADDED event, then a bookmark
annotated ``k8s.io/initial-events-end`` carrying the list's resourceVersion; the same stream then
goes on as the watch. Neither side holds the whole list in memory at once (a LIST at
resourceVersion "0" is one answer, however many objects: 30 MB of JSON for 10,000
WorkflowExecutions). A server that cannot stream lists (the stream ends or fails before the
bookmark) gets the paged LIST, then a WATCH from its resourceVersion, as before.

client-go's Reflector: the watch resumes from the last resourceVersion seen (bookmarks advance it)
when the server ends it or the connection breaks; a 410 Gone means that version was compacted away,
so the reflector relists instead (the store diffs and emits synthetic deletes). The first list asks
for resourceVersion "0" (served from the watch cache), a relist for the last version synced.
Failed attempts wait for a jittered exponential backoff, which resets after a healthy period.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from wfe.runtime.cache.backoff import Backoff, ExponentialBackoff
from wfe.runtime.cache.index import Object
from wfe.runtime.cache.store import Listing
from wfe.runtime.client import (
    ApiConnectionError,
    ApiError,
    Client,
    Resource,
    WatchEvent,
    WatchStream,
    is_gone,
)

log = structlog.get_logger(__name__)

# A watch that ends this fast without a single event hints at a server in trouble: back off.
_SHORT_WATCH_SECONDS = 1.0
# the annotation on the bookmark that ends a watch-list's initial events
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class ReflectorStore(Protocol):
    """What a reflector writes to (client-go: cache.Store); return values are ignored."""

    def add(self, obj: Object) -> object: ...

    def update(self, obj: Object) -> object: ...

    def delete(self, obj: Object) -> object: ...

    def new_listing(self) -> Listing: ...

    def replace_listing(self, listing: Listing, resource_version: str) -> object: ...


@dataclass(frozen=True, slots=True)
class ReflectorOptions:
    """Timing knobs; the defaults are client-go's and only tests should need others."""

    page_size: int = 500
    # the initial state as a streaming list (watch-list), falling back to LIST when not served
    use_watch_list: bool = True
    # The server ends each watch after a random timeoutSeconds in [min_watch_timeout, 2x that).
    min_watch_timeout: float = 300.0
    # No byte (not even a bookmark) for this long: the connection is deemed dead and reopened.
    inactivity_timeout: float = 70.0
    backoff: Callable[[], Backoff] = field(default=ExponentialBackoff)


class _StopRequestedError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _OpenWatch:
    """A watch being read: the stream (to close) and its events (to go on reading)."""

    stream: WatchStream
    events: Iterator[WatchEvent]


class Reflector:
    """Runs LIST+WATCH for one resource until :meth:`stop`; :meth:`run` blocks the calling thread."""

    def __init__(
        self,
        client: Client,
        resource: Resource,
        store: ReflectorStore,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        options: ReflectorOptions | None = None,
    ):
        self._client = client
        self._resource = resource
        self._store = store
        self._namespace = namespace if resource.namespaced else None
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._options = options or ReflectorOptions()
        self._backoff = self._options.backoff()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._stream: WatchStream | None = None
        self._last_sync_resource_version = ""
        self._last_sync_unavailable = False
        self._server_pages = False
        self._log = log.bind(resource=str(resource), namespace=namespace or "")

    @property
    def last_sync_resource_version(self) -> str:
        """The resourceVersion of the last list, watch event or bookmark applied to the store."""
        return self._last_sync_resource_version

    def run(self) -> None:
        """Lists and watches, again and again with backoff, until :meth:`stop` is called."""
        self._log.debug("reflector starting")
        while not self._stopped.is_set():
            try:
                self._list_and_watch()
            except _StopRequestedError:
                break
            except ApiError as err:
                self._log.warning("list and watch failed", error=str(err), status=err.status)
            except Exception:
                self._log.exception("list and watch failed unexpectedly")
            # client-go's BackoffUntil(sliding): the wait starts once the attempt has ended.
            if self._stopped.wait(self._backoff.next_delay()):
                break
        self._log.debug("reflector stopped")

    def stop(self) -> None:
        """Ends :meth:`run` promptly: the open watch is closed from this thread. Idempotent."""
        self._stopped.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    # --- list ------------------------------------------------------------------------------------

    def _list_and_watch(self) -> None:
        if self._options.use_watch_list:
            streamed = self._watch_list()
            if streamed is not None:
                self._watch(streamed)
                return
        listing, resource_version = self._list()
        self._check_stopped()
        self._store.replace_listing(listing, resource_version)
        self._last_sync_resource_version = resource_version
        self._log.debug("listed", count=len(listing), resource_version=resource_version)
        self._watch()

    def _watch_list(self) -> _OpenWatch | None:
        """The initial state from a streaming list; the open stream (and its events, part read)
        once the store holds it, or None when the server did not complete one (the caller falls
        back to a LIST)."""
        resource_version = "" if self._last_sync_unavailable else self._last_sync_resource_version
        try:
            stream = self._open_watch(resource_version, initial_events=True)
        except ApiError as err:
            self._check_stopped()
            self._log.info("streaming list refused; listing instead", error=str(err))
            return None
        self._register(stream)
        listing = self._store.new_listing()
        events = iter(stream)
        try:
            self._check_stopped()
            for event in events:
                if event.type == "BOOKMARK" and _ends_initial_events(event.object):
                    listed_version = str(event.object["metadata"].get("resourceVersion") or "")
                    self._store.replace_listing(listing, listed_version)
                    self._last_sync_resource_version = listed_version
                    self._last_sync_unavailable = False
                    self._log.debug("listed (streamed)", count=len(listing))
                    return _OpenWatch(stream, events)
                if event.type in ("ADDED", "MODIFIED"):
                    listing.add(self._with_type_meta(event.object))
                elif event.type == "DELETED":
                    listing.discard(self._with_type_meta(event.object))
        except (ApiError, ApiConnectionError) as err:
            self._check_stopped()
            self._log.info("streaming list failed; listing instead", error=str(err))
            self._release(stream)
            return None
        except BaseException:
            self._release(stream)
            raise
        self._check_stopped()
        self._log.info("streaming list ended before its last object; listing instead")
        self._release(stream)
        return None

    def _relist_resource_version(self) -> str:
        """client-go's relistResourceVersion: "0" first (any recent state, from the watch cache),
        then the last version synced (never back in time), or "" (a consistent read from etcd)
        when the server said that version is no longer available."""
        if self._last_sync_unavailable:
            return ""
        return self._last_sync_resource_version or "0"

    def _list(self) -> tuple[Listing, str]:
        """A full list at (or after) the relist version; from scratch when that version expired."""
        resource_version = self._relist_resource_version()
        try:
            listed = self._list_pages(resource_version)
        except ApiError as err:
            if not is_gone(err) or resource_version == "":
                raise
            # the version we asked for is older than the server keeps: read the current state
            self._log.info("list version expired; listing the current state", error=str(err))
            self._last_sync_unavailable = True
            listed = self._list_pages("")
        self._last_sync_unavailable = False
        return listed

    def _list_pages(self, resource_version: str) -> tuple[Listing, str]:
        """Pages of ``page_size``; one unpaged list when a continue token expires midway. Each
        page goes into the store's listing as it arrives, so only one page is ever decoded.

        As client-go's reflector, a relist from a given version asks for no pages so the watch
        cache serves it (a paged list at a version would go to etcd), unless this server already
        showed it pages such lists (no watch cache for the resource).
        """
        paged = resource_version in ("", "0") or self._server_pages
        limit: int | None = self._options.page_size if paged else None
        listing = self._store.new_listing()
        continue_token: str | None = None
        list_version = ""
        while True:
            try:
                page = self._client.list(
                    self._resource,
                    self._namespace,
                    label_selector=self._label_selector,
                    field_selector=self._field_selector,
                    limit=limit,
                    continue_token=continue_token,
                    resource_version=None if continue_token else resource_version or None,
                )
            except ApiError as err:
                if not (is_gone(err) and continue_token):
                    raise
                # client-go's pager FullListIfExpired: the snapshot behind the token was
                # compacted; one unpaged list of the same version instead of starting over
                self._log.info("list snapshot expired while paging; one full list", error=str(err))
                listing, continue_token, limit = self._store.new_listing(), None, None
                continue
            meta = page.get("metadata") or {}
            list_version = str(meta.get("resourceVersion") or list_version)
            for item in page.pop("items", None) or []:
                listing.add(self._with_type_meta(item))
            del page  # the decoded page is garbage before the next one is read
            continue_token = meta.get("continue") or None
            if continue_token is None:
                return listing, list_version
            self._server_pages = True
            self._check_stopped()

    def _with_type_meta(self, item: Object) -> Object:
        # List items carry no apiVersion/kind (the list does); watch events do. Make both alike.
        item.setdefault("apiVersion", self._resource.api_version)
        item.setdefault("kind", self._resource.kind)
        return item

    # --- watch -----------------------------------------------------------------------------------

    def _watch(self, first: _OpenWatch | None = None) -> None:
        """Watches from the last synced version (``first``: a stream already open there) until it
        expires (return: relist) or fails (raise)."""
        open_watch = first
        while True:
            self._check_stopped()
            started = time.monotonic()
            stream = None if open_watch is None else open_watch.stream
            try:
                if open_watch is None:
                    stream = self._open_watch(self._last_sync_resource_version)
                    self._register(stream)
                    open_watch = _OpenWatch(stream, iter(stream))
                events = self._consume(open_watch.events)
            except ApiError as err:
                self._check_stopped()
                if is_gone(err):
                    self._log.info("watch version expired; relisting", error=str(err))
                    return
                if not _is_retriable(err):
                    raise
                self._log.info("watch failed; backing off", error=str(err), status=err.status)
                self._wait_backoff()
                continue
            finally:
                if stream is not None:
                    self._release(stream)
                open_watch = None
            self._check_stopped()
            if events == 0 and time.monotonic() - started < _SHORT_WATCH_SECONDS:
                self._log.info("watch closed at once without events; backing off")
                self._wait_backoff()

    def _open_watch(self, resource_version: str, *, initial_events: bool = False) -> WatchStream:
        minimum = self._options.min_watch_timeout
        return self._client.watch(
            self._resource,
            self._namespace,
            resource_version=resource_version,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            timeout_seconds=max(1, int(minimum * (1.0 + random.random()))),
            allow_bookmarks=True,
            inactivity_timeout=self._options.inactivity_timeout,
            send_initial_events=initial_events,
            resource_version_match="NotOlderThan" if initial_events else None,
        )

    def _register(self, stream: WatchStream) -> None:
        """Makes ``stream`` the one :meth:`stop` closes."""
        with self._lock:
            self._stream = stream

    def _release(self, stream: WatchStream) -> None:
        with self._lock:
            self._stream = None
        stream.close()

    def _consume(self, stream: Iterator[WatchEvent]) -> int:
        """Applies the stream's events to the store until it ends; returns how many arrived.

        A broken or idle connection ends the stream quietly: nothing is lost, the next watch
        resumes from the last version seen. Error events (410 Gone among them) are raised.
        """
        events = 0
        try:
            # stop() may have run before the stream was registered; it found nothing to close
            self._check_stopped()
            for event in stream:
                self._apply(event)
                events += 1
        except ApiConnectionError as err:
            if not self._stopped.is_set():
                self._log.debug("watch connection ended; resuming", error=str(err))
        return events

    def _apply(self, event: WatchEvent) -> None:
        if event.type == "ADDED":
            self._store.add(event.object)
        elif event.type == "MODIFIED":
            self._store.update(event.object)
        elif event.type == "DELETED":
            self._store.delete(event.object)
        elif event.type != "BOOKMARK":
            self._log.warning("unexpected watch event type", type=event.type)
            return
        resource_version = (event.object.get("metadata") or {}).get("resourceVersion")
        if resource_version:
            self._last_sync_resource_version = str(resource_version)

    # --- helpers ---------------------------------------------------------------------------------

    def _wait_backoff(self) -> None:
        if self._stopped.wait(self._backoff.next_delay()):
            raise _StopRequestedError

    def _check_stopped(self) -> None:
        if self._stopped.is_set():
            raise _StopRequestedError


def _ends_initial_events(bookmark: Object) -> bool:
    annotations = (bookmark.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(INITIAL_EVENTS_END, "")).lower() == "true"


def _is_retriable(err: ApiError) -> bool:
    """Worth another watch from the same version after a backoff (client-go: isWatchErrorRetriable)."""
    return err.status in (0, 429) or err.status >= 500
