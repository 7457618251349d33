"""The controller: worker threads take requests from a rate-limited queue and run the reconciler.

controller-runtime's semantics: a key is never reconciled twice at once; a raised exception retries
with backoff; `Result.requeue_after` forgets the backoff and retries after the delay; a worker never
dies of a reconcile. Every reconcile runs in a context of its own (`contextvars`), with an ID
bound into logs and `current_reconcile_id()`. Log fields the reconciler binds there
(`structlog.contextvars.bind_contextvars`) stay for the rest of that reconcile, the controller's
own "Reconciler error" line included, and vanish with it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable

import structlog

from wfe.runtime.client import ApiError
from wfe.runtime.log import bind_reconcile
from wfe.runtime.metrics.controller_metrics import (
    RESULT_ERROR,
    RESULT_REQUEUE,
    RESULT_REQUEUE_AFTER,
    RESULT_SUCCESS,
    ControllerMetrics,
)
from wfe.runtime.reconcile import Request, Result, TerminalError, set_current_reconcile_id
from wfe.runtime.source import Source
from wfe.runtime.workqueue import RateLimiter, RateLimitingQueue

log = structlog.get_logger(__name__)

Reconciler = Callable[[Request], Result]

# Go reconcilers return errors for failures they expect and panic on bugs. Python has only
# exceptions: those a reconciler raises on purpose (the API server said no, I/O failed, or a type
# it declares in `expected_errors`) are errors; any other exception is a bug and counts as a panic.
# Either way the request is retried with backoff and the controller carries on (controller-runtime's
# RecoverPanic, its default).
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ApiError, OSError, TerminalError)

# How often the thread watching the caller's stop event checks whether stop() was called directly.
_STOP_EVENT_POLL_SECONDS = 0.5


# A reconcile makes a handful of API calls with 30 s timeouts; one running this long is stuck.
DEFAULT_WEDGED_AFTER_SECONDS = 600.0


class Controller:
    """Runs `reconciler` for requests its sources enqueue, on `max_concurrent_reconciles` threads."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        max_concurrent_reconciles: int = 1,
        rate_limiter: RateLimiter | None = None,
        wedged_after: float = DEFAULT_WEDGED_AFTER_SECONDS,
        expected_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        if max_concurrent_reconciles < 1:
            raise ValueError(
                f"max_concurrent_reconciles must be >= 1, got {max_concurrent_reconciles}"
            )
        self.name = name
        self._reconciler = reconciler
        self._max_concurrent_reconciles = max_concurrent_reconciles
        self._rate_limiter = rate_limiter
        self._expected_errors = EXPECTED_ERRORS + expected_errors
        self._metrics = ControllerMetrics(name, max_concurrent_reconciles)
        self._log = log.bind(controller=name)
        self._lock = threading.Lock()
        self._pending_sources: list[Source] = []
        self._queue: RateLimitingQueue[Request] | None = None
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wedged_after = wedged_after
        self._in_flight: dict[int, tuple[Request, float]] = {}

    @property
    def queue(self) -> RateLimitingQueue[Request]:
        """The work queue; it exists once the controller has started."""
        if self._queue is None:
            raise RuntimeError(f"controller {self.name!r} has not started")
        return self._queue

    def watch(self, source: Source) -> None:
        """Feed the events of `source` to this controller; sources start with the controller."""
        with self._lock:
            if self._queue is None:
                self._pending_sources.append(source)
                return
            queue = self._queue
        self._log.info("Starting EventSource", source=str(source))
        source.start(queue)

    def start(self, stop_event: threading.Event) -> None:
        """Start the sources and the workers, then return; setting `stop_event` stops them."""
        with self._lock:
            if self._queue is not None or self._stopping.is_set():
                raise RuntimeError(f"controller {self.name!r} was already started or stopped")
            queue: RateLimitingQueue[Request] = RateLimitingQueue(
                self.name, rate_limiter=self._rate_limiter
            )
            self._queue = queue
            for source in self._pending_sources:
                self._log.info("Starting EventSource", source=str(source))
                source.start(queue)
            self._pending_sources.clear()
            self._log.info("Starting workers", worker_count=self._max_concurrent_reconciles)
            workers = [
                threading.Thread(
                    target=self._run_worker, name=f"{self.name}-worker-{index}", daemon=True
                )
                for index in range(self._max_concurrent_reconciles)
            ]
            for worker in workers:
                worker.start()
            # published only once running, so the liveness check never sees a worker not yet started
            self._workers = workers
        threading.Thread(
            target=self._stop_when_set, args=(stop_event,), name=f"{self.name}-stop", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop taking work: in-flight reconciles finish, queued requests are dropped. Idempotent."""
        self._stopping.set()
        with self._lock:
            queue = self._queue
        if queue is not None:
            queue.shutdown()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the workers to exit after a stop; False if `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        finished = not any(worker.is_alive() for worker in self._workers)
        if finished:
            self._log.info("All workers finished")
        return finished

    def healthz_check(self) -> str | None:
        """A liveness check: None while healthy; why not, when a worker died or a reconcile is stuck."""
        if self._queue is None or self._stopping.is_set():
            return None
        with self._lock:
            workers = list(self._workers)
        dead = sum(1 for worker in workers if not worker.is_alive())
        if dead:
            return f"{dead} of {len(workers)} workers of controller {self.name!r} died"
        now = time.monotonic()
        with self._lock:
            stuck = [
                (r, now - t) for r, t in self._in_flight.values() if now - t > self._wedged_after
            ]
        if stuck:
            request, seconds = max(stuck, key=lambda item: item[1])
            return f"reconcile of {request} has been running for {seconds:.0f}s"
        return None

    def _stop_when_set(self, stop_event: threading.Event) -> None:
        while not self._stopping.is_set():
            if stop_event.wait(_STOP_EVENT_POLL_SECONDS) and not self._stopping.is_set():
                self._log.info("Shutdown signal received, waiting for all workers to finish")
                self.stop()

    def _run_worker(self) -> None:
        while self._process_next_work_item():
            pass

    def _process_next_work_item(self) -> bool:
        queue = self.queue
        request, shutdown = queue.get()
        if shutdown or request is None:
            return False
        try:
            if self._stopping.is_set():
                return False
            self._metrics.active_workers.inc()
            worker = threading.get_ident()
            with self._lock:
                self._in_flight[worker] = (request, time.monotonic())
            try:
                # a fresh context per reconcile: what it binds is gone when it ends
                return contextvars.copy_context().run(self._reconcile_handler, queue, request)
            finally:
                with self._lock:
                    self._in_flight.pop(worker, None)
                self._metrics.active_workers.dec()
        finally:
            queue.done(request)

    def _reconcile_handler(self, queue: RateLimitingQueue[Request], request: Request) -> bool:
        """Reconcile one request and requeue it as the outcome says; False ends the worker."""
        started = time.monotonic()
        set_current_reconcile_id(
            bind_reconcile(controller=self.name, namespace=request.namespace, name=request.name)
        )
        try:
            result = self._reconciler(request)
        except TerminalError:
            self._metrics.terminal_errors.inc()
            self._count_error()
            log.error("Reconciler error", terminal=True, exc_info=True)
        except Exception as error:
            self._count_error()
            queue.add_rate_limited(request)
            if isinstance(error, self._expected_errors):
                log.error("Reconciler error", exc_info=True)
            else:
                self._metrics.panics.inc()
                log.error("Observed a panic in reconciler", panic=True, exc_info=True)
        else:
            self._requeue_as_asked(queue, request, result)
        finally:
            self._metrics.reconcile_time.observe(time.monotonic() - started)
        return True

    def _count_error(self) -> None:
        self._metrics.errors.inc()
        self._metrics.count_result(RESULT_ERROR)

    def _requeue_as_asked(
        self, queue: RateLimitingQueue[Request], request: Request, result: Result
    ) -> None:
        if result.requeue_after is not None and result.requeue_after > 0:
            log.debug("Reconcile done, requeueing after", requeue_after=result.requeue_after)
            queue.forget(request)
            queue.add_after(request, result.requeue_after)
            self._metrics.count_result(RESULT_REQUEUE_AFTER)
        elif result.requeue:
            log.debug("Reconcile done, requeueing")
            queue.add_rate_limited(request)
            self._metrics.count_result(RESULT_REQUEUE)
        else:
            log.debug("Reconcile successful")
            queue.forget(request)
            self._metrics.count_result(RESULT_SUCCESS)
