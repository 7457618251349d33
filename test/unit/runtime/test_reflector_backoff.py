"""The reflector's reconnect backoff: client-go's 800 ms → 30 s doubling, jitter bounds, healthy reset."""

from __future__ import annotations

import random

import pytest

from wfe.runtime.cache import ExponentialBackoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_jitter_delays_double_from_800ms_and_stop_at_30s() -> None:
    backoff = ExponentialBackoff(jitter=0.0, now=FakeClock())

    delays = [backoff.next_delay() for _ in range(9)]

    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0])


def test_full_jitter_stretches_each_delay_by_less_than_its_own_length() -> None:
    rng = random.Random(7)
    backoff = ExponentialBackoff(now=FakeClock(), rand=rng.random)
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]

    for base in bases:
        delay = backoff.next_delay()
        assert base <= delay < 2 * base


def test_jitter_bounds_are_reached_at_the_extremes_of_the_random_draw() -> None:
    lowest = ExponentialBackoff(now=FakeClock(), rand=lambda: 0.0)
    highest = ExponentialBackoff(now=FakeClock(), rand=lambda: 0.999999)

    assert lowest.next_delay() == pytest.approx(0.8)
    assert highest.next_delay() == pytest.approx(1.6, rel=1e-5)


def test_the_delay_starts_over_after_a_healthy_period_without_backoff() -> None:
    clock = FakeClock()
    backoff = ExponentialBackoff(jitter=0.0, now=clock)
    for _ in range(5):
        backoff.next_delay()

    clock.now += 121.0  # healthier than client-go's two minutes

    assert backoff.next_delay() == pytest.approx(0.8)


def test_the_delay_keeps_growing_while_failures_come_within_the_reset_period() -> None:
    clock = FakeClock()
    backoff = ExponentialBackoff(jitter=0.0, now=clock)
    backoff.next_delay()

    clock.now += 119.0

    assert backoff.next_delay() == pytest.approx(1.6)


def test_nonsensical_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        ExponentialBackoff(initial=0.0)
    with pytest.raises(ValueError):
        ExponentialBackoff(initial=5.0, cap=1.0)
