"""client-go's work queue: FIFO order, a key is handed to one worker at a time, duplicates collapse.

`dirty` holds keys that need processing, `processing` the keys workers hold; a key added while it is
processed waits in `dirty` and is queued again by `done()`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from wfe.runtime.workqueue.clock import REAL_CLOCK, Clock
from wfe.runtime.workqueue.metrics import MetricsProvider, QueueMetrics, new_queue_metrics
from wfe.runtime.workqueue.prometheus_metrics import PROMETHEUS_METRICS_PROVIDER

T = TypeVar("T", bound=Hashable)

# client-go refreshes the unfinished-work gauges this often.
UNFINISHED_WORK_UPDATE_PERIOD = 0.5
# Background threads stop promptly once told to; this only bounds a join against surprises.
BACKGROUND_THREAD_JOIN_TIMEOUT = 5.0


class Queue(Generic[T]):
    """A thread-safe work queue; `name` labels its metrics (an unnamed queue has none)."""

    def __init__(
        self,
        name: str = "",
        *,
        clock: Clock = REAL_CLOCK,
        metrics_provider: MetricsProvider = PROMETHEUS_METRICS_PROVIDER,
    ) -> None:
        self.name = name
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._shutting_down = False
        self._drain = False
        self._metrics: QueueMetrics[T] = new_queue_metrics(name, metrics_provider, clock)
        self._metrics_wakeup = threading.Condition()
        self._metrics_thread: threading.Thread | None = None
        if self._metrics.enabled:
            self._metrics_thread = threading.Thread(
                target=self._update_unfinished_work_loop,
                name=f"workqueue-metrics-{name}",
                daemon=True,
            )
            self._metrics_thread.start()

    def add(self, item: T) -> None:
        """Mark `item` as needing processing; ignored after shutdown."""
        with self._cond:
            if self._shutting_down or item in self._dirty:
                return
            self._metrics.add(item)
            self._dirty.add(item)
            if item in self._processing:
                return  # done() queues it again
            self._queue.append(item)
            self._cond.notify()

    def get(self) -> tuple[T | None, bool]:
        """Block until an item is available and return `(item, False)`.

        Returns `(None, True)` once the queue is shut down and empty. The caller owns the item
        until it calls `done(item)`.
        """
        with self._cond:
            while not self._queue and not self._shutting_down:
                self._cond.wait()
            if not self._queue:
                return None, True
            item = self._queue.popleft()
            self._metrics.get(item)
            self._processing.add(item)
            self._dirty.discard(item)
            return item, False

    def done(self, item: T) -> None:
        """Mark `item` as processed; if it was added meanwhile, queue it again."""
        with self._cond:
            if item not in self._processing:
                return
            self._metrics.done(item)
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify()
            if self._drain and not self._processing:
                self._cond.notify_all()

    def len(self) -> int:
        """Number of items waiting to be handed out (not counting those being processed)."""
        with self._cond:
            return len(self._queue)

    def __len__(self) -> int:
        return self.len()

    def shutdown(self) -> None:
        """Stop accepting items; workers drain what is queued, then `get` reports shutdown."""
        with self._cond:
            self._drain = False
            self._shutting_down = True
            self._cond.notify_all()
        self._stop_background_threads()

    def shutdown_with_drain(self, timeout: float | None = None) -> bool:
        """Shut down and wait until every item handed out has been marked done.

        Returns False if `timeout` seconds passed first (client-go waits without bound). A
        concurrent `shutdown()` ends the wait early.
        """
        with self._cond:
            self._drain = True
            self._shutting_down = True
            self._cond.notify_all()
            deadline = None if timeout is None else self._clock.now() + timeout
            while self._processing and self._drain:
                remaining = None if deadline is None else deadline - self._clock.now()
                if remaining is not None and remaining <= 0:
                    break
                self._clock.wait(self._cond, remaining)
            drained = not self._processing
        self._stop_background_threads()
        return drained

    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def _stop_background_threads(self) -> None:
        with self._metrics_wakeup:
            self._metrics_wakeup.notify_all()
        if (
            self._metrics_thread is not None
            and self._metrics_thread is not threading.current_thread()
        ):
            self._metrics_thread.join(BACKGROUND_THREAD_JOIN_TIMEOUT)

    def _update_unfinished_work_loop(self) -> None:
        with self._metrics_wakeup:
            while True:
                self._clock.wait(self._metrics_wakeup, UNFINISHED_WORK_UPDATE_PERIOD)
                with self._cond:
                    if self._shutting_down:
                        return
                    self._metrics.update_unfinished_work()
