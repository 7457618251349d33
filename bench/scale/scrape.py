"""One scrape of the controller's ``/metrics``, parsed: sums of samples and histogram buckets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

CONTROLLER = "workflowexecution"  # the controller's name on controller_runtime_* and workqueue_*

RECONCILE_TOTAL = "controller_runtime_reconcile_total"
RECONCILE_TIME = "controller_runtime_reconcile_time_seconds"
ACTIVE_WORKERS = "controller_runtime_active_workers"
QUEUE_DEPTH = "workqueue_depth"
QUEUE_ADDS = "workqueue_adds_total"
QUEUE_WAIT = "workqueue_queue_duration_seconds"
LOCK_CHECK = "workflowexecution_resource_lock_check_duration_seconds"
STATUS_SYNC = "workflowexecution_status_sync_latency_seconds"

Buckets = dict[float, float]  # le bound -> cumulative count


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Scrape:
    samples: tuple[Sample, ...]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        return cls(
            tuple(
                Sample(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(text)
                for s in family.samples
            )
        )

    def value(self, metric: str, /, **labels: str) -> float:
        """The sum of every sample called ``name`` whose labels include ``labels``."""
        return sum(s.value for s in self.samples if s.name == metric and _has(s.labels, labels))

    def has(self, metric: str) -> bool:
        return any(s.name == metric for s in self.samples)

    def buckets(self, histogram: str, /, **labels: str) -> Buckets:
        """The cumulative buckets of ``histogram`` (summed over other labels), ``le`` → count."""
        out: Buckets = {}
        for s in self.samples:
            if s.name == f"{histogram}_bucket" and _has(s.labels, labels):
                bound = float(s.labels["le"])
                out[bound] = out.get(bound, 0.0) + s.value
        return out


def _has(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def buckets_between(before: Buckets, after: Buckets) -> Buckets:
    """The observations made between two readings of one histogram."""
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()} or {
        math.inf: 0.0
    }


def fraction_within(buckets: Buckets, bound: float) -> float | None:
    """The fraction of observations ≤ ``bound`` (a bucket bound), None when there are none."""
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    if bound not in buckets:
        raise ValueError(f"{bound} is not a bucket bound of this histogram: {sorted(buckets)}")
    return buckets[bound] / total
