"""The rate-limiting queue: retries wait as the limiter says, and forget resets the backoff."""

from __future__ import annotations

from support.wait import wait_for

from wfe.runtime.workqueue import FakeClock, ItemExponentialFailureRateLimiter, RateLimitingQueue

START = 1000.0


def test_each_rate_limited_add_waits_longer_until_forgotten() -> None:
    clock = FakeClock(START)
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        rate_limiter=ItemExponentialFailureRateLimiter(base_delay=1, max_delay=60), clock=clock
    )

    queue.add_rate_limited("a")
    queue.add_rate_limited("b")
    queue.add_rate_limited("a")
    wait_for(lambda: clock.deadlines() == [START + 1])

    assert queue.num_requeues("a") == 2
    assert queue.num_requeues("b") == 1
    clock.step(1)
    wait_for(lambda: len(queue) == 2)

    queue.forget("a")
    assert queue.num_requeues("a") == 0


def test_a_queue_without_a_limiter_retries_soon_with_the_default_backoff() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue()

    queue.add_rate_limited("a")

    assert queue.num_requeues("a") == 1
    wait_for(lambda: len(queue) == 1)
    queue.shutdown()
