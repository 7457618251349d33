"""Whether a resource grows over a soak: a least-squares line through the second half of the samples.

The first half is left out on purpose: caches fill, connection pools open and the allocator finds
its working set early on. What still climbs in the second half is what would climb for ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S


@dataclass(frozen=True)
class Line:
    slope: float  # units per second
    intercept: float


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> Line:
    """Ordinary least squares; a flat line through the mean when every x is the same."""
    if len(xs) != len(ys) or not xs:
        raise ValueError("need as many x as y, and at least one point")
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return Line(0.0, mean_y)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Line(slope, mean_y - slope * mean_x)


@dataclass(frozen=True)
class Growth:
    """The fitted growth of one resource over the second half of a soak."""

    unit: str
    samples: int  # in the fitted half
    first: float  # first and last sample of the fitted half, and its mean
    last: float
    mean: float
    per_hour: float  # the fitted slope
    budget: float  # what the resource may use at most (the verdict's scale)
    tolerated_per_day: float  # growth per day still called flat: a fraction of the budget

    @property
    def per_day(self) -> float:
        return self.per_hour * 24

    @property
    def grows(self) -> bool:
        return self.per_day > self.tolerated_per_day

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "per_day": self.per_day, "grows": self.grows}


def second_half(times: Sequence[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The samples taken in the second half of the time span (at least two, when there are two)."""
    if len(times) != len(values):
        raise ValueError("need as many times as values")
    if len(times) < 2:
        return list(times), list(values)
    middle = times[0] + (times[-1] - times[0]) / 2
    kept = [(t, v) for t, v in zip(times, values, strict=True) if t >= middle]
    if len(kept) < 2:
        kept = list(zip(times[-2:], values[-2:], strict=True))
    return [t for t, _ in kept], [v for _, v in kept]


def growth(
    times: Sequence[float],
    values: Sequence[float],
    *,
    unit: str,
    budget: float,
    tolerated_fraction_per_day: float,
) -> Growth:
    """Fits the second half of ``values`` (sampled at ``times``, seconds) against time.

    The resource counts as growing when the fitted line would add more than
    ``tolerated_fraction_per_day`` of ``budget`` in a day.
    """
    xs, ys = second_half(times, values)
    return fitted(
        xs, ys, unit=unit, budget=budget, tolerated_fraction_per_day=tolerated_fraction_per_day
    )


def fitted(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    unit: str,
    budget: float,
    tolerated_fraction_per_day: float,
) -> Growth:
    """The line through every one of the samples given (``growth`` gives it the second half)."""
    if not xs:
        raise ValueError("no samples")
    line = fit_line(xs, ys)
    return Growth(
        unit=unit,
        samples=len(xs),
        first=ys[0],
        last=ys[-1],
        mean=sum(ys) / len(ys),
        per_hour=line.slope * HOUR_S,
        budget=budget,
        tolerated_per_day=tolerated_fraction_per_day * budget,
    )
