"""The manager: runs the HTTP endpoints, caches, leader election and controllers of one process.

Start order (controller-runtime's): metrics and health probe servers → caches, waiting for their
first sync → runnables that do not need leadership → leader election → runnables that need it,
once elected. Losing the lease is fatal: the client is fenced (no write leaves the process any
more), everything stops without waiting and without releasing the lease, and ``start`` raises, so
the process exits and restarts as a standby, as a controller-runtime binary does. Shutdown runs in
reverse order within one graceful timeout for the whole sequence, every stop step included.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Protocol, runtime_checkable

import structlog

from wfe.runtime.client import Client
from wfe.runtime.healthz import Check, HealthProbeServer
from wfe.runtime.leaderelection import LeaderElector
from wfe.runtime.metrics.server import MetricsServer, SecureServing
from wfe.runtime.record import DEFAULT_COMPONENT, EventRecorder

log = structlog.get_logger(__name__)

IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
CACHE_SYNC_CHECK = "informer-sync"
_POLL_SECONDS = 0.1
_HTTP_STOP_SECONDS = 2.0  # servers are closed even when the graceful budget is spent


class Runnable(Protocol):
    """A component the manager starts and stops (a Controller, for example).

    ``start`` and ``stop`` return promptly: ``start`` spawns the component's threads, and ``stop``
    (or setting ``stop_event``) asks them to finish. If it also has ``wait(timeout) -> bool`` (see
    ``Waitable``) the manager waits through it for in-flight work to finish.
    """

    def start(self, stop_event: threading.Event) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class Waitable(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


class CacheLike(Protocol):
    """The informer cache the manager starts first and stops last (``wfe.runtime.cache.Cache``)."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def wait_for_cache_sync(self, timeout: float | None = None) -> bool: ...

    def has_synced(self) -> bool: ...


class ManagerError(Exception):
    """The manager stopped for a reason other than its stop event (the process should exit 1)."""


class Manager:
    """Owns the process's runnables and endpoints; ``start(stop_event)`` blocks until it is done."""

    def __init__(
        self,
        client: Client,
        *,
        metrics_bind_address: str = ":9090",
        health_probe_bind_address: str = ":8081",
        leader_election: bool = False,
        leader_election_id: str = "",
        leader_election_namespace: str = "",
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        leader_election_release_on_cancel: bool = True,
        graceful_shutdown_timeout: float = 30.0,
        cache: CacheLike | None = None,
        cache_sync_timeout: float = 120.0,
        metrics_secure_serving: SecureServing | None = None,
    ):
        self._client = client
        self._metrics = MetricsServer(metrics_bind_address, secure=metrics_secure_serving)
        self._probes = HealthProbeServer(health_probe_bind_address)
        self._cache = cache
        self._cache_sync_timeout = cache_sync_timeout
        self._graceful_shutdown_timeout = graceful_shutdown_timeout
        self._elector: LeaderElector | None = None
        if leader_election:
            if not leader_election_id:
                raise ValueError("leader election needs a leader election ID (the Lease name)")
            self._elector = LeaderElector(
                # a bucket of its own: renewals must never queue behind the workers' requests
                client.with_own_rate_limiter(),
                lease_name=leader_election_id,
                namespace=leader_election_namespace or _in_cluster_namespace(),
                identity=f"{socket.gethostname()}_{uuid.uuid4()}",
                lease_duration=lease_duration,
                renew_deadline=renew_deadline,
                retry_period=retry_period,
                on_started_leading=self._on_elected,
                on_stopped_leading=self._on_stopped_leading,
                release_on_cancel=leader_election_release_on_cancel,
            )
        self._probes.add_readyz_check(CACHE_SYNC_CHECK, self._check_cache_synced)

        self._lock = threading.Lock()
        self._leader_runnables: list[Runnable] = []
        self._other_runnables: list[Runnable] = []
        self._started_leader_runnables: list[Runnable] = []
        self._started_other_runnables: list[Runnable] = []
        self._recorders: dict[str, EventRecorder] = {}
        self._leader_runnables_stop = threading.Event()
        self._other_runnables_stop = threading.Event()
        self._elected = threading.Event()
        self._wake = threading.Event()
        self._started = False
        self._stopping = False
        self._error: BaseException | None = None
        self._leadership_lost = False

    # --- wiring ----------------------------------------------------------------------------------

    def add(self, runnable: Runnable, *, needs_leader_election: bool = True) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("runnables must be added before the manager starts")
            group = self._leader_runnables if needs_leader_election else self._other_runnables
            group.append(runnable)

    def add_healthz_check(self, name: str, check: Check) -> None:
        self._probes.add_healthz_check(name, check)

    def add_readyz_check(self, name: str, check: Check) -> None:
        self._probes.add_readyz_check(name, check)

    def get_event_recorder(self, name: str = DEFAULT_COMPONENT) -> EventRecorder:
        """The recorder for component ``name`` (one per name, flushed at shutdown)."""
        with self._lock:
            recorder = self._recorders.get(name)
            if recorder is None:
                recorder = self._recorders[name] = EventRecorder(self._client, component=name)
            return recorder

    # --- state -----------------------------------------------------------------------------------

    @property
    def elected(self) -> threading.Event:
        """Set once this replica leads (at once when leader election is off)."""
        return self._elected

    @property
    def metrics_port(self) -> int:
        return self._metrics.port

    @property
    def health_probe_port(self) -> int:
        return self._probes.port

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, stop_event: threading.Event) -> None:
        """Run until ``stop_event`` is set (returns) or a fatal error (raises ``ManagerError``)."""
        with self._lock:
            if self._started:
                raise RuntimeError("the manager can only be started once")
            self._started = True
        try:
            self._metrics.start()
            self._probes.start()
            if self._sync_caches(stop_event):
                self._start_runnables(
                    self._other_runnables, self._started_other_runnables, self._other_runnables_stop
                )
                if self._elector is None:
                    self._on_elected()
                else:
                    self._elector.start()
                while not (self._wake.is_set() or stop_event.is_set()):
                    self._wake.wait(_POLL_SECONDS)
        except Exception as err:
            self._fail(err)
        finally:
            self._shutdown()
        error = self._error
        if isinstance(error, ManagerError):
            raise error
        if error is not None:
            raise ManagerError(str(error)) from error

    def _sync_caches(self, stop_event: threading.Event) -> bool:
        """Start the cache and wait for its first sync; False when stopped meanwhile."""
        if self._cache is None:
            return True
        log.info("starting cache and waiting for it to sync")
        self._cache.start()
        deadline = time.monotonic() + self._cache_sync_timeout
        while not self._cache.wait_for_cache_sync(_POLL_SECONDS):
            if stop_event.is_set() or self._wake.is_set():
                return False
            if time.monotonic() >= deadline:
                raise ManagerError(
                    f"timed out after {self._cache_sync_timeout:g}s waiting for caches to sync"
                )
        # The first list filled the heap with long-lived cached objects: move them out of the
        # collector's view so full collections (which stop every thread) stay short.
        gc.collect()
        gc.freeze()
        return True

    def _start_runnables(
        self, runnables: Iterable[Runnable], started: list[Runnable], stop_event: threading.Event
    ) -> bool:
        """Start each runnable unless shutdown has begun (then False)."""
        with self._lock:
            if self._stopping:
                return False
            for runnable in runnables:
                runnable.start(stop_event)
                started.append(runnable)
            return True

    def _on_elected(self) -> None:
        try:
            if self._start_runnables(
                self._leader_runnables, self._started_leader_runnables, self._leader_runnables_stop
            ):
                self._elected.set()
        except Exception as err:
            self._fail(err)

    def _on_stopped_leading(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._leadership_lost = True
        # Reconcile threads cannot be killed: from here on none of their writes leaves the process.
        self._client.fence("leader election lost: this replica no longer leads")
        self._fail(ManagerError("leader election lost"))

    def _fail(self, err: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = err
        log.error("manager stopping on a fatal error", error=str(err))
        self._wake.set()

    def _check_cache_synced(self) -> str | None:
        if self._cache is None or self._cache.has_synced():
            return None
        return "caches have not synced yet"

    # --- shutdown --------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            leader_runnables = list(self._started_leader_runnables)
            other_runnables = list(self._started_other_runnables)
            recorders = list(self._recorders.values())
        # After losing the lease another replica may already lead: do not wait for in-flight work.
        budget = 0.0 if self._leadership_lost else self._graceful_shutdown_timeout
        deadline = time.monotonic() + budget
        log.info("stopping the manager", graceful_shutdown_timeout=budget)
        self._leader_runnables_stop.set()
        finished = _stop_runnables(leader_runnables, deadline)
        if self._elector is not None:
            # Hand the lease over only once our reconcilers are quiet, so leaders never overlap.
            finished &= self._elector.stop(_remaining(deadline), release=finished)
        self._other_runnables_stop.set()
        finished &= _stop_runnables(other_runnables, deadline)
        cache = self._cache
        if cache is not None:
            finished &= _logged(lambda: cache.stop(_remaining(deadline)))
        for recorder in recorders:
            recorder.stop(_remaining(deadline))
        self._probes.stop(_HTTP_STOP_SECONDS)
        self._metrics.stop(_HTTP_STOP_SECONDS)

        if not finished and budget > 0:
            self._fail(
                ManagerError(
                    f"failed waiting for all runnables to end within grace period of {budget:g}s"
                )
            )
        log.info("manager stopped")


def _stop_runnables(runnables: list[Runnable], deadline: float) -> bool:
    """Tell all to stop, then wait for those that can be waited on until ``deadline``."""
    for runnable in runnables:
        _logged(runnable.stop)
    waitables = [runnable for runnable in runnables if isinstance(runnable, Waitable)]
    return all([_logged(partial(_wait, waitable, deadline)) for waitable in waitables])


def _wait(waitable: Waitable, deadline: float) -> bool:
    return waitable.wait(_remaining(deadline))


def _logged(action: Callable[[], object]) -> bool:
    """Run a stop step; False (logged) if it raised or answered False."""
    try:
        return action() is not False
    except Exception:
        log.exception("error while stopping")
        return False


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _in_cluster_namespace() -> str:
    try:
        return IN_CLUSTER_NAMESPACE_FILE.read_text().strip()
    except OSError:
        raise ValueError(
            "unable to find the leader election namespace: not running in-cluster, "
            "set the leader election namespace"
        ) from None


def install_signal_handlers(stop_event: threading.Event) -> None:
    """SIGTERM/SIGINT set ``stop_event``; a second signal exits at once with status 1."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop_event.is_set():
            log.error("second signal received: exiting immediately", signal=name)
            os._exit(1)
        log.info("signal received: shutting down", signal=name)
        stop_event.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
