"""Leader election decisions against an in-memory Lease with the API server's concurrency rules.

The decision tests drive ``try_acquire_or_renew`` with a hand-stepped clock; the loop tests run the
elector thread with sub-second timings and a lease API that can be made unreachable.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.client import ApiConnectionError, ApiError, Client
from wfe.runtime.leaderelection import LeaderElectionRecord, LeaderElector
from wfe.runtime.metrics.registry import REGISTRY

LEASE = "wfe-test"


class FakeLeaseApi:
    """One Lease: 404 before creation, 409 AlreadyExists on a second create, 409 Conflict on a
    stale resourceVersion; ``reachable = False`` makes every request fail like a dead server."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.reachable = True
        self.before_next_put: Callable[[], None] | None = None
        self._version = 0
        self._lock = threading.RLock()

    def request(self, method: str, path: str, *, body: Any = None, **_: Any) -> dict[str, Any]:
        with self._lock:
            if not self.reachable:
                raise ApiConnectionError("connection refused")
            if method == "GET":
                if self.lease is None:
                    raise ApiError(404, "NotFound", "leases not found")
                return copy.deepcopy(self.lease)
            if method == "POST":
                if self.lease is not None:
                    raise ApiError(409, "AlreadyExists", "lease already exists")
                return self._store(body)
            if method == "PUT":
                if self.before_next_put is not None:
                    interloper, self.before_next_put = self.before_next_put, None
                    interloper()
                assert self.lease is not None
                if (
                    body["metadata"].get("resourceVersion")
                    != self.lease["metadata"]["resourceVersion"]
                ):
                    raise ApiError(409, "Conflict", "the object has been modified")
                return self._store(body)
            raise AssertionError(f"unexpected {method} {path}")

    def put_record(self, record: LeaderElectionRecord) -> None:
        """Another writer (an old leader, another tool) replaces the lease spec."""
        with self._lock:
            self._store({"metadata": {"name": LEASE}, "spec": record.to_spec()})

    def record(self) -> LeaderElectionRecord:
        assert self.lease is not None
        return LeaderElectionRecord.from_spec(self.lease["spec"])

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self._version)
        return copy.deepcopy(self.lease)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def noop() -> None:
    return None


def elector(
    api: FakeLeaseApi,
    identity: str,
    clock: Callable[[], float] | None = None,
    *,
    lease_duration: float = 15,
    renew_deadline: float = 10,
    retry_period: float = 2,
    on_started_leading: Callable[[], None] = noop,
    on_stopped_leading: Callable[[], None] = noop,
    lease_name: str = LEASE,
) -> LeaderElector:
    fake_client: Client = api  # type: ignore[assignment]
    return LeaderElector(
        fake_client,
        lease_name=lease_name,
        namespace="default",
        identity=identity,
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
        on_started_leading=on_started_leading,
        on_stopped_leading=on_stopped_leading,
        clock=clock or FakeClock(),
    )


def attempt(candidate: LeaderElector, clock: FakeClock) -> bool:
    return candidate.try_acquire_or_renew(clock() + 10)


def held_by(
    holder: str,
    *,
    transitions: int = 0,
    duration: int = 15,
    renew_time: str = "2020-01-01T00:00:00.000000Z",
) -> LeaderElectionRecord:
    return LeaderElectionRecord(holder, duration, renew_time, renew_time, transitions)


# --- decisions ----------------------------------------------------------------------------------


def test_first_candidate_creates_the_lease_and_leads() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, "a", clock)
    assert attempt(a, clock)
    record = api.record()
    assert (record.holder_identity, record.lease_duration_seconds) == ("a", 15)
    assert record.leader_transitions == 0


def test_a_held_lease_is_judged_by_when_we_saw_it_change_not_by_its_timestamps() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    api.put_record(held_by("old", renew_time="2000-01-01T00:00:00.000000Z"))  # ancient remotely
    b = elector(api, "b", clock)
    assert not attempt(b, clock)  # first sight: the lease counts as freshly renewed
    clock.now += 14.9
    assert not attempt(b, clock)
    clock.now += 0.2
    assert attempt(b, clock)
    assert api.record().holder_identity == "b"


def test_a_lease_that_keeps_being_renewed_is_never_taken() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    assert attempt(a, clock)
    assert not attempt(b, clock)
    for _ in range(10):  # 100 s of lease life, renewed every 10 s
        clock.now += 10
        assert attempt(a, clock)
        assert not attempt(b, clock)
    assert api.record().holder_identity == "a"


def test_takeover_after_the_holder_stops_renewing_counts_a_transition() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    assert attempt(a, clock)
    acquired_by_a = api.record().acquire_time
    clock.now += 5
    assert attempt(a, clock)  # renewal keeps the acquire time and the transition count
    assert (api.record().acquire_time, api.record().leader_transitions) == (acquired_by_a, 0)
    assert not attempt(b, clock)
    clock.now += 15.1
    assert attempt(b, clock)
    assert (api.record().holder_identity, api.record().leader_transitions) == ("b", 1)
    assert not attempt(a, clock)  # the old leader sees the new holder and backs off


def test_a_released_lease_is_taken_at_once() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    api.put_record(LeaderElectionRecord("", 1, None, None, 3))
    b = elector(api, "b", clock)
    assert attempt(b, clock)
    assert (api.record().holder_identity, api.record().leader_transitions) == ("b", 4)


def test_losing_the_write_race_means_not_acquiring() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    api.put_record(held_by("old"))
    b = elector(api, "b", clock)
    assert not attempt(b, clock)
    clock.now += 16
    api.before_next_put = lambda: api.put_record(held_by("c", transitions=1))
    assert not attempt(b, clock)  # our PUT carried a stale resourceVersion: 409
    assert api.record().holder_identity == "c"


def test_timings_must_let_the_leader_step_down_before_others_take_over() -> None:
    with pytest.raises(ValueError):
        elector(FakeLeaseApi(), "a", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        elector(FakeLeaseApi(), "a", renew_deadline=2, retry_period=2)


# --- the election thread ------------------------------------------------------------------------


class Callbacks:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()


@pytest.fixture
def lease_name() -> str:
    return f"lease-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def running() -> Iterator[list[LeaderElector]]:
    electors: list[LeaderElector] = []
    yield electors
    for candidate in electors:
        candidate.stop(5, release=False)


def start_fast(
    api: FakeLeaseApi, identity: str, lease_name: str, running: list[LeaderElector]
) -> tuple[LeaderElector, Callbacks]:
    callbacks = Callbacks()
    candidate = elector(
        api,
        identity,
        time.monotonic,
        lease_duration=1,
        renew_deadline=0.5,
        retry_period=0.05,
        on_started_leading=callbacks.started.set,
        on_stopped_leading=callbacks.stopped.set,
        lease_name=lease_name,
    )
    running.append(candidate)
    candidate.start()
    return candidate, callbacks


def master_status(lease_name: str) -> float | None:
    return REGISTRY.get_sample_value("leader_election_master_status", {"name": lease_name})


def test_leader_steps_down_once_renewals_fail_for_the_renew_deadline(
    lease_name: str, running: list[LeaderElector]
) -> None:
    api = FakeLeaseApi()
    leader, callbacks = start_fast(api, "a", lease_name, running)
    assert callbacks.started.wait(5)
    assert leader.is_leader()
    assert master_status(lease_name) == 1
    api.reachable = False
    assert callbacks.stopped.wait(5)
    assert not leader.is_leader()
    assert master_status(lease_name) == 0


def test_a_lost_lease_is_never_released_even_when_the_server_answers_again(
    lease_name: str, running: list[LeaderElector]
) -> None:
    api = FakeLeaseApi()
    started, stopped = threading.Event(), threading.Event()

    def partition_heals() -> None:  # the moment the leader gives up, the server is back
        api.reachable = True
        stopped.set()

    leader = elector(
        api,
        "a",
        time.monotonic,
        lease_duration=1,
        renew_deadline=0.5,
        retry_period=0.05,
        on_started_leading=started.set,
        on_stopped_leading=partition_heals,
        lease_name=lease_name,
    )
    running.append(leader)
    leader.start()
    assert started.wait(5)
    api.reachable = False  # renewals fail past the renew deadline

    assert stopped.wait(5)
    assert leader.stop(5)

    # left to expire, not handed over: its reconciles may still be writing
    assert api.record().holder_identity == "a"


def test_stop_releases_the_lease_for_a_quick_takeover(
    lease_name: str, running: list[LeaderElector]
) -> None:
    api = FakeLeaseApi()
    leader, callbacks = start_fast(api, "a", lease_name, running)
    assert callbacks.started.wait(5)
    assert leader.stop(5)
    assert callbacks.stopped.is_set()
    released = api.record()
    assert (released.holder_identity, released.lease_duration_seconds) == ("", 1)


def test_stop_without_release_leaves_the_lease_to_expire(
    lease_name: str, running: list[LeaderElector]
) -> None:
    api = FakeLeaseApi()
    leader, callbacks = start_fast(api, "a", lease_name, running)
    assert callbacks.started.wait(5)
    assert leader.stop(5, release=False)
    assert api.record().holder_identity == "a"
    standby, standby_callbacks = start_fast(api, "b", lease_name, running)
    assert standby_callbacks.started.wait(5)
    wait_for(lambda: standby.leader() == "b", message="b leads")
    assert api.record().leader_transitions == 1


def test_a_candidate_that_never_led_is_not_told_it_stopped_leading(
    lease_name: str, running: list[LeaderElector]
) -> None:
    api = FakeLeaseApi()
    api.put_record(held_by("someone-else", duration=3600))
    candidate, callbacks = start_fast(api, "b", lease_name, running)
    wait_for(lambda: candidate.leader() == "someone-else", message="b observes the holder")
    assert candidate.stop(5)
    assert not callbacks.started.is_set()
    assert not callbacks.stopped.is_set()
    assert master_status(lease_name) == 0


def test_leadership_ends_within_the_renew_deadline_of_the_last_successful_renewal(
    lease_name: str, running: list[LeaderElector]
) -> None:
    # the deadline counts from the last renewal that succeeded, not from the start of the next
    # round (a retry period later): a leader cut off must stop writing before a standby can take
    # the lease over (lease_duration after the same renewal, by the standby's observation)
    api = FakeLeaseApi()
    started, stopped = threading.Event(), threading.Event()
    renewed_at: list[float] = []
    answer = api.request

    def cut_after_the_second_renewal(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        result = answer(method, path, **kwargs)
        if method == "PUT":
            renewed_at.append(time.monotonic())
            if len(renewed_at) == 2:
                api.reachable = False
        return result

    api.request = cut_after_the_second_renewal  # type: ignore[method-assign]
    leader = elector(
        api,
        "a",
        time.monotonic,
        lease_duration=6,
        renew_deadline=3,
        retry_period=2,
        on_started_leading=started.set,
        on_stopped_leading=stopped.set,
        lease_name=lease_name,
    )
    running.append(leader)
    leader.start()
    assert started.wait(10)
    assert stopped.wait(15)
    lost_after = time.monotonic() - renewed_at[-1]
    assert lost_after < 3 + 1, f"leadership ended {lost_after:.1f}s after the last renewal"
