"""Rate limiter arithmetic: per-item exponential backoff, the token bucket, and their maximum."""

from __future__ import annotations

import pytest

from wfe.runtime.workqueue import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


def test_exponential_backoff_doubles_from_the_base_delay_up_to_the_cap() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=0.005, max_delay=1000)

    delays = [limiter.when("a") for _ in range(20)]

    assert delays[:5] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18:] == [1000, 1000]
    assert limiter.num_requeues("a") == 20


def test_exponential_backoff_stays_at_the_cap_however_many_failures() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=0.005, max_delay=1000)

    delays = [limiter.when("a") for _ in range(2000)]

    assert delays[-1] == 1000


def test_exponential_backoff_is_counted_per_item() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=1, max_delay=100)
    limiter.when("a")
    limiter.when("a")

    assert limiter.when("b") == 1
    assert limiter.when("a") == 4


def test_forget_restarts_the_backoff() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=1, max_delay=100)
    limiter.when("a")
    limiter.when("a")

    limiter.forget("a")

    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1


def test_bucket_lets_a_burst_through_then_spaces_requests_at_qps() -> None:
    limiter = BucketRateLimiter(qps=10, burst=100, clock=FakeClock())

    burst = [limiter.when(f"item-{i}") for i in range(100)]
    after_burst = [limiter.when("x") for _ in range(3)]

    assert burst == [0.0] * 100
    assert after_burst == pytest.approx([0.1, 0.2, 0.3])


def test_bucket_refills_at_qps_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10, burst=5, clock=clock)
    for _ in range(7):
        limiter.when("x")  # two tokens of debt

    clock.step(0.5)  # +5 tokens: 3 available
    assert [limiter.when("x") for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])

    clock.step(3600)
    assert [limiter.when("x") for _ in range(6)] == pytest.approx([0] * 5 + [0.1])


def test_bucket_tracks_no_items() -> None:
    limiter = BucketRateLimiter(qps=1, burst=1, clock=FakeClock())
    limiter.when("a")

    assert limiter.num_requeues("a") == 0


def test_bucket_rejects_a_useless_configuration() -> None:
    with pytest.raises(ValueError):
        BucketRateLimiter(qps=0, burst=1)
    with pytest.raises(ValueError):
        BucketRateLimiter(qps=1, burst=0)


def test_max_of_waits_the_longest_and_forgets_everywhere() -> None:
    slow = ItemExponentialFailureRateLimiter(base_delay=2, max_delay=100)
    fast = ItemExponentialFailureRateLimiter(base_delay=1, max_delay=100)
    limiter = MaxOfRateLimiter(fast, slow)

    assert [limiter.when("a") for _ in range(3)] == [2, 4, 8]
    assert limiter.num_requeues("a") == 3

    limiter.forget("a")
    assert slow.num_requeues("a") == 0
    assert fast.num_requeues("a") == 0


def test_the_default_controller_limiter_backs_off_per_item_and_limits_overall_rate() -> None:
    limiter = default_controller_rate_limiter(clock=FakeClock())

    first_failures = [limiter.when("a") for _ in range(3)]
    for i in range(97):
        limiter.when(f"other-{i}")  # the 100-token burst is now spent

    assert first_failures == [0.005, 0.01, 0.02]
    assert limiter.when("fresh") == pytest.approx(0.1), "the 10 qps bucket outweighs 5 ms"
