"""Prometheus work queue metrics with controller-runtime's names and labels, on the process registry.

Like controller-runtime, both `name` and `controller` carry the queue's name; `priority` is empty
because these queues have no priorities.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.workqueue.metrics import (
    CounterMetric,
    GaugeMetric,
    HistogramMetric,
    SettableGaugeMetric,
)

_LABELS = ("name", "controller")
# prometheus.ExponentialBuckets(10e-9, 10, 12): 1e-8 s .. 1e3 s.
_DURATION_BUCKETS = tuple(10.0**exponent for exponent in range(-8, 4))

_depth = Gauge(
    "workqueue_depth",
    "Current depth of workqueue by workqueue and priority",
    (*_LABELS, "priority"),
    registry=REGISTRY,
)
_adds = Counter(
    "workqueue_adds_total",
    "Total number of adds handled by workqueue",
    _LABELS,
    registry=REGISTRY,
)
_latency = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested",
    _LABELS,
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
_work_duration = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    _LABELS,
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
_unfinished_work = Gauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been observed by "
    "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
    "threads by observing the rate at which this increases.",
    _LABELS,
    registry=REGISTRY,
)
_longest_running_processor = Gauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
    _LABELS,
    registry=REGISTRY,
)
_retries = Counter(
    "workqueue_retries_total",
    "Total number of retries handled by workqueue",
    _LABELS,
    registry=REGISTRY,
)


class PrometheusMetricsProvider:
    """Hands each named queue its children of the shared `workqueue_*` metric vectors."""

    def new_depth_metric(self, name: str) -> GaugeMetric:
        return _depth.labels(name, name, "")

    def new_adds_metric(self, name: str) -> CounterMetric:
        return _adds.labels(name, name)

    def new_latency_metric(self, name: str) -> HistogramMetric:
        return _latency.labels(name, name)

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        return _work_duration.labels(name, name)

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _unfinished_work.labels(name, name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _longest_running_processor.labels(name, name)

    def new_retries_metric(self, name: str) -> CounterMetric:
        return _retries.labels(name, name)


PROMETHEUS_METRICS_PROVIDER = PrometheusMetricsProvider()
