"""Leader election over a coordination.k8s.io/v1 Lease, with client-go's tools/leaderelection semantics.

A candidate judges the current holder by *local* observed time: it notes when it last saw the
lease's record change and takes over only once that record has stayed unchanged for the lease's
duration, so clock skew between replicas never matters. The leader renews every ``retry_period``
and stops leading at once when a renewal has not succeeded within ``renew_deadline``. Writes are
optimistic (resourceVersion): a 409 means another candidate won the race. On a clean stop the
leader releases the lease (empty holder, 1 s duration) so a standby takes over without waiting; a
lease it lost it never releases (its work may still be running: the next leader waits it out).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from wfe.runtime.client import LEASES, ApiError, Client, Object, is_not_found
from wfe.runtime.metrics.leader_metrics import report_leading

log = structlog.get_logger(__name__)

# client-go's JitterFactor: a candidate waits retry_period * (1 + rand * 1.2) between attempts.
JITTER_FACTOR = 1.2


@dataclass(frozen=True, slots=True)
class LeaderElectionRecord:
    """The election-relevant part of a Lease's spec (client-go's LeaderElectionRecord)."""

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: str | None
    renew_time: str | None
    leader_transitions: int

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> LeaderElectionRecord:
        return cls(
            holder_identity=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            leader_transitions=int(spec.get("leaseTransitions") or 0),
        )

    def to_spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.leader_transitions,
        }


class LeaseLock:
    """Reads and writes one Lease; updates carry the resourceVersion of the last read or write."""

    def __init__(self, client: Client, namespace: str, name: str):
        self._client = client
        self._namespace = namespace
        self._name = name
        self._lease: Object | None = None

    def describe(self) -> str:
        return f"{self._namespace}/{self._name}"

    def get(self, timeout: float) -> LeaderElectionRecord:
        self._lease = self._client.request(
            "GET", LEASES.path(self._namespace, self._name), timeout=timeout
        )
        return LeaderElectionRecord.from_spec(self._lease.get("spec") or {})

    def create(self, record: LeaderElectionRecord, timeout: float) -> None:
        body = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": record.to_spec(),
        }
        self._lease = self._client.request(
            "POST", LEASES.path(self._namespace), body=body, timeout=timeout
        )

    def update(self, record: LeaderElectionRecord, timeout: float) -> None:
        if self._lease is None:
            raise RuntimeError("lease not read or created yet")
        body = {**self._lease, "spec": record.to_spec()}
        self._lease = self._client.request(
            "PUT", LEASES.path(self._namespace, self._name), body=body, timeout=timeout
        )


class LeaderElector:
    """Campaigns for a Lease and keeps it renewed on its own thread.

    ``on_started_leading`` runs on a fresh thread once the lease is acquired (it may block; renewal
    continues). ``on_stopped_leading`` runs on the election thread when leadership ends, whether lost
    or given up on ``stop()``; it is not called if this candidate never led. ``on_new_leader``
    receives each newly observed holder identity, on a fresh thread.
    """

    def __init__(
        self,
        client: Client,
        *,
        lease_name: str,
        namespace: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        on_new_leader: Callable[[str], None] | None = None,
        release_on_cancel: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not identity:
            raise ValueError("leader election identity must not be empty")
        if lease_duration < 1 or lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be at least 1 s and longer than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period or retry_period <= 0:
            raise ValueError("renew_deadline must exceed 1.2 * retry_period (> 0)")
        self.name = lease_name
        self.identity = identity
        self._lock = LeaseLock(client, namespace, lease_name)
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._on_started_leading = on_started_leading
        self._on_stopped_leading = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._release_on_cancel = release_on_cancel
        self._clock = clock

        self._observed: LeaderElectionRecord | None = None
        self._observed_time = 0.0
        self._reported_leader = ""
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._release_on_stop = release_on_cancel
        self._thread: threading.Thread | None = None

    # --- public ----------------------------------------------------------------------------------

    def is_leader(self) -> bool:
        """True between acquiring the lease and stopping leading."""
        return self._leading.is_set()

    def leader(self) -> str:
        """The holder identity last observed on the lease ("" when none)."""
        observed = self._observed
        return observed.holder_identity if observed else ""

    def start(self) -> None:
        """Campaign (and then renew) on a daemon thread until ``stop()`` or leadership is lost."""
        if self._thread is not None:
            raise RuntimeError("leader elector already started")
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name=f"leader-election-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = None, *, release: bool = True) -> bool:
        """Stop campaigning or renewing; release the lease if ``release`` (and release_on_cancel).

        Returns False if the election thread did not finish within ``timeout``.
        """
        self._release_on_stop = self._release_on_cancel and release
        self._stop.set()
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def run(self, stop: threading.Event) -> None:
        """Block: acquire, lead until the lease is lost or ``stop`` is set, then step down."""
        report_leading(self.name, False)
        log.info("attempting to acquire leader lease", lease=self._lock.describe())
        if not self._acquire(stop):
            return
        self._leading.set()
        report_leading(self.name, True)
        log.info("successfully acquired lease", lease=self._lock.describe(), identity=self.identity)
        _spawn(self._on_started_leading, "leader-election-started")
        lost = self._renew(stop)
        self._leading.clear()
        report_leading(self.name, False)
        if lost:
            # controller-runtime: stop at once and never release a lease we lost, since in-flight
            # work may still be writing; the next leader waits out the lease instead
            log.error("leader lease lost: stopping work", lease=self._lock.describe())
            _call_logged(self._on_stopped_leading)
            return
        if self._release_on_stop:
            self._release()
        _call_logged(self._on_stopped_leading)

    # --- the election loops ----------------------------------------------------------------------

    def _acquire(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            acquired = self.try_acquire_or_renew(self._clock() + self._renew_deadline)
            self._report_transition()
            if acquired:
                return True
            stop.wait(self._retry_period * (1 + random.random() * JITTER_FACTOR))
        return False

    def _renew(self, stop: threading.Event) -> bool:
        """Renew every retry_period; True once no renewal succeeded for renew_deadline.

        The deadline counts from the last renewal that succeeded (the acquisition first), not from
        the start of the next round a retry period later: a leader cut off stops by then, well
        before a standby may take the lease (lease_duration after that same renewal)."""
        last_success = self._clock()
        while not stop.is_set():
            deadline = last_success + self._renew_deadline
            renewed = False
            while not stop.is_set() and self._clock() < deadline:
                attempt_started = self._clock()  # the record's renewTime is no later than this
                if self.try_acquire_or_renew(deadline):
                    renewed = True
                    last_success = attempt_started
                    break
                stop.wait(max(0.0, min(self._retry_period, deadline - self._clock())))
            self._report_transition()
            if stop.is_set():
                return False
            if not renewed:
                log.error(
                    "failed to renew lease within the renew deadline",
                    lease=self._lock.describe(),
                    renew_deadline=self._renew_deadline,
                )
                return True
            stop.wait(self._retry_period)
        return False

    def try_acquire_or_renew(self, deadline: float) -> bool:
        """One attempt to take or keep the lease; every request ends by ``deadline`` (clock time)."""
        stamp = _micro_time(datetime.now(UTC))
        desired = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=int(self._lease_duration),
            acquire_time=stamp,
            renew_time=stamp,
            leader_transitions=0,
        )
        observed = self._observed
        # Fast path: a leader whose view is fresh writes over the lease it last wrote.
        if observed is not None and self._holds_lease() and self._lease_valid(self._clock()):
            record = replace(
                desired,
                acquire_time=observed.acquire_time,
                leader_transitions=observed.leader_transitions,
            )
            if self._write(self._lock.update, record, deadline):
                return True

        try:
            current = self._lock.get(self._remaining(deadline))
        except ApiError as err:
            if not is_not_found(err):
                log.warning("error retrieving lease", lease=self._lock.describe(), error=str(err))
                return False
            return self._write(self._lock.create, desired, deadline)

        now = self._clock()
        if current != self._observed:
            self._observed = current
            self._observed_time = now
        if current.holder_identity and self._lease_valid(now) and not self._holds_lease():
            return False  # held by another candidate and not yet expired by our observation

        if self._holds_lease():
            record = replace(
                desired,
                acquire_time=current.acquire_time,
                leader_transitions=current.leader_transitions,
            )
        else:
            record = replace(desired, leader_transitions=current.leader_transitions + 1)
        return self._write(self._lock.update, record, deadline)

    # --- helpers ---------------------------------------------------------------------------------

    def _write(
        self,
        write: Callable[[LeaderElectionRecord, float], None],
        record: LeaderElectionRecord,
        deadline: float,
    ) -> bool:
        remaining = deadline - self._clock()
        if remaining <= 0:
            return False
        try:
            write(record, remaining)
        except ApiError as err:
            log.info("failed to write lease", lease=self._lock.describe(), error=str(err))
            return False
        self._observed = record
        self._observed_time = self._clock()
        return True

    def _remaining(self, deadline: float) -> float:
        return max(deadline - self._clock(), 0.001)

    def _holds_lease(self) -> bool:
        return self._observed is not None and self._observed.holder_identity == self.identity

    def _lease_valid(self, now: float) -> bool:
        observed = self._observed
        return observed is not None and self._observed_time + observed.lease_duration_seconds > now

    def _release(self) -> None:
        observed = self._observed
        if observed is None or not self._holds_lease():
            return
        stamp = _micro_time(datetime.now(UTC))
        released = LeaderElectionRecord(
            holder_identity="",
            lease_duration_seconds=1,
            acquire_time=stamp,
            renew_time=stamp,
            leader_transitions=observed.leader_transitions,
        )
        if self._write(self._lock.update, released, self._clock() + self._renew_deadline):
            log.info("released leader lease", lease=self._lock.describe())
        else:
            log.warning("failed to release leader lease", lease=self._lock.describe())

    def _report_transition(self) -> None:
        leader = self.leader()
        if leader == self._reported_leader:
            return
        self._reported_leader = leader
        if leader:
            log.info("new leader elected", lease=self._lock.describe(), leader=leader)
        callback = self._on_new_leader
        if callback is not None and leader:
            _spawn(lambda: callback(leader), "leader-election-new-leader")


def _micro_time(moment: datetime) -> str:
    """metav1.MicroTime's RFC 3339 form with microseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _call_logged(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("leader election callback failed")


def _spawn(callback: Callable[[], None], name: str) -> None:
    threading.Thread(target=_call_logged, args=(callback,), name=name, daemon=True).start()
