"""client-go's delaying queue: `add_after` holds an item back until its ready time, then adds it.

One waiting-loop thread keeps a heap ordered by ready time; for an item already waiting, the
earlier ready time wins. `discard_waiting` cancels an item's wake-up (its object was deleted: the
wake-up would find nothing), so that what waits is bounded by what exists, not by everything that
asked for a wake-up in the last ``requeue_after`` (35 minutes for a Running WorkflowExecution).
Superseded and cancelled entries are skipped when they come up, and the heap is rebuilt without
them once they are more than half of it, so their memory does not wait for their ready time either.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Hashable
from typing import TypeVar

from wfe.runtime.workqueue.clock import REAL_CLOCK, Clock
from wfe.runtime.workqueue.metrics import MetricsProvider
from wfe.runtime.workqueue.prometheus_metrics import PROMETHEUS_METRICS_PROVIDER
from wfe.runtime.workqueue.queue import BACKGROUND_THREAD_JOIN_TIMEOUT, Queue

T = TypeVar("T", bound=Hashable)

# below this many entries, stale ones are left for the waiting loop to skip (a rebuild is O(n))
_COMPACT_FROM = 64


class DelayingQueue(Queue[T]):
    """A `Queue` that can also add an item after a delay."""

    def __init__(
        self,
        name: str = "",
        *,
        clock: Clock = REAL_CLOCK,
        metrics_provider: MetricsProvider = PROMETHEUS_METRICS_PROVIDER,
    ) -> None:
        super().__init__(name, clock=clock, metrics_provider=metrics_provider)
        self._waiting = threading.Condition()
        # (ready_at, sequence, item); the sequence keeps items out of comparisons. Entries whose
        # ready_at no longer matches `_ready_at[item]` were superseded and are skipped.
        self._waiting_heap: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._sequence = itertools.count()
        self._waiting_stopped = False
        self._waiting_thread = threading.Thread(
            target=self._waiting_loop, name=f"workqueue-delay-{name}", daemon=True
        )
        self._waiting_thread.start()

    def add_after(self, item: T, seconds: float) -> None:
        """Add `item` once `seconds` have passed; at once if `seconds <= 0`."""
        if self.shutting_down():
            return
        self._metrics.retry()
        if seconds <= 0:
            self.add(item)
            return
        with self._waiting:
            if self._waiting_stopped:
                return
            ready_at = self._clock.now() + seconds
            current = self._ready_at.get(item)
            if current is not None and current <= ready_at:
                return
            self._ready_at[item] = ready_at
            heapq.heappush(self._waiting_heap, (ready_at, next(self._sequence), item))
            if current is not None:
                self._compact_if_mostly_stale()
            self._waiting.notify()

    def discard_waiting(self, item: T) -> None:
        """Cancel `item`'s pending `add_after`, if any; an item already added stays queued."""
        with self._waiting:
            if self._ready_at.pop(item, None) is not None:
                self._compact_if_mostly_stale()

    def waiting(self) -> int:
        """How many items wait for their ready time."""
        with self._waiting:
            return len(self._ready_at)

    def _compact_if_mostly_stale(self) -> None:
        """Rebuild the heap without superseded and cancelled entries once they are the majority
        (amortised O(1) per entry: a rebuild at least halves the heap). Called holding the lock."""
        heap = self._waiting_heap
        if len(heap) < _COMPACT_FROM or len(heap) <= 2 * len(self._ready_at):
            return
        ready_at = self._ready_at
        self._waiting_heap = [entry for entry in heap if ready_at.get(entry[2]) == entry[0]]
        heapq.heapify(self._waiting_heap)

    def _waiting_loop(self) -> None:
        with self._waiting:
            while not self._waiting_stopped:
                now = self._clock.now()
                for item in self._pop_ready(now):
                    self.add(item)
                timeout = self._waiting_heap[0][0] - now if self._waiting_heap else None
                self._clock.wait(self._waiting, timeout)

    def _pop_ready(self, now: float) -> list[T]:
        ready: list[T] = []
        while self._waiting_heap and self._waiting_heap[0][0] <= now:
            ready_at, _, item = heapq.heappop(self._waiting_heap)
            if self._ready_at.get(item) == ready_at:
                del self._ready_at[item]
                ready.append(item)
        return ready

    def _stop_background_threads(self) -> None:
        super()._stop_background_threads()
        with self._waiting:
            self._waiting_stopped = True
            self._waiting_heap.clear()
            self._ready_at.clear()
            self._waiting.notify_all()
        if self._waiting_thread is not threading.current_thread():
            self._waiting_thread.join(BACKGROUND_THREAD_JOIN_TIMEOUT)
