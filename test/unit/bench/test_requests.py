"""Request-count arithmetic: what the system under test asked of the API server, per workflow."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.apiserver_requests import (
    READ_VERBS,
    WRITE_VERBS,
    RequestKind,
    per_workflow,
    requests_by,
    total,
)
from bench.controller_metrics import lock_check_buckets, reconciles_total, sum_and_count

POST_WFE = RequestKind("POST", "workflowexecutions", "")
PUT_STATUS = RequestKind("PUT", "workflowexecutions", "status")
POST_RUN = RequestKind("POST", "pipelineruns", "")
POST_RUN_CONFLICT = RequestKind("POST", "pipelineruns", "", "409")


def test_the_load_process_own_requests_are_subtracted() -> None:
    before = Counter({POST_WFE: 10, PUT_STATUS: 4})
    after = Counter({POST_WFE: 110, PUT_STATUS: 204, POST_RUN: 100, POST_RUN_CONFLICT: 5})
    load = Counter({POST_WFE: 100})
    assert requests_by(before, after, load) == Counter(
        {PUT_STATUS: 200, POST_RUN: 100, POST_RUN_CONFLICT: 5}
    )


def test_watches_leases_and_non_resource_requests_are_not_the_controller_work() -> None:
    after = Counter(
        {
            RequestKind("WATCH", "workflowexecutions", ""): 3,
            RequestKind("PUT", "leases", ""): 40,
            RequestKind("GET", "", ""): 12,  # /metrics
            PUT_STATUS: 2,
        }
    )
    assert requests_by(Counter(), after) == Counter({PUT_STATUS: 2})


def test_a_load_count_above_what_was_served_counts_as_none() -> None:
    assert requests_by(Counter(), Counter({POST_WFE: 1}), Counter({POST_WFE: 3})) == Counter()


def test_per_workflow_names_each_kind_and_drops_the_noise() -> None:
    counts = Counter({PUT_STATUS: 600, POST_RUN: 300, POST_RUN_CONFLICT: 30, POST_WFE: 1})
    rows = per_workflow(counts, 300)
    assert rows == {
        "PUT workflowexecutions/status": 2.0,
        "POST pipelineruns": 1.0,
        "POST pipelineruns [409]": 0.1,
    }  # one request in 300 workflows is under the 1 % shown
    assert total(rows, WRITE_VERBS) == pytest.approx(3.1)
    assert total(rows, READ_VERBS) == 0.0


SCRAPE = """\
# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="workflowexecution",result="success"} 120.0
controller_runtime_reconcile_total{controller="workflowexecution",result="requeue"} 3.0
controller_runtime_reconcile_total{controller="other",result="success"} 50.0
# TYPE workqueue_queue_duration_seconds histogram
workqueue_queue_duration_seconds_bucket{name="workflowexecution",le="+Inf"} 10.0
workqueue_queue_duration_seconds_sum{name="workflowexecution"} 0.5
workqueue_queue_duration_seconds_count{name="workflowexecution"} 10.0
# TYPE workflowexecution_resource_lock_check_duration_seconds histogram
workflowexecution_resource_lock_check_duration_seconds_bucket{le="0.001"} 9.0
workflowexecution_resource_lock_check_duration_seconds_bucket{le="+Inf"} 10.0
workflowexecution_resource_lock_check_duration_seconds_sum 0.004
workflowexecution_resource_lock_check_duration_seconds_count 10.0
"""


def test_scraped_metrics_read_only_the_workflowexecution_controller() -> None:
    assert reconciles_total(SCRAPE) == 123.0
    assert sum_and_count(SCRAPE, "workqueue_queue_duration_seconds") == (0.5, 10.0)
    assert lock_check_buckets(SCRAPE) == {0.001: 9.0, float("inf"): 10.0}
    assert reconciles_total("") == 0.0
