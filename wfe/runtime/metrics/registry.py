"""The one Prometheus registry every runtime and controller metric registers on, served at /metrics."""

import prometheus_client

# Go's client_golang exposes no `_created` series; keep the exposition identical.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)
