"""Process-wide Prometheus metrics of the runtime (controller-runtime's pkg/metrics)."""

from wfe.runtime.metrics.registry import REGISTRY

__all__ = ["REGISTRY"]
