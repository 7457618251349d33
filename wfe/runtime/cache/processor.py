"""Delivers an informer's notifications to its handlers on one thread, off the watch reader's path.

client-go's sharedProcessor: the reader only enqueues (an unbounded queue, so a slow handler never
stalls the watch), and one thread calls the handlers in order. It also drives periodic resyncs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import structlog

from wfe.runtime.cache.handlers import ResourceEventHandler, deliver
from wfe.runtime.cache.store import Change

log = structlog.get_logger(__name__)

_Notification = tuple[tuple[ResourceEventHandler, ...], Change]
_Item = _Notification | Callable[[], None] | None  # None wakes the thread to stop


class NotificationProcessor:
    """One delivery thread; ``resync`` runs on it every ``resync_period`` seconds when set."""

    def __init__(
        self,
        name: str,
        *,
        resync_period: float | None = None,
        resync: Callable[[], None] | None = None,
    ):
        if resync_period is not None and (resync_period <= 0 or resync is None):
            raise ValueError("a resync period must be positive and come with a resync function")
        self._name = name
        self._resync_period = resync_period
        self._resync = resync
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def distribute(self, handlers: tuple[ResourceEventHandler, ...], change: Change) -> None:
        """Queues ``change`` for ``handlers`` (fixed now, so a handler added later never sees it)."""
        if handlers:
            self._queue.put((handlers, change))

    def after_delivered(self, callback: Callable[[], None]) -> None:
        """Runs ``callback`` on the delivery thread once everything queued so far was delivered."""
        self._queue.put(callback)

    @property
    def thread(self) -> threading.Thread | None:
        """The delivery thread, once started."""
        return self._thread

    @property
    def pending(self) -> int:
        """Notifications queued but not yet delivered (approximate)."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops delivering (what is still queued is dropped) and waits up to ``timeout`` seconds."""
        self._stopping.set()
        self._queue.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and timeout > 0:
            thread.join(timeout)

    def _run(self) -> None:
        next_resync = self._next_resync()
        while not self._stopping.is_set():
            if next_resync is not None and time.monotonic() >= next_resync:
                if self._resync is not None:
                    self._run_callback(self._resync)
                next_resync = self._next_resync()
            wait = None if next_resync is None else max(0.0, next_resync - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                continue
            if item is None or self._stopping.is_set():
                return
            if callable(item):
                self._run_callback(item)
                continue
            handlers, change = item
            for handler in handlers:
                self._deliver(handler, change)

    def _next_resync(self) -> float | None:
        return None if self._resync_period is None else time.monotonic() + self._resync_period

    # A handler that raises must not end delivery for everyone else: log it and carry on.

    def _deliver(self, handler: ResourceEventHandler, change: Change) -> None:
        try:
            deliver(handler, change)
        except Exception:
            log.exception("informer event handler failed", processor=self._name, change=change.type)

    def _run_callback(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            log.exception("informer callback failed", processor=self._name)
