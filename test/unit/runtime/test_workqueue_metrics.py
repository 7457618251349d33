"""Work queue metrics: what the hooks measure, and the Prometheus series controller-runtime exposes."""

from __future__ import annotations

import threading

from support.wait import wait_for

from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.workqueue import DelayingQueue, FakeClock, Queue, RateLimitingQueue

START = 1000.0


class RecordedMetric:
    def __init__(self) -> None:
        self.value = 0.0
        self.observations: list[float] = []

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1

    def set(self, value: float) -> None:
        self.value = value

    def observe(self, amount: float) -> None:
        self.observations.append(amount)


class RecordingProvider:
    """Keeps every metric it hands out, by kind, for the queue named in each call."""

    def __init__(self) -> None:
        self.metrics: dict[tuple[str, str], RecordedMetric] = {}

    def _new(self, kind: str, name: str) -> RecordedMetric:
        return self.metrics.setdefault((kind, name), RecordedMetric())

    def new_depth_metric(self, name: str) -> RecordedMetric:
        return self._new("depth", name)

    def new_adds_metric(self, name: str) -> RecordedMetric:
        return self._new("adds", name)

    def new_latency_metric(self, name: str) -> RecordedMetric:
        return self._new("latency", name)

    def new_work_duration_metric(self, name: str) -> RecordedMetric:
        return self._new("work_duration", name)

    def new_unfinished_work_seconds_metric(self, name: str) -> RecordedMetric:
        return self._new("unfinished", name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> RecordedMetric:
        return self._new("longest", name)

    def new_retries_metric(self, name: str) -> RecordedMetric:
        return self._new("retries", name)

    def __getitem__(self, kind: str) -> RecordedMetric:
        return self.metrics[(kind, "q")]


def test_depth_and_adds_count_distinct_pending_items() -> None:
    provider = RecordingProvider()
    queue: Queue[str] = Queue("q", metrics_provider=provider, clock=FakeClock(START))

    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert (provider["depth"].value, provider["adds"].value) == (2, 2)

    queue.get()
    assert provider["depth"].value == 1
    queue.shutdown()


def test_queue_latency_and_work_duration_are_measured_on_the_queue_clock() -> None:
    clock = FakeClock(START)
    provider = RecordingProvider()
    queue: Queue[str] = Queue("q", metrics_provider=provider, clock=clock)

    queue.add("a")
    clock.step(3)
    queue.get()
    clock.step(2)
    queue.done("a")

    assert provider["latency"].observations == [3]
    assert provider["work_duration"].observations == [2]
    queue.shutdown()


def test_unfinished_work_is_refreshed_periodically_while_items_are_processed() -> None:
    clock = FakeClock(START)
    provider = RecordingProvider()
    queue: Queue[str] = Queue("q", metrics_provider=provider, clock=clock)
    queue.add("old")
    queue.add("new")
    queue.get()
    clock.step(0.25)
    queue.get()
    wait_for(lambda: clock.deadlines() == [START + 0.5])  # the refresh loop is asleep

    clock.step(4)

    wait_for(lambda: provider["unfinished"].value == 8.25)
    assert provider["longest"].value == 4.25
    queue.shutdown()


def test_delayed_and_rate_limited_adds_count_as_retries() -> None:
    provider = RecordingProvider()
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        "q", metrics_provider=provider, clock=FakeClock(START)
    )

    queue.add("a")
    queue.add_after("a", 1)
    queue.add_rate_limited("b")

    assert provider["retries"].value == 2
    queue.shutdown()


def test_an_unnamed_queue_creates_no_metrics() -> None:
    provider = RecordingProvider()
    queue: Queue[str] = Queue(metrics_provider=provider)

    queue.add("a")

    assert provider.metrics == {}


def test_shutdown_stops_the_metrics_thread() -> None:
    queue: Queue[str] = Queue("metrics-thread-stop-test")

    queue.shutdown()

    assert "workqueue-metrics-metrics-thread-stop-test" not in {
        thread.name for thread in threading.enumerate()
    }


def sample(metric: str, queue_name: str, **extra_labels: str) -> float | None:
    labels = {"name": queue_name, "controller": queue_name, **extra_labels}
    return REGISTRY.get_sample_value(metric, labels)


def test_prometheus_series_carry_controller_runtime_names_and_labels() -> None:
    clock = FakeClock(START)
    queue: DelayingQueue[str] = DelayingQueue("prom-names-test", clock=clock)

    queue.add("a")
    queue.add_after("b", 5)
    clock.step(1)
    queue.get()
    queue.done("a")

    assert sample("workqueue_adds_total", "prom-names-test") == 1
    assert sample("workqueue_depth", "prom-names-test", priority="") == 0
    assert sample("workqueue_retries_total", "prom-names-test") == 1
    assert sample("workqueue_queue_duration_seconds_count", "prom-names-test") == 1
    assert sample("workqueue_queue_duration_seconds_bucket", "prom-names-test", le="1.0") == 1
    assert sample("workqueue_work_duration_seconds_count", "prom-names-test") == 1
    assert sample("workqueue_unfinished_work_seconds", "prom-names-test") == 0
    assert sample("workqueue_longest_running_processor_seconds", "prom-names-test") == 0
    assert sample("workqueue_adds_created", "prom-names-test") is None
    queue.shutdown()


def test_queue_duration_buckets_span_ten_nanoseconds_to_a_thousand_seconds() -> None:
    queue: Queue[str] = Queue("prom-buckets-test")
    queue.add("a")
    queue.get()

    bounds = [
        sample.labels["le"]
        for family in REGISTRY.collect()
        if family.name == "workqueue_queue_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket") and sample.labels["name"] == "prom-buckets-test"
    ]

    assert bounds == [f"{10.0**e}" for e in range(-8, 4)] + ["+Inf"]
    queue.shutdown()


def test_several_queues_with_one_name_share_the_series() -> None:
    first: Queue[str] = Queue("prom-shared-test")
    second: Queue[str] = Queue("prom-shared-test")

    first.add("a")
    second.add("a")

    assert sample("workqueue_adds_total", "prom-shared-test") == 2
    first.shutdown()
    second.shutdown()
