"""client-go's rate limiters: how long an item waits before it is retried.

`default_controller_rate_limiter()` is controller-runtime's default: per-item exponential backoff
(5 ms doubling to 1000 s) combined with an overall token bucket (10 qps, burst 100).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import Protocol

from wfe.runtime.workqueue.clock import REAL_CLOCK, Clock


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds `item` must wait before it is added again; each call counts one retry."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking `item` (it succeeded): its next failure starts the backoff afresh."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times `item` has been requeued since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter:
    """Waits `base_delay * 2**failures` for an item, capped at `max_delay`."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._lock = threading.Lock()
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        with self._lock:
            exponent = self._failures.get(item, 0)
            self._failures[item] = exponent + 1
        try:
            backoff = math.ldexp(self._base_delay, exponent)
        except OverflowError:
            return self._max_delay
        return min(backoff, self._max_delay)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket shared by all items (golang.org/x/time/rate reservations).

    The bucket starts full with `burst` tokens and refills at `qps` tokens per second; each
    `when` reserves a token and returns how long to wait until it is available.
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock = REAL_CLOCK) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"token bucket needs qps > 0 and burst >= 1, got {qps=} {burst=}")
        self._qps = qps
        self._burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock.now()

    def when(self, item: Hashable) -> float:
        with self._lock:
            now = self._clock.now()
            elapsed = max(0.0, now - self._last)
            tokens = min(self._tokens + elapsed * self._qps, float(self._burst)) - 1.0
            self._tokens = tokens
            self._last = now
            return -tokens / self._qps if tokens < 0 else 0.0

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """Asks every limiter and waits the longest of their answers."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        # Every limiter must see the retry, so compute them all before taking the max.
        return max([limiter.when(item) for limiter in self._limiters])

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_rate_limiter(*, clock: Clock = REAL_CLOCK) -> RateLimiter:
    """controller-runtime's default: max of 5 ms..1000 s per-item backoff and a 10 qps/100 bucket."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(base_delay=0.005, max_delay=1000.0),
        BucketRateLimiter(qps=10.0, burst=100, clock=clock),
    )
