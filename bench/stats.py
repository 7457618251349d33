"""Latency distributions: percentiles of measured samples, and upper bounds read from histograms."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (the smallest sample with at least ``fraction`` of samples ≤ it)."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return sorted_samples[rank - 1]


@dataclass(frozen=True)
class Distribution:
    """Seconds; every figure is a real sample (nearest rank), never an interpolation."""

    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    samples: tuple[float, ...] = field(repr=False)  # sorted

    @classmethod
    def of(cls, samples: Iterable[float]) -> Distribution:
        ordered = sorted(samples)
        return cls(
            count=len(ordered),
            mean=sum(ordered) / len(ordered),
            p50=percentile(ordered, 0.50),
            p95=percentile(ordered, 0.95),
            p99=percentile(ordered, 0.99),
            max=ordered[-1],
            samples=tuple(ordered),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean_s": self.mean,
            "p50_s": self.p50,
            "p95_s": self.p95,
            "p99_s": self.p99,
            "max_s": self.max,
            "samples_s": [round(sample, 6) for sample in self.samples],
        }


def histogram_quantile_bound(buckets: Mapping[float, float], fraction: float) -> float | None:
    """The upper bound of the bucket holding the ``fraction`` quantile of a cumulative histogram.

    ``buckets`` maps each ``le`` bound (``inf`` included) to its cumulative count; None when empty.
    """
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    wanted = fraction * total
    return next(bound for bound in sorted(buckets) if buckets[bound] >= wanted)


def seconds(value: float) -> str:
    """A duration for a report: µs below a millisecond, ms below a second, else seconds."""
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"
