"""Reading the controller's /metrics: sums by label, histogram buckets, and "drained"."""

from __future__ import annotations

import math

import pytest

from bench.scale.cold_start import drained
from bench.scale.scrape import LOCK_CHECK, Scrape, buckets_between, fraction_within

TEXT = """\
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="workflowexecution",result="success"} 290.0
controller_runtime_reconcile_total{controller="workflowexecution",result="requeue_after"} 10.0
controller_runtime_reconcile_total{controller="other",result="success"} 5.0
# TYPE controller_runtime_active_workers gauge
controller_runtime_active_workers{controller="workflowexecution"} 0.0
# TYPE workqueue_depth gauge
workqueue_depth{controller="workflowexecution",name="workflowexecution",priority=""} 0.0
# TYPE workflowexecution_resource_lock_check_duration_seconds histogram
workflowexecution_resource_lock_check_duration_seconds_bucket{le="0.001"} 990.0
workflowexecution_resource_lock_check_duration_seconds_bucket{le="0.0025"} 999.0
workflowexecution_resource_lock_check_duration_seconds_bucket{le="+Inf"} 1000.0
workflowexecution_resource_lock_check_duration_seconds_count 1000.0
workflowexecution_resource_lock_check_duration_seconds_sum 0.5
"""


def test_values_sum_over_the_samples_carrying_the_given_labels() -> None:
    scrape = Scrape.parse(TEXT)
    total = "controller_runtime_reconcile_total"
    assert scrape.value(total, controller="workflowexecution") == 300.0
    assert scrape.value(total) == 305.0
    assert scrape.value(total, controller="none") == 0.0
    assert scrape.has("workqueue_depth") and not scrape.has("absent")


def test_histogram_buckets_and_the_share_within_a_bound() -> None:
    before = {0.001: 90.0, 0.0025: 99.0, math.inf: 100.0}
    between = buckets_between(before, Scrape.parse(TEXT).buckets(LOCK_CHECK))
    assert between == {0.001: 900.0, 0.0025: 900.0, math.inf: 900.0}
    assert fraction_within(between, 0.001) == 1.0
    assert fraction_within({math.inf: 0.0}, 0.001) is None
    with pytest.raises(ValueError):
        fraction_within(between, 0.002)


def test_drained_needs_every_seeded_one_reconciled_and_nothing_queued_or_running() -> None:
    scrape = Scrape.parse(TEXT)
    assert drained(scrape, 300)
    assert not drained(scrape, 301)
    busy = Scrape.parse(
        TEXT.replace('controller="workflowexecution"} 0.0', 'controller="workflowexecution"} 1.0')
    )
    assert not drained(busy, 300)
