"""Kubernetes Event recorder with client-go's correlation: repeats bump ``count``, spam is throttled.

``event()`` never blocks and never raises: it queues the event for one background sender thread,
as client-go's broadcaster does, so Events never take more than one request's share of the API
server from the reconciles; a full queue (client-go's 2,000) drops the event, as client-go does.
The sender keys each event by its source, involved object, type, reason and message; an event seen
before is PATCHed (count + 1, lastTimestamp) instead of created again, and recreated if it has
since been deleted. A token bucket per involved object (burst 25, one more every 5 minutes) stops
a hot loop from flooding the API server.

Both caches are LRUs of client-go's size (4,096 keys) and hold a 128-bit digest of each key rather
than its strings (source, the involved object's reference, the message): ~0.4 KiB less per entry,
1.7 MiB once both are full, which they are after minutes on a busy cluster. A token bucket that has
refilled to its burst behaves exactly like no bucket at all, so such buckets leave the spam filter:
it holds only the objects that sent events in the last few refill periods.
"""

from __future__ import annotations

import hashlib
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import structlog

from wfe.runtime.client import EVENTS, ApiError, Client, Object, is_not_found, is_transient

log = structlog.get_logger(__name__)

EventType = Literal["Normal", "Warning"]
EVENT_TYPES: frozenset[str] = frozenset(("Normal", "Warning"))

DEFAULT_COMPONENT = "workflowexecution-controller"
# What client-go holds before it drops: maxQueuedEvents (1,000) in the broadcaster's channel, and as
# many again in the channel of the watcher that writes to the API server (DropIfChannelFull). One
# sender writes ~30 Events/s when the API server answers in ~30 ms; a flip of 1,000 completions at
# once left ~1,550 waiting, and a queue of 1,000 dropped 550 of them (docs/performance.md, "Events
# in a burst").
MAX_QUEUED_EVENTS = 2000
CORRELATION_CACHE_SIZE = 4096  # client-go's maxLruCacheEntries
SPAM_BURST = 25  # client-go's defaultSpamBurst
SPAM_REFILL_SECONDS = 300.0  # client-go's defaultSpamQPS = 1/300
MAX_SEND_ATTEMPTS = 5
_PRUNED_PER_CALL = 2  # full buckets dropped from the spam filter's oldest end per event (amortised)

K = TypeVar("K")
V = TypeVar("V")


class _LRU(Generic[K, V]):
    """A bounded mapping that forgets the least recently used key (single-threaded use)."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def oldest(self) -> tuple[K, V] | None:
        """The least recently used item (not marked as used)."""
        return next(iter(self._items.items()), None)

    def discard(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def key_digest(parts: tuple[str, ...]) -> bytes:
    """A 128-bit digest of a cache key: 16 bytes to keep per entry instead of the key's strings.
    Each part is length-prefixed, so no two different keys are the same input."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(4, "big"))
        digest.update(encoded)
    return digest.digest()


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class SpamFilter:
    """A token bucket per key: ``burst`` events at once, then one per ``refill_seconds``."""

    def __init__(
        self,
        burst: int = SPAM_BURST,
        refill_seconds: float = SPAM_REFILL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._burst = burst
        self._refill_seconds = refill_seconds
        self._clock = clock
        self._buckets: _LRU[bytes, _Bucket] = _LRU(CORRELATION_CACHE_SIZE)

    def allow(self, key: tuple[str, ...]) -> bool:
        now = self._clock()
        self._forget_refilled(now)
        digest = key_digest(key)
        bucket = self._buckets.get(digest) or _Bucket(float(self._burst), now)
        bucket.tokens = self._tokens(bucket, now)
        bucket.updated = now
        self._buckets.put(digest, bucket)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def __len__(self) -> int:
        """How many objects the filter keeps a bucket for."""
        return len(self._buckets)

    def _tokens(self, bucket: _Bucket, now: float) -> float:
        return min(
            float(self._burst), bucket.tokens + (now - bucket.updated) / self._refill_seconds
        )

    def _forget_refilled(self, now: float) -> None:
        """Drops the least recently used buckets while they have refilled to the burst: a full
        bucket allows exactly what a new one would."""
        for _ in range(_PRUNED_PER_CALL):
            oldest = self._buckets.oldest()
            if oldest is None or self._tokens(oldest[1], now) < self._burst:
                return
            self._buckets.discard(oldest[0])


@dataclass(frozen=True, slots=True)
class _Pending:
    involved: dict[str, str]
    type: str
    reason: str
    message: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the API server holds for an aggregated event."""

    name: str
    namespace: str
    count: int
    first_timestamp: str


class EventRecorder:
    """Records core/v1 Events about objects, on behalf of ``component``."""

    def __init__(
        self,
        client: Client,
        component: str = DEFAULT_COMPONENT,
        host: str | None = None,
        *,
        queue_size: int = MAX_QUEUED_EVENTS,
        spam_filter: SpamFilter | None = None,
        retry_delay: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._client = client
        self._component = component
        self._host = host or ""
        self._now = now
        self._retry_delay = retry_delay
        self._queue: queue.Queue[_Pending | threading.Event | None] = queue.Queue(queue_size)
        self._spam_filter = spam_filter or SpamFilter()
        self._recorded: _LRU[bytes, _Recorded] = _LRU(CORRELATION_CACHE_SIZE)
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def event(self, obj: Object, type: EventType, reason: str, message: str) -> None:
        """Queue an Event about ``obj`` (a Kubernetes object as a dict). Never blocks or raises."""
        try:
            self._enqueue(obj, type, reason, message)
        except Exception:
            log.exception("failed to queue event", reason=reason)

    def _enqueue(self, obj: Object, event_type: str, reason: str, message: str) -> None:
        if event_type not in EVENT_TYPES:
            log.error("unsupported event type", type=event_type, reason=reason)
            return
        involved = involved_object(obj)
        if not involved.get("name") or not involved.get("kind"):
            log.error("cannot record an event about an object without kind and name", reason=reason)
            return
        if self._stopping.is_set():
            log.warning("event recorder stopped: dropping event", reason=reason, **_ref(involved))
            return
        self._ensure_started()
        try:
            self._queue.put_nowait(_Pending(involved, event_type, reason, message, self._now()))
        except queue.Full:
            log.warning("event queue full: dropping event", reason=reason, **_ref(involved))

    def flush(self, timeout: float) -> bool:
        """Wait until every event queued so far has been sent (or given up on)."""
        if self._thread is None:
            return True
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (one attempt each) within ``timeout``, then stop the sender thread."""
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("event queue still full at shutdown: dropping the rest")
            return
        thread.join(timeout)

    # --- sender thread ---------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._send_loop, name=f"event-recorder-{self._component}", daemon=True
                )
                self._thread.start()

    def _send_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._record(item)
            except Exception:
                log.exception("failed to record event", reason=item.reason)

    def _record(self, pending: _Pending) -> None:
        involved = pending.involved
        source = (self._component, self._host)
        object_key = (
            *source,
            *(involved.get(field, "") for field in ("kind", "namespace", "name", "uid")),
            involved.get("apiVersion", ""),
        )
        if not self._spam_filter.allow(object_key):
            log.debug("event throttled by the spam filter", reason=pending.reason, **_ref(involved))
            return
        key = key_digest((*object_key, pending.type, pending.reason, pending.message))
        previous = self._recorded.get(key)
        timestamp = _meta_time(pending.timestamp)
        if previous is None:
            namespace = involved.get("namespace") or "default"
            name = f"{involved['name']}.{time.time_ns():x}"
            saved = self._send(lambda: self._create(pending, name, namespace, 1, timestamp))
        else:
            saved = self._send(lambda: self._bump(pending, previous, timestamp))
        if saved is not None:
            self._recorded.put(key, saved)

    def _bump(self, pending: _Pending, previous: _Recorded, timestamp: str) -> _Recorded:
        count = previous.count + 1
        patch = {"count": count, "lastTimestamp": timestamp, "message": pending.message}
        try:
            answer = self._client.patch(EVENTS, previous.name, patch, previous.namespace)
        except ApiError as err:
            if not is_not_found(err):
                raise
            # deleted meanwhile (events expire after an hour): create it again, keeping the tally
            return self._create(
                pending, previous.name, previous.namespace, count, previous.first_timestamp
            )
        return _recorded(answer, previous.namespace)

    def _create(
        self, pending: _Pending, name: str, namespace: str, count: int, first_timestamp: str
    ) -> _Recorded:
        source = {"component": self._component}
        if self._host:
            source["host"] = self._host
        body: Object = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": pending.involved,
            "type": pending.type,
            "reason": pending.reason,
            "message": pending.message,
            "source": source,
            "reportingComponent": self._component,
            "reportingInstance": self._host,
            "firstTimestamp": first_timestamp,
            "lastTimestamp": _meta_time(pending.timestamp),
            "count": count,
        }
        return _recorded(self._client.create(EVENTS, body, namespace), namespace)

    def _send(self, write: Callable[[], _Recorded]) -> _Recorded | None:
        """Run ``write``, retrying transient failures with backoff unless the recorder is stopping."""
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                return write()
            except ApiError as err:
                final = (
                    not is_transient(err) or attempt == MAX_SEND_ATTEMPTS or self._stopping.is_set()
                )
                if final:
                    log.warning("server rejected event (will not retry)", error=str(err))
                    return None
                log.info("unable to write event (will retry)", error=str(err), attempt=attempt)
                delay = min(10.0, self._retry_delay * 2 ** (attempt - 1))
                self._stopping.wait(delay * (0.5 + random.random()))
        return None


def involved_object(obj: Object) -> dict[str, str]:
    """An ObjectReference to ``obj``: apiVersion, kind, namespace, name, uid, resourceVersion."""
    meta = obj.get("metadata") or {}
    reference = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {field: str(value) for field, value in reference.items() if value}


def _recorded(answer: Object, namespace: str) -> _Recorded:
    meta = answer.get("metadata") or {}
    return _Recorded(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace") or namespace),
        count=int(answer.get("count") or 1),
        first_timestamp=str(answer.get("firstTimestamp") or ""),
    )


def _ref(involved: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": involved.get("kind"),
        "namespace": involved.get("namespace"),
        "name": involved.get("name"),
    }


def _meta_time(moment: datetime) -> str:
    """metav1.Time's RFC 3339 form (whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
