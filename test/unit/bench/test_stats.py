"""The benchmark's arithmetic: nearest-rank percentiles, histogram bounds, and how figures read."""

from __future__ import annotations

import math

import pytest

from bench.controller_metrics import buckets_between
from bench.stats import Distribution, histogram_quantile_bound, percentile


def test_nearest_rank_percentile_is_always_a_real_sample() -> None:
    samples = [float(i) for i in range(1, 101)]  # 1..100
    assert percentile(samples, 0.50) == 50.0
    assert percentile(samples, 0.95) == 95.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_distribution_sorts_and_summarises() -> None:
    d = Distribution.of([0.3, 0.1, 0.2, 0.4])
    assert (d.count, d.p50, d.max) == (4, 0.2, 0.4)
    assert d.mean == pytest.approx(0.25)
    assert d.samples == (0.1, 0.2, 0.3, 0.4)


def test_histogram_bound_is_the_bucket_that_holds_the_quantile() -> None:
    # 90 observations <= 0.005, 9 more <= 0.01, 1 more <= 0.1
    cumulative = {0.005: 90.0, 0.01: 99.0, 0.1: 100.0, math.inf: 100.0}
    assert histogram_quantile_bound(cumulative, 0.50) == 0.005
    assert histogram_quantile_bound(cumulative, 0.99) == 0.01
    assert histogram_quantile_bound(cumulative, 1.0) == 0.1
    assert histogram_quantile_bound({math.inf: 0.0}, 0.99) is None


def test_observations_between_two_readings() -> None:
    before = {0.01: 5.0, math.inf: 6.0}
    after = {0.01: 9.0, math.inf: 12.0}
    assert buckets_between(before, after) == {0.01: 4.0, math.inf: 6.0}
