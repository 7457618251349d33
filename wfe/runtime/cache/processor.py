"""Delivers an informer's notifications: one buffer and one thread per handler (listener).

client-go's sharedProcessor and processorListener: the reader only appends to each listener's
unbounded buffer, so neither a slow handler nor a slow peer ever stalls the watch or another handler.
Each listener has its own resync period; a resync (periodic, or an unchanged object seen again by a
relist) reaches only the listeners whose resync is due.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Sequence

import structlog

from wfe.runtime.cache.handlers import ResourceEventHandler, deliver
from wfe.runtime.cache.store import Change

log = structlog.get_logger(__name__)

# controller-runtime's default SyncPeriod: a safety net for requeues a controller lost, not a
# substitute for watches. Each informer draws its own period in [0.9, 1.1) x 10 h so the replicas
# and informers of a fleet do not all resync at the same moment.
DEFAULT_RESYNC_SECONDS = 10 * 3600.0


def jittered_resync_period(
    period: float = DEFAULT_RESYNC_SECONDS, rand: Callable[[], float] = random.random
) -> float:
    """controller-runtime's calculateResyncPeriod: ``period`` scaled by a factor in [0.9, 1.1)."""
    return period * (0.9 + rand() / 5.0)


_Item = Change | Callable[[], None]


class ProcessorListener:
    """One handler, its pending notifications, its delivery thread and its resync schedule."""

    def __init__(
        self,
        name: str,
        handler: ResourceEventHandler,
        *,
        resync_period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if resync_period is not None and resync_period <= 0:
            raise ValueError("a resync period must be positive (or None for no resync)")
        self.handler = handler
        self.resync_period = resync_period
        self._name = name
        self._clock = clock
        # SimpleQueue: the hand-off from the reader to this thread happens in C, without a
        # Python-level Condition and its per-wait lock; None wakes a stopping thread
        self._buffer: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stopping = False
        self._next_resync = None if resync_period is None else clock() + resync_period
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def add(self, item: _Item) -> None:
        """Queues a change (or a callback to run once everything before it was delivered)."""
        if not self._stopping:
            self._buffer.put(item)

    def start(self) -> None:
        with self._lock:
            if self._thread.ident is None:
                self._thread.start()

    def stop(self) -> None:
        """Stops delivering; what is still queued is dropped."""
        self._stopping = True
        self._buffer.put(None)

    # --- resync schedule (called under the informer's lock) --------------------------------------

    def resync_due(self, now: float) -> bool:
        return self._next_resync is not None and now >= self._next_resync

    def schedule_next_resync(self, now: float) -> None:
        if self.resync_period is not None:
            self._next_resync = now + self.resync_period

    def next_resync(self) -> float | None:
        return self._next_resync

    # --- delivery thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._buffer.get()
            if item is None or self._stopping:
                return
            # A handler that raises must not end delivery to it: log it and carry on.
            try:
                if isinstance(item, Change):
                    deliver(self.handler, item)
                else:
                    item()
            except Exception:
                log.exception("informer event handler failed", listener=self._name)


class SharedProcessor:
    """The listeners of one informer; ``on_resync(due)`` runs when periodic resyncs fall due.

    ``on_resync`` queues a sync of every cached object for the due listeners; they are then
    rescheduled a period later.
    """

    def __init__(
        self,
        name: str,
        *,
        on_resync: Callable[[Sequence[ProcessorListener]], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._name = name
        self._on_resync = on_resync
        self._clock = clock
        self._listeners: tuple[ProcessorListener, ...] = ()
        self._started = False
        self._wake = threading.Condition()
        self._stopping = False
        self._resync_thread = threading.Thread(
            target=self._run_resyncs, name=f"{name}-resync", daemon=True
        )

    @property
    def listeners(self) -> tuple[ProcessorListener, ...]:
        return self._listeners

    def add_listener(
        self, handler: ResourceEventHandler, resync_period: float | None
    ) -> ProcessorListener:
        """A listener for ``handler``, started at once if the processor runs."""
        index = len(self._listeners)
        listener = ProcessorListener(
            f"{self._name}-handler-{index}", handler, resync_period=resync_period, clock=self._clock
        )
        self._listeners = (*self._listeners, listener)
        if self._started:
            listener.start()
        with self._wake:
            self._wake.notify()  # the earliest resync may have moved
        return listener

    def distribute(
        self, change: Change, listeners: Sequence[ProcessorListener] | None = None
    ) -> None:
        """Queues ``change`` for ``listeners`` (default: every listener)."""
        for listener in self._listeners if listeners is None else listeners:
            listener.add(change)

    def reschedule_due(self, listeners: Sequence[ProcessorListener]) -> None:
        """A full resync was delivered to ``listeners``: their next one is a period away."""
        now = self._clock()
        for listener in listeners:
            listener.schedule_next_resync(now)

    def due_listeners(self) -> list[ProcessorListener]:
        now = self._clock()
        return [listener for listener in self._listeners if listener.resync_due(now)]

    def threads(self) -> list[threading.Thread]:
        started = [listener.thread for listener in self._listeners if listener.thread.ident]
        if self._resync_thread.ident:
            started.append(self._resync_thread)
        return started

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for listener in self._listeners:
            listener.start()
        self._resync_thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        for listener in self._listeners:
            listener.stop()

    def _run_resyncs(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                upcoming = [
                    at for at in (lst.next_resync() for lst in self._listeners) if at is not None
                ]
                wait = None if not upcoming else max(0.0, min(upcoming) - self._clock())
                if wait is None or wait > 0:
                    self._wake.wait(wait)
                    continue
            due = self.due_listeners()
            try:
                self._on_resync(due)
            except Exception:
                log.exception("informer resync failed", processor=self._name)
            self.reschedule_due(due)
