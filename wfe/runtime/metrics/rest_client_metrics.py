"""client-go's REST client metrics, with Go's names, labels and buckets (SPEC §8)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from wfe.runtime.metrics.registry import REGISTRY

# k8s.io/client-go/tools/metrics and component-base's rest client buckets
_LATENCY_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)

REQUESTS_TOTAL = Counter(
    "rest_client_requests_total",
    "Number of HTTP requests, partitioned by status code, method, and host.",
    ("code", "method", "host"),
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "rest_client_request_duration_seconds",
    "Request latency in seconds. Broken down by verb, and host.",
    ("verb", "host"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RATE_LIMITER_DURATION = Histogram(
    "rest_client_rate_limiter_duration_seconds",
    "Client side rate limiter latency in seconds. Broken down by verb, and host.",
    ("verb", "host"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)

ERROR_CODE = "<error>"  # client-go's code label when no answer came back


def observe_request(method: str, host: str, code: str, seconds: float) -> None:
    REQUESTS_TOTAL.labels(code, method, host).inc()
    REQUEST_DURATION.labels(method, host).observe(seconds)


def observe_rate_limiter(method: str, host: str, seconds: float) -> None:
    RATE_LIMITER_DURATION.labels(method, host).observe(seconds)
