"""client-go's rate-limiting queue: a delaying queue whose retries wait as a rate limiter says."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from wfe.runtime.workqueue.clock import REAL_CLOCK, Clock
from wfe.runtime.workqueue.delaying_queue import DelayingQueue
from wfe.runtime.workqueue.metrics import MetricsProvider
from wfe.runtime.workqueue.prometheus_metrics import PROMETHEUS_METRICS_PROVIDER
from wfe.runtime.workqueue.rate_limiters import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    """A `DelayingQueue` with rate-limited re-adds; the default limiter is controller-runtime's."""

    def __init__(
        self,
        name: str = "",
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Clock = REAL_CLOCK,
        metrics_provider: MetricsProvider = PROMETHEUS_METRICS_PROVIDER,
    ) -> None:
        super().__init__(name, clock=clock, metrics_provider=metrics_provider)
        if rate_limiter is None:
            rate_limiter = default_controller_rate_limiter(clock=clock)
        self._rate_limiter = rate_limiter

    def add_rate_limited(self, item: T) -> None:
        """Add `item` after the delay the rate limiter gives it (counts as one requeue)."""
        self.add_after(item, self._rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset `item`'s backoff; call it once the item was processed successfully."""
        self._rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self._rate_limiter.num_requeues(item)
