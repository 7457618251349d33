"""The one Prometheus registry every runtime and controller metric registers on, served at /metrics."""

import prometheus_client
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Go's client_golang exposes no `_created` series; keep the exposition identical.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)

# controller-runtime registers the process and Go runtime collectors on its registry; these are
# the Python equivalents: process_*, python_info and python_gc_*.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)
