"""The audit recorder: ``record`` spools an event and returns at once; a background thread delivers
spooled events to the sink in batches, retrying with exponential backoff until they are accepted."""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import Final, Protocol

import structlog

from wfe.audit import metrics
from wfe.audit.events import AuditEvent
from wfe.audit.sink import AuditDeliveryError, AuditRejectedError, AuditSink
from wfe.audit.spool import FileSpool, Spool

DeliveryListener = Callable[[Sequence[AuditEvent]], None]

DEFAULT_BATCH_SIZE: Final = 100
DEFAULT_FLUSH_INTERVAL: Final = 1.0
DEFAULT_INITIAL_BACKOFF: Final = 1.0
DEFAULT_MAX_BACKOFF: Final = 60.0
DEFAULT_STOP_TIMEOUT: Final = 5.0
DEFAULT_REMEMBERED_IDS: Final = 10_000

log = structlog.get_logger(__name__)


class Recorder(Protocol):
    """What the controller uses; ``AuditRecorder`` and ``NoopRecorder`` implement it."""

    enabled: bool

    def start(self) -> None: ...

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None: ...

    def record(self, event: AuditEvent) -> None: ...

    def is_recorded(self, event_id: str) -> bool: ...

    def is_pending(self, event_id: str) -> bool: ...

    def delivery_failed(self, event_id: str) -> bool: ...

    def is_rejected(self, event_id: str) -> bool: ...

    def set_listener(
        self,
        on_delivered: DeliveryListener | None,
        on_rejected: DeliveryListener | None = None,
        on_failed: DeliveryListener | None = None,
    ) -> None: ...


class AuditRecorder:
    """Spool-backed, at-least-once audit delivery. Owns the spool (``stop`` closes it).

    ``on_delivered(events)`` runs on the delivery thread after the sink accepted ``events``;
    ``on_rejected(events)`` after the sink refused them for good (they are dropped);
    ``on_failed(events)`` the first time a delivery attempt of ``events`` failed (they are retried).
    All must be quick and must not call ``stop``.
    """

    enabled = True

    def __init__(
        self,
        sink: AuditSink,
        spool: Spool,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        on_delivered: DeliveryListener | None = None,
        on_rejected: DeliveryListener | None = None,
        remembered_ids: int = DEFAULT_REMEMBERED_IDS,
        transform: Callable[[AuditEvent], AuditEvent] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 < initial_backoff <= max_backoff:
            raise ValueError("backoff must satisfy 0 < initial_backoff <= max_backoff")
        self._sink = sink
        self._spool = spool
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._on_delivered = on_delivered
        self._on_rejected = on_rejected
        self._remembered_ids = remembered_ids
        self._transform = transform  # applied before spooling (redaction)
        self._on_failed: DeliveryListener | None = None
        self._accepted: OrderedDict[str, None] = OrderedDict()
        # event id -> True when the sink refused it for good, False while retries keep failing
        self._failed: OrderedDict[str, bool] = OrderedDict()
        self._accepted_lock = threading.Lock()
        self._wake = threading.Condition()
        self._stopping = False
        self._stop_deadline = 0.0
        self._thread: threading.Thread | None = None
        metrics.AUDIT_BACKLOG.set(len(spool))

    def set_listener(
        self,
        on_delivered: DeliveryListener | None,
        on_rejected: DeliveryListener | None = None,
        on_failed: DeliveryListener | None = None,
    ) -> None:
        """Install the delivery callbacks (call before ``start``)."""
        self._on_delivered = on_delivered
        self._on_rejected = on_rejected
        self._on_failed = on_failed

    def delivery_failed(self, event_id: str) -> bool:
        """True while attempts to deliver the event fail, or once the sink refused it for good."""
        with self._accepted_lock:
            return event_id in self._failed

    def is_rejected(self, event_id: str) -> bool:
        """True once the sink refused the event for good (it was dropped, never retried)."""
        with self._accepted_lock:
            return self._failed.get(event_id) is True

    def start(self) -> None:
        """Start the delivery thread; events already spooled (a previous run's) go first."""
        with self._wake:
            if self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._run, name="audit-delivery", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Flush what can be delivered within ``timeout``, then stop. Idempotent. Undelivered
        events stay in a file spool for the next run; a memory spool loses them (logged)."""
        with self._wake:
            if self._stopping:
                return
            self._stopping = True
            self._stop_deadline = time.monotonic() + timeout
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("audit delivery thread did not stop in time", timeout=timeout)
                return
        pending = len(self._spool)
        if pending:
            log.warning(
                "audit events still pending at shutdown",
                pending=pending,
                kept_on_disk=isinstance(self._spool, FileSpool),
            )
        self._spool.close()

    def record(self, event: AuditEvent) -> None:
        """Spool ``event`` for delivery. Never blocks on the network, never raises."""
        try:
            if self._transform is not None:
                event = self._transform(event)
            added = self._spool.put(event)
        except Exception as err:
            metrics.count(event.event_type, metrics.Result.DROPPED)
            log.error(
                "audit event could not be spooled and is lost",
                event_id=event.event_id,
                event_type=str(event.event_type),
                error=repr(err),
            )
            return
        if added:
            metrics.AUDIT_BACKLOG.set(len(self._spool))
            with self._wake:
                self._wake.notify()

    def is_recorded(self, event_id: str) -> bool:
        """True when the sink accepted ``event_id`` (remembered for the last accepted ids only)."""
        with self._accepted_lock:
            return event_id in self._accepted

    def is_pending(self, event_id: str) -> bool:
        """True while ``event_id`` is spooled and not yet accepted."""
        return event_id in self._spool

    def _run(self) -> None:
        backoff = self._initial_backoff
        linger = True  # wait for a fuller batch only when the previous one drained the spool
        while self._wait_for_batch(linger=linger):
            batch = self._spool.take(self._batch_size)
            if not batch:
                continue
            linger = len(batch) < self._batch_size
            try:
                self._deliver(batch)
            except Exception as err:
                self._count_failed(batch)
                log.warning(
                    "audit delivery failed; will retry",
                    error=str(err) if isinstance(err, AuditDeliveryError) else repr(err),
                    pending=len(self._spool),
                    retry_in_seconds=backoff,
                    exc_info=not isinstance(err, AuditDeliveryError),
                )
                if self._sleep_unless_stopping(backoff):
                    break
                backoff = min(backoff * 2, self._max_backoff)
                linger = False
            else:
                backoff = self._initial_backoff
        self._flush_before_exit()

    def _wait_for_batch(self, *, linger: bool) -> bool:
        """Wait until events are pending and either a full batch is there or the flush interval
        passed (``linger``). False when stopping."""
        with self._wake:
            while not self._stopping and len(self._spool) == 0:
                self._wake.wait()
            if linger:
                deadline = time.monotonic() + self._flush_interval
                while not self._stopping and len(self._spool) < self._batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
            return not self._stopping

    def _sleep_unless_stopping(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when ``stop`` interrupted it."""
        with self._wake:
            return self._wake.wait_for(lambda: self._stopping, timeout=seconds)

    def _flush_before_exit(self) -> None:
        while len(self._spool) and time.monotonic() < self._stop_deadline:
            batch = self._spool.take(self._batch_size)
            try:
                self._deliver(batch)
            except Exception as err:
                self._count_failed(batch)
                log.warning("audit flush at shutdown failed", error=repr(err))
                return

    def _deliver(self, batch: list[AuditEvent]) -> None:
        """Send ``batch``; on a permanent rejection, resend one by one so that only the events
        the sink refuses are dropped. Transient errors propagate (settled events stay settled)."""
        try:
            self._sink.send_batch(batch)
        except AuditRejectedError as err:
            if len(batch) == 1:
                self._settle_rejected(batch, err)
                return
            log.warning("audit batch rejected; resending its events one by one", size=len(batch))
            for event in batch:
                try:
                    self._sink.send_batch([event])
                except AuditRejectedError as single_err:
                    self._settle_rejected([event], single_err)
                else:
                    self._settle_accepted([event])
        else:
            self._settle_accepted(batch)

    def _settle_accepted(self, events: list[AuditEvent]) -> None:
        # One step for observers: remembered as accepted before it leaves the spool, and
        # is_recorded answers only after it left. An event is always pending or recorded, so a
        # caller that sees neither knows it was lost (and recording it again is no duplicate).
        with self._accepted_lock:
            for event in events:
                self._accepted[event.event_id] = None
                self._accepted.move_to_end(event.event_id)
                self._failed.pop(event.event_id, None)
            while len(self._accepted) > self._remembered_ids:
                self._accepted.popitem(last=False)
            self._spool.remove(event.event_id for event in events)
        self._count(events, metrics.Result.RECORDED)
        self._notify(self._on_delivered, events)

    def _settle_rejected(self, events: list[AuditEvent], err: AuditRejectedError) -> None:
        with self._accepted_lock:
            for event in events:
                self._remember_failure(event.event_id, permanent=True)
        self._spool.remove(event.event_id for event in events)
        self._count(events, metrics.Result.REJECTED)
        log.error(
            "audit events rejected by the sink and dropped",
            event_ids=[event.event_id for event in events],
            event_types=sorted({str(event.event_type) for event in events}),
            error=str(err),
        )
        self._notify(self._on_rejected, events)

    def _count_failed(self, batch: list[AuditEvent]) -> None:
        still_spooled = [event for event in batch if event.event_id in self._spool]
        with self._accepted_lock:
            newly_failing = [e for e in still_spooled if e.event_id not in self._failed]
            for event in newly_failing:
                self._remember_failure(event.event_id, permanent=False)
        self._count(still_spooled, metrics.Result.FAILED)
        if newly_failing:  # once per event, not at every retry of an outage
            self._notify(self._on_failed, newly_failing)

    def _remember_failure(self, event_id: str, *, permanent: bool) -> None:
        self._failed[event_id] = permanent
        self._failed.move_to_end(event_id)
        while len(self._failed) > self._remembered_ids:
            self._failed.popitem(last=False)

    def _count(self, events: list[AuditEvent], result: metrics.Result) -> None:
        for event_type, amount in Counter(str(event.event_type) for event in events).items():
            metrics.count(event_type, result, amount)
        metrics.AUDIT_BACKLOG.set(len(self._spool))

    @staticmethod
    def _notify(listener: DeliveryListener | None, events: list[AuditEvent]) -> None:
        if listener is None:
            return
        try:
            listener(events)
        except Exception:
            log.exception("audit delivery listener failed")


class NoopRecorder:
    """``--audit-sink none``: auditing is off. Every event counts as recorded, so a controller
    that re-audits until recorded does not loop."""

    enabled = False

    def start(self) -> None:
        return None

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        return None

    def record(self, event: AuditEvent) -> None:
        return None

    def is_recorded(self, event_id: str) -> bool:
        return True

    def is_pending(self, event_id: str) -> bool:
        return False

    def delivery_failed(self, event_id: str) -> bool:
        return False

    def is_rejected(self, event_id: str) -> bool:
        return False

    def set_listener(
        self,
        on_delivered: DeliveryListener | None,
        on_rejected: DeliveryListener | None = None,
        on_failed: DeliveryListener | None = None,
    ) -> None:
        return None
