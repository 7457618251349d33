"""client-go's REST client metrics, with Go's names, labels and buckets (SPEC §8)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

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


# The labelled series, looked up once per label set (every request observes three of them;
# prometheus_client's labels() validates and locks on each call)


@lru_cache(maxsize=256)
def _requests(code: str, method: str, host: str) -> Any:
    return REQUESTS_TOTAL.labels(code, method, host)


@lru_cache(maxsize=64)
def _duration(method: str, host: str) -> Any:
    return REQUEST_DURATION.labels(method, host)


@lru_cache(maxsize=64)
def _rate_limiter(method: str, host: str) -> Any:
    return RATE_LIMITER_DURATION.labels(method, host)


def observe_request(method: str, host: str, code: str, seconds: float) -> None:
    _requests(code, method, host).inc()
    _duration(method, host).observe(seconds)


def observe_rate_limiter(method: str, host: str, seconds: float) -> None:
    _rate_limiter(method, host).observe(seconds)
