"""Work queue metrics hooks (client-go's queueMetrics): what a queue measures, behind a provider."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from wfe.runtime.workqueue.clock import Clock

T = TypeVar("T", bound=Hashable)


class GaugeMetric(Protocol):
    def inc(self) -> None: ...

    def dec(self) -> None: ...


class SettableGaugeMetric(Protocol):
    def set(self, value: float) -> None: ...


class CounterMetric(Protocol):
    def inc(self) -> None: ...


class HistogramMetric(Protocol):
    def observe(self, amount: float) -> None: ...


class MetricsProvider(Protocol):
    """Creates the metrics of one named queue (client-go's workqueue.MetricsProvider)."""

    def new_depth_metric(self, name: str) -> GaugeMetric: ...

    def new_adds_metric(self, name: str) -> CounterMetric: ...

    def new_latency_metric(self, name: str) -> HistogramMetric: ...

    def new_work_duration_metric(self, name: str) -> HistogramMetric: ...

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric: ...

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric: ...

    def new_retries_metric(self, name: str) -> CounterMetric: ...


class _NoopMetric:
    def inc(self) -> None:
        pass

    def dec(self) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


class NoopMetricsProvider:
    """A provider whose metrics record nothing; queues using it skip all bookkeeping."""

    def new_depth_metric(self, name: str) -> GaugeMetric:
        return _NoopMetric()

    def new_adds_metric(self, name: str) -> CounterMetric:
        return _NoopMetric()

    def new_latency_metric(self, name: str) -> HistogramMetric:
        return _NoopMetric()

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        return _NoopMetric()

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _NoopMetric()

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _NoopMetric()

    def new_retries_metric(self, name: str) -> CounterMetric:
        return _NoopMetric()


class QueueMetrics(Generic[T]):
    """Per-queue bookkeeping behind the hooks. The queue calls it while holding its own lock."""

    enabled = True

    def __init__(self, name: str, provider: MetricsProvider, clock: Clock) -> None:
        self._clock = clock
        self._depth = provider.new_depth_metric(name)
        self._adds = provider.new_adds_metric(name)
        self._latency = provider.new_latency_metric(name)
        self._work_duration = provider.new_work_duration_metric(name)
        self._unfinished_work_seconds = provider.new_unfinished_work_seconds_metric(name)
        self._longest_running_processor = provider.new_longest_running_processor_seconds_metric(
            name
        )
        self._retries = provider.new_retries_metric(name)
        self._added_at: dict[T, float] = {}
        self._processing_since: dict[T, float] = {}

    def add(self, item: T) -> None:
        self._adds.inc()
        self._depth.inc()
        # The first add starts the wait; collapsed duplicates do not restart it.
        self._added_at.setdefault(item, self._clock.now())

    def get(self, item: T) -> None:
        now = self._clock.now()
        self._depth.dec()
        self._processing_since[item] = now
        added_at = self._added_at.pop(item, None)
        if added_at is not None:
            self._latency.observe(now - added_at)

    def done(self, item: T) -> None:
        started = self._processing_since.pop(item, None)
        if started is not None:
            self._work_duration.observe(self._clock.now() - started)

    def update_unfinished_work(self) -> None:
        now = self._clock.now()
        ages = [now - started for started in self._processing_since.values()]
        self._unfinished_work_seconds.set(sum(ages))
        self._longest_running_processor.set(max(ages, default=0.0))

    def retry(self) -> None:
        self._retries.inc()


class NoQueueMetrics(QueueMetrics[T]):
    """Bookkeeping that does nothing: for unnamed queues and the no-op provider (as client-go)."""

    enabled = False

    def __init__(self) -> None:
        pass

    def add(self, item: T) -> None:
        pass

    def get(self, item: T) -> None:
        pass

    def done(self, item: T) -> None:
        pass

    def update_unfinished_work(self) -> None:
        pass

    def retry(self) -> None:
        pass


def new_queue_metrics(name: str, provider: MetricsProvider, clock: Clock) -> QueueMetrics[T]:
    """Metrics for a queue; an unnamed queue or the no-op provider measures nothing."""
    if not name or isinstance(provider, NoopMetricsProvider):
        return NoQueueMetrics()
    return QueueMetrics(name, provider, clock)
