"""The controller-runtime reconcile metrics, with Go's names, labels and buckets, on the registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from wfe.runtime.metrics.registry import REGISTRY

RESULT_ERROR = "error"
RESULT_REQUEUE_AFTER = "requeue_after"
RESULT_REQUEUE = "requeue"
RESULT_SUCCESS = "success"

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    ("controller", "result"),
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller",
    ("controller",),
    registry=REGISTRY,
)
TERMINAL_RECONCILE_ERRORS = Counter(
    "controller_runtime_terminal_reconcile_errors_total",
    "Total number of terminal reconciliation errors per controller",
    ("controller",),
    registry=REGISTRY,
)
RECONCILE_PANICS = Counter(
    "controller_runtime_reconcile_panics_total",
    "Total number of reconciliation panics per controller",
    ("controller",),
    registry=REGISTRY,
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller",
    ("controller",),
    buckets=(
        *(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7),
        *(0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10),
        *(15, 20, 25, 30, 40, 50, 60),
    ),
    registry=REGISTRY,
)
WORKER_COUNT = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller",
    ("controller",),
    registry=REGISTRY,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers",
    "Number of currently used workers per controller",
    ("controller",),
    registry=REGISTRY,
)


class ControllerMetrics:
    """One controller's series, created at zero so dashboards see them before the first event."""

    def __init__(self, controller: str, max_concurrent_reconciles: int) -> None:
        self._reconcile_total = {
            result: RECONCILE_TOTAL.labels(controller, result)
            for result in (RESULT_ERROR, RESULT_REQUEUE_AFTER, RESULT_REQUEUE, RESULT_SUCCESS)
        }
        for counter in self._reconcile_total.values():
            counter.inc(0)
        self.errors = RECONCILE_ERRORS.labels(controller)
        self.terminal_errors = TERMINAL_RECONCILE_ERRORS.labels(controller)
        self.panics = RECONCILE_PANICS.labels(controller)
        self.reconcile_time = RECONCILE_TIME.labels(controller)
        self.active_workers = ACTIVE_WORKERS.labels(controller)
        for counter in (self.errors, self.terminal_errors, self.panics):
            counter.inc(0)
        WORKER_COUNT.labels(controller).set(max_concurrent_reconciles)
        self.active_workers.set(0)

    def count_result(self, result: str) -> None:
        self._reconcile_total[result].inc()
