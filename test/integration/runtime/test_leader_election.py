"""Leader election between replicas over a real Lease: one leader, fast handover on release,
takeover only after expiry when the leader dies, and a manager that exits when it loses the lease."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import CONTROLLER_LEASE, apply_controller_rbac
from support.wait import wait_for

from wfe.runtime.client import LEASES, ApiError, Client, is_conflict
from wfe.runtime.envtest import ControlPlane
from wfe.runtime.leaderelection import LeaderElectionRecord, LeaderElector
from wfe.runtime.manager import Manager, ManagerError

LEASE_DURATION = 2.0
RENEW_DEADLINE = 1.5
RETRY_PERIOD = 0.2
CONTROLLER_NAMESPACE = "kubernaut-system"  # where config/rbac grants the leader election Role


class Replica:
    """One candidate and what its callbacks reported."""

    def __init__(self, client: Client, namespace: str, lease_name: str, identity: str) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.elector = LeaderElector(
            client,
            lease_name=lease_name,
            namespace=namespace,
            identity=identity,
            lease_duration=LEASE_DURATION,
            renew_deadline=RENEW_DEADLINE,
            retry_period=RETRY_PERIOD,
            on_started_leading=self.started.set,
            on_stopped_leading=self.stopped.set,
        )


@pytest.fixture
def replicas(admin_client: Client, namespace: str) -> Iterator[Callable[[str], Replica]]:
    lease_name = f"wfe-{uuid.uuid4().hex[:8]}"
    started: list[Replica] = []

    def start(identity: str) -> Replica:
        replica = Replica(admin_client, namespace, lease_name, identity)
        replica.elector.start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.elector.stop(5)


def lease_record(client: Client, namespace: str, name: str) -> LeaderElectionRecord:
    return LeaderElectionRecord.from_spec(client.get(LEASES, name, namespace)["spec"])


def leader_and_standby(a: Replica, b: Replica) -> tuple[Replica, Replica]:
    """Wait until one leads and the other has seen it do so."""
    wait_for(lambda: a.started.is_set() or b.started.is_set(), timeout=10, message="a leader")
    leader, standby = (a, b) if a.started.is_set() else (b, a)
    wait_for(
        lambda: standby.elector.leader() == leader.elector.identity,
        timeout=10,
        message="the standby to observe the leader",
    )
    return leader, standby


def test_exactly_one_replica_leads(
    replicas: Callable[[str], Replica], admin_client: Client, namespace: str
) -> None:
    leader, standby = leader_and_standby(replicas("a"), replicas("b"))
    assert leader.elector.is_leader()
    assert not standby.elector.is_leader()
    assert not standby.started.is_set()
    record = lease_record(admin_client, namespace, leader.elector.name)
    assert record.holder_identity == leader.elector.identity
    assert record.lease_duration_seconds == int(LEASE_DURATION)


def test_a_leader_that_stops_releases_and_the_standby_takes_over_at_once(
    replicas: Callable[[str], Replica], admin_client: Client, namespace: str
) -> None:
    leader, standby = leader_and_standby(replicas("a"), replicas("b"))
    transitions = lease_record(admin_client, namespace, leader.elector.name).leader_transitions
    stopped_at = time.monotonic()
    assert leader.elector.stop(5)
    assert leader.stopped.is_set()
    assert standby.started.wait(10)
    # Without the release the standby would wait a whole lease duration after the last renewal.
    assert time.monotonic() - stopped_at < LEASE_DURATION
    record = lease_record(admin_client, namespace, leader.elector.name)
    assert record.holder_identity == standby.elector.identity
    assert record.leader_transitions == transitions + 1


def test_a_leader_that_dies_without_releasing_is_replaced_after_the_lease_expires(
    replicas: Callable[[str], Replica], admin_client: Client, namespace: str
) -> None:
    leader, standby = leader_and_standby(replicas("a"), replicas("b"))
    died_at = time.monotonic()
    assert leader.elector.stop(5, release=False)  # stops renewing, like a killed process
    assert lease_record(admin_client, namespace, leader.elector.name).holder_identity == (
        leader.elector.identity
    )
    assert standby.started.wait(10)
    # It waited for the lease to expire (a released lease is taken within a retry or two).
    assert time.monotonic() - died_at >= LEASE_DURATION / 2
    record = lease_record(admin_client, namespace, leader.elector.name)
    assert record.holder_identity == standby.elector.identity


class Work:
    """A runnable that notes when the manager starts and stops it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start(self, stop_event: threading.Event) -> None:
        self.started.set()

    def stop(self) -> None:
        self.stopped.set()


class RunningManager:
    def __init__(self, client: Client, namespace: str, lease_name: str) -> None:
        self.lease_name = lease_name
        self.work = Work()
        self.manager = Manager(
            client,
            metrics_bind_address="0",
            health_probe_bind_address="0",
            leader_election=True,
            leader_election_id=lease_name,
            leader_election_namespace=namespace,
            lease_duration=LEASE_DURATION,
            renew_deadline=RENEW_DEADLINE,
            retry_period=RETRY_PERIOD,
        )
        self.manager.add(self.work)
        self.stop = threading.Event()
        self.error: ManagerError | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.manager.start(self.stop)
        except ManagerError as err:
            self.error = err

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def managers(admin_client: Client, namespace: str) -> Iterator[Callable[[], RunningManager]]:
    lease_name = f"wfe-{uuid.uuid4().hex[:8]}"
    started: list[RunningManager] = []

    def start() -> RunningManager:
        started.append(RunningManager(admin_client, namespace, lease_name))
        return started[-1]

    yield start
    for running in started:
        running.finish()


def test_only_the_elected_manager_runs_its_controllers_and_hands_over_on_shutdown(
    managers: Callable[[], RunningManager],
) -> None:
    a, b = managers(), managers()
    wait_for(lambda: a.work.started.is_set() or b.work.started.is_set(), message="a leader")
    leader, standby = (a, b) if a.work.started.is_set() else (b, a)
    assert not standby.work.started.is_set()
    leader.finish()
    assert leader.error is None
    assert leader.work.stopped.is_set()
    assert standby.work.started.wait(LEASE_DURATION)  # released: no wait for expiry


def usurp(client: Client, namespace: str, lease_name: str) -> bool:
    """Write another holder into the lease; False when the leader renewed in between (409)."""
    lease = client.get(LEASES, lease_name, namespace)
    lease["spec"]["holderIdentity"] = "usurper"
    lease["spec"]["leaseDurationSeconds"] = 3600
    try:
        client.update(LEASES, lease)
    except ApiError as err:
        if is_conflict(err):
            return False
        raise
    return True


def test_a_manager_that_loses_its_lease_stops_its_controllers_and_fails(
    managers: Callable[[], RunningManager], admin_client: Client, namespace: str
) -> None:
    running = managers()
    assert running.work.started.wait(10)
    wait_for(
        lambda: usurp(admin_client, namespace, running.lease_name),
        message="another replica's write to win the lease",
    )
    running.thread.join(10)
    assert not running.thread.is_alive()
    assert isinstance(running.error, ManagerError)
    assert "leader election lost" in str(running.error)
    assert running.work.stopped.is_set()
    record = lease_record(admin_client, namespace, running.lease_name)
    assert record.holder_identity == "usurper"  # the loser does not clobber the new holder


def renewed(client: Client, lease_name: str) -> bool:
    record = lease_record(client, CONTROLLER_NAMESPACE, lease_name)
    return record.renew_time != record.acquire_time


def test_the_controller_role_suffices_to_lead_and_release(
    control_plane: ControlPlane, admin_client: Client
) -> None:
    apply_controller_rbac(admin_client)
    # config/rbac lets the controller read and renew only its own Lease (resourceNames)
    lease_name = CONTROLLER_LEASE
    if admin_client.get_or_none(LEASES, lease_name, CONTROLLER_NAMESPACE) is not None:
        admin_client.delete(LEASES, lease_name, CONTROLLER_NAMESPACE)
    replica = Replica(
        control_plane.client(CONTROLLER_USER), CONTROLLER_NAMESPACE, lease_name, "controller-0"
    )
    replica.elector.start()
    try:
        assert replica.started.wait(10)  # create, then renew (update) the Lease
        wait_for(lambda: renewed(admin_client, lease_name), message="a renewal")
    finally:
        assert replica.elector.stop(5)
    assert lease_record(admin_client, CONTROLLER_NAMESPACE, lease_name).holder_identity == ""
