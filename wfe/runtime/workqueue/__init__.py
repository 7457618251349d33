"""client-go's util/workqueue in Python: the queues controllers take their work from."""

from wfe.runtime.workqueue.clock import REAL_CLOCK, Clock, FakeClock, RealClock
from wfe.runtime.workqueue.delaying_queue import DelayingQueue
from wfe.runtime.workqueue.metrics import MetricsProvider, NoopMetricsProvider
from wfe.runtime.workqueue.prometheus_metrics import (
    PROMETHEUS_METRICS_PROVIDER,
    PrometheusMetricsProvider,
)
from wfe.runtime.workqueue.queue import Queue
from wfe.runtime.workqueue.rate_limiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from wfe.runtime.workqueue.rate_limiting_queue import RateLimitingQueue

__all__ = [
    "PROMETHEUS_METRICS_PROVIDER",
    "REAL_CLOCK",
    "BucketRateLimiter",
    "Clock",
    "DelayingQueue",
    "FakeClock",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "MetricsProvider",
    "NoopMetricsProvider",
    "PrometheusMetricsProvider",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "RealClock",
    "default_controller_rate_limiter",
]
