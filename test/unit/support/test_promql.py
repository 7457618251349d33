"""The PromQL metric-name reader the dashboard and alert lint relies on."""

from __future__ import annotations

import pytest
from support.promql import exported_sample_names, metric_names


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("max(workflowexecution_active)", {"workflowexecution_active"}),
        (
            'histogram_quantile(0.99, sum by (le) (rate(x_bucket{name="a",le=~"10(\\\\.0)?"}[$__rate_interval])))',
            {"x_bucket"},
        ),
        (
            '(max(leader{name="a"}) or vector(0)) < 1',
            {"leader"},
        ),
        (
            "sum(rate(a_total[1h])) / sum(rate(b_total[1h30m])) > 0.25 and sum(increase(c[5m] offset 1d)) >= 4e3",
            {"a_total", "b_total", "c"},
        ),
        ("sum without (pod) (x) * on (job) group_left (instance) y", {"x", "y"}),
        ("max_over_time(rate(z_total[5m])[1h:5m])", {"z_total"}),
    ],
)
def test_only_the_series_names_are_read(expression: str, names: set[str]) -> None:
    assert metric_names(expression) == names


def test_exported_names_follow_each_metric_type_even_before_any_sample() -> None:
    scrape = (
        "# HELP runs_total Runs.\n# TYPE runs_total counter\n"
        "# HELP took Time.\n# TYPE took histogram\n"
        "# HELP depth Depth.\n# TYPE depth gauge\ndepth 3.0\n"
    )
    assert exported_sample_names(scrape) == {
        "runs_total",
        "took_bucket",
        "took_count",
        "took_sum",
        "depth",
    }
