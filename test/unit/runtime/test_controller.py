"""The controller's reconcile loop: retries, requeues, concurrency, reconcile IDs, metrics, stopping."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from support.wait import wait_for

from wfe.runtime.client import ApiError
from wfe.runtime.controller import Controller
from wfe.runtime.handler import RequestQueue
from wfe.runtime.log import configure_logging
from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.reconcile import Request, Result, TerminalError, current_reconcile_id
from wfe.runtime.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue

A = Request("default", "a")
B = Request("default", "b")

Reconciler = Callable[[Request], Result]


class QueueSource:
    """A source that only remembers the queue it was started with, so tests can enqueue directly."""

    def __init__(self) -> None:
        self.queue: RequestQueue | None = None

    def start(self, queue: RequestQueue) -> None:
        self.queue = queue


StartController = Callable[..., tuple[Controller, RateLimitingQueue[Request]]]


@pytest.fixture
def start_controller() -> Iterator[StartController]:
    controllers: list[Controller] = []

    def start(
        reconciler: Reconciler, *, max_concurrent_reconciles: int = 1, **options: Any
    ) -> tuple[Controller, RateLimitingQueue[Request]]:
        controller = Controller(
            f"test-{uuid.uuid4().hex[:8]}",
            reconciler,
            max_concurrent_reconciles=max_concurrent_reconciles,
            rate_limiter=ItemExponentialFailureRateLimiter(base_delay=0.001, max_delay=0.01),
            **options,
        )
        controller.watch(QueueSource())
        controller.start(threading.Event())
        controllers.append(controller)
        return controller, controller.queue

    yield start
    for controller in controllers:
        controller.stop()
        controller.wait(5)


def sample(metric: str, controller: Controller, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(metric, {"controller": controller.name, **labels})


def reconciles(controller: Controller, result: str) -> float | None:
    return sample("controller_runtime_reconcile_total", controller, result=result)


def test_every_series_exists_at_zero_once_the_controller_is_created() -> None:
    controller = Controller(
        "test-metrics-at-creation", lambda _: Result(), max_concurrent_reconciles=3
    )

    assert [
        reconciles(controller, r) for r in ("error", "requeue_after", "requeue", "success")
    ] == [0] * 4
    for counter in (
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_terminal_reconcile_errors_total",
        "controller_runtime_reconcile_panics_total",
        "controller_runtime_active_workers",
    ):
        assert sample(counter, controller) == 0, counter
    assert sample("controller_runtime_max_concurrent_reconciles", controller) == 3


def test_a_failing_reconcile_is_retried_with_growing_backoff_and_its_worker_survives(
    start_controller: StartController,
) -> None:
    seen_requeues: list[int] = []
    reconciled: list[Request] = []

    def reconcile(request: Request) -> Result:
        if request == A:
            seen_requeues.append(queue.num_requeues(A))
            if len(seen_requeues) <= 2:
                raise RuntimeError("API server unavailable")
        reconciled.append(request)
        return Result()

    controller, queue = start_controller(reconcile, max_concurrent_reconciles=1)
    queue.add(A)
    wait_for(lambda: reconciled == [A])
    queue.add(B)
    wait_for(lambda: reconciled == [A, B])

    assert seen_requeues == [0, 1, 2]
    assert queue.num_requeues(A) == 0, "success forgets the failures"
    assert sample("controller_runtime_reconcile_errors_total", controller) == 2
    assert reconciles(controller, "error") == 2
    assert reconciles(controller, "success") == 2
    assert sample("controller_runtime_reconcile_time_seconds_count", controller) == 4


def test_requeue_after_forgets_the_backoff_and_reconciles_again_after_the_delay(
    start_controller: StartController,
) -> None:
    seen_requeues: list[int] = []

    def reconcile(request: Request) -> Result:
        seen_requeues.append(queue.num_requeues(request))
        if len(seen_requeues) == 1:
            raise RuntimeError("transient")
        if len(seen_requeues) == 2:
            return Result(requeue_after=0.01)
        return Result()

    controller, queue = start_controller(reconcile)
    queue.add(A)

    wait_for(lambda: len(seen_requeues) == 3)
    assert seen_requeues == [0, 1, 0]
    assert reconciles(controller, "requeue_after") == 1


def test_requeue_retries_with_backoff(start_controller: StartController) -> None:
    seen_requeues: list[int] = []

    def reconcile(request: Request) -> Result:
        seen_requeues.append(queue.num_requeues(request))
        return Result(requeue=len(seen_requeues) < 3)

    controller, queue = start_controller(reconcile)
    queue.add(A)

    wait_for(lambda: reconciles(controller, "success") == 1)
    assert seen_requeues == [0, 1, 2]
    assert reconciles(controller, "requeue") == 2


def test_a_terminal_error_is_counted_but_not_retried(start_controller: StartController) -> None:
    def reconcile(request: Request) -> Result:
        raise TerminalError("spec can never work")

    controller, queue = start_controller(reconcile)
    queue.add(A)

    wait_for(lambda: reconciles(controller, "error") == 1)
    assert sample("controller_runtime_terminal_reconcile_errors_total", controller) == 1
    assert sample("controller_runtime_reconcile_errors_total", controller) == 1
    assert queue.num_requeues(A) == 0


class DeclaredError(Exception):
    """An error type the reconciler declares it raises on purpose."""


@pytest.mark.parametrize(
    ("error", "panics"),
    [
        (KeyError("status"), 1),
        (AttributeError("get"), 1),
        (ValueError("out of range"), 1),
        (RuntimeError("surprise"), 1),
        (ApiError(409, "Conflict", "modified"), 0),
        (ApiError(0, "ApiConnectionError", "refused"), 0),
        (TimeoutError("read"), 0),
        (DeclaredError("expected"), 0),
    ],
)
def test_only_unexpected_exceptions_count_as_panics_and_all_are_retried(
    start_controller: StartController, error: Exception, panics: int
) -> None:
    calls: list[Request] = []

    def reconcile(request: Request) -> Result:
        calls.append(request)
        if len(calls) == 1:
            raise error
        return Result()

    controller, queue = start_controller(reconcile, expected_errors=(DeclaredError,))
    queue.add(A)

    wait_for(lambda: reconciles(controller, "success") == 1)
    assert sample("controller_runtime_reconcile_panics_total", controller) == panics
    assert sample("controller_runtime_reconcile_errors_total", controller) == 1


def test_a_key_error_in_one_reconcile_never_stops_the_controller(
    start_controller: StartController,
) -> None:
    def reconcile(request: Request) -> Result:
        if request == A:
            raise KeyError("metadata")
        return Result()

    controller, queue = start_controller(reconcile)
    queue.add(A)
    wait_for(lambda: (sample("controller_runtime_reconcile_panics_total", controller) or 0) >= 3)
    queue.add(B)

    wait_for(
        lambda: reconciles(controller, "success") == 1, message="B reconciled after A's panics"
    )
    assert controller.healthz_check() is None


def test_fields_the_reconciler_binds_reach_the_error_line_and_never_the_next_reconcile(
    start_controller: StartController, log_output: io.StringIO
) -> None:
    seen: list[dict[str, object]] = []

    def reconcile(request: Request) -> Result:
        seen.append(structlog.contextvars.get_contextvars())
        if len(seen) == 1:
            structlog.contextvars.bind_contextvars(correlation_id=f"rr-{request.name}")
            raise ApiError(500, "InternalError", "boom")
        return Result()

    controller, queue = start_controller(reconcile)
    queue.add(A)

    wait_for(lambda: reconciles(controller, "error"), message="the failed reconcile")
    wait_for(lambda: len(seen) == 2, message="the retry")
    line = next(line for line in log_lines(log_output) if line["msg"] == "Reconciler error")
    assert line["correlation_id"] == "rr-a"
    assert (line["controller"], line["namespace"], line["name"]) == (
        controller.name,
        "default",
        "a",
    )
    assert "correlation_id" not in seen[1], "a field bound by one reconcile leaked into the next"
    assert structlog.contextvars.get_contextvars().get("correlation_id") is None


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    yield stream
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def test_workers_reconcile_different_keys_concurrently(start_controller: StartController) -> None:
    active_when_all_arrived: list[float | None] = []
    controller: Controller | None = None

    def record_active_workers() -> None:
        assert controller is not None
        active_when_all_arrived.append(sample("controller_runtime_active_workers", controller))

    all_four = threading.Barrier(4, action=record_active_workers, timeout=5)

    def reconcile(request: Request) -> Result:
        all_four.wait()
        return Result()

    controller, queue = start_controller(reconcile, max_concurrent_reconciles=4)
    for name in "abcd":
        queue.add(Request("default", name))

    wait_for(lambda: reconciles(controller, "success") == 4)
    assert active_when_all_arrived == [4]
    wait_for(lambda: sample("controller_runtime_active_workers", controller) == 0)


def test_a_key_added_during_its_reconcile_waits_for_it_and_runs_once_more(
    start_controller: StartController,
) -> None:
    in_reconcile = threading.Event()
    release = threading.Event()
    calls: list[Request] = []

    def reconcile(request: Request) -> Result:
        calls.append(request)
        if len(calls) == 1:
            in_reconcile.set()
            assert release.wait(5)
        return Result()

    controller, queue = start_controller(reconcile, max_concurrent_reconciles=4)
    queue.add(A)
    assert in_reconcile.wait(5)
    for _ in range(10):
        queue.add(A)

    assert len(queue) == 0, "three idle workers must not be handed the key being reconciled"
    release.set()
    wait_for(lambda: reconciles(controller, "success") == 2)
    assert calls == [A, A]


def test_each_reconcile_has_its_own_id_bound_into_the_log_context(
    start_controller: StartController,
) -> None:
    seen: list[tuple[str | None, dict[str, object]]] = []

    def reconcile(request: Request) -> Result:
        seen.append((current_reconcile_id(), structlog.contextvars.get_contextvars()))
        return Result()

    controller, queue = start_controller(reconcile)
    queue.add(A)
    wait_for(lambda: len(seen) == 1)
    queue.add(A)
    wait_for(lambda: len(seen) == 2)

    (first_id, first_context), (second_id, _) = seen
    assert first_id and second_id and first_id != second_id
    assert first_context == {
        "controller": controller.name,
        "namespace": "default",
        "name": "a",
        "reconcileID": first_id,
    }
    assert current_reconcile_id() is None


def test_setting_the_stop_event_lets_the_running_reconcile_finish_and_drops_queued_work() -> None:
    in_reconcile = threading.Event()
    release = threading.Event()
    calls: list[Request] = []

    def reconcile(request: Request) -> Result:
        calls.append(request)
        in_reconcile.set()
        assert release.wait(5)
        return Result()

    controller = Controller(f"test-{uuid.uuid4().hex[:8]}", reconcile)
    source = QueueSource()
    controller.watch(source)
    stop = threading.Event()
    controller.start(stop)
    assert source.queue is not None
    source.queue.add(A)
    assert in_reconcile.wait(5)
    source.queue.add(B)

    stop.set()
    wait_for(controller.queue.shutting_down)
    release.set()

    assert controller.wait(5) is True
    assert calls == [A]
    assert reconciles(controller, "success") == 1


def test_a_source_watched_after_start_is_started_at_once(start_controller: StartController) -> None:
    controller, queue = start_controller(lambda _: Result())
    late = QueueSource()

    controller.watch(late)

    assert late.queue is queue


def test_a_controller_starts_only_once(start_controller: StartController) -> None:
    controller, _ = start_controller(lambda _: Result())

    with pytest.raises(RuntimeError):
        controller.start(threading.Event())
