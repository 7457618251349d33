"""The soak's growth figure: a least-squares line through the second half, judged against a budget."""

from __future__ import annotations

import pytest

from bench.scale.growth import fit_line, growth, second_half


def test_the_line_through_exact_points_is_found() -> None:
    line = fit_line([0.0, 1.0, 2.0, 3.0], [5.0, 7.0, 9.0, 11.0])
    assert line.slope == pytest.approx(2.0)
    assert line.intercept == pytest.approx(5.0)


def test_one_x_gives_a_flat_line_through_the_mean_not_a_division_by_zero() -> None:
    line = fit_line([4.0, 4.0], [1.0, 3.0])
    assert (line.slope, line.intercept) == (0.0, 2.0)
    with pytest.raises(ValueError):
        fit_line([], [])
    with pytest.raises(ValueError):
        fit_line([1.0], [1.0, 2.0])


def test_only_the_second_half_of_the_time_span_is_fitted() -> None:
    times = [0.0, 100.0, 200.0, 300.0, 400.0]
    xs, ys = second_half(times, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert xs == [200.0, 300.0, 400.0]
    assert ys == [3.0, 4.0, 5.0]
    assert second_half([0.0], [7.0]) == ([0.0], [7.0])


def test_warm_up_growth_in_the_first_half_is_not_a_leak() -> None:
    # caches fill during the first half, then memory stays flat
    times = [float(t) for t in range(0, 1800, 60)]
    rss = [50_000.0 + min(t, 600.0) * 10 for t in times]  # KiB
    g = growth(times, rss, unit="KiB", budget=250_000.0, tolerated_fraction_per_day=0.1)
    assert g.per_hour == pytest.approx(0.0)
    assert not g.grows
    assert g.first == g.last == 56_000.0


def test_a_steady_climb_in_the_second_half_is_a_leak() -> None:
    times = [float(t) for t in range(0, 1800, 60)]
    fds = [10.0 + t / 300 for t in times]  # one more descriptor every five minutes
    g = growth(times, fds, unit="fds", budget=1024.0, tolerated_fraction_per_day=0.1)
    assert g.per_hour == pytest.approx(12.0)
    assert g.per_day == pytest.approx(288.0)
    assert g.tolerated_per_day == pytest.approx(102.4)
    assert g.grows
    assert g.as_dict()["grows"] is True


def test_a_climb_within_the_tolerance_is_flat() -> None:
    times = [0.0, 900.0, 1800.0]
    g = growth(
        times, [100.0, 100.5, 101.0], unit="x", budget=1000.0, tolerated_fraction_per_day=0.1
    )
    assert g.per_day == pytest.approx(48.0)
    assert not g.grows
