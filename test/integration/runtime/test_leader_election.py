"""Leader election between replicas over a real Lease: one leader, fast handover on release,
takeover only after expiry when the leader dies, and a manager that exits when it loses the lease."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import CONTROLLER_LEASE, apply_controller_rbac
from support.wait import wait_for

from wfe.runtime.client import LEASES, ApiError, Client, ClientFencedError, Resource, is_conflict
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
    def __init__(self, client: Client, namespace: str, lease_name: str, *runnables: Any) -> None:
        self.lease_name = lease_name
        self.client = client
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
        for runnable in runnables:
            self.manager.add(runnable)
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
def managers(admin_client: Client, namespace: str) -> Iterator[Callable[..., RunningManager]]:
    lease_name = f"wfe-{uuid.uuid4().hex[:8]}"
    started: list[RunningManager] = []

    def start(client: Client | None = None, *runnables: Any) -> RunningManager:
        # a client of its own, as a replica has: losing the lease fences it
        client = client or Client(admin_client.configuration)
        started.append(RunningManager(client, namespace, lease_name, *runnables))
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


def usurp(client: Client, namespace: str, lease_name: str, seconds: int = 3600) -> bool:
    """Write another holder into the lease; False when the leader renewed in between (409)."""
    lease = client.get(LEASES, lease_name, namespace)
    lease["spec"]["holderIdentity"] = "usurper"
    lease["spec"]["leaseDurationSeconds"] = seconds
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


CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


class StubbornWriter:
    """Stands for reconciles still in flight: keeps writing a ConfigMap, whatever it is told."""

    def __init__(self, client: Client, namespace: str, name: str) -> None:
        self._client, self._namespace, self._name = client, namespace, name
        self.written = 0
        self.fenced = 0
        self._halt = threading.Event()

    def start(self, stop_event: threading.Event) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        pass  # an in-flight reconcile does not stop when asked

    def halt(self) -> None:
        self._halt.set()

    def _run(self) -> None:
        while not self._halt.wait(0.02):
            try:
                self._client.patch(
                    CONFIGMAPS, self._name, {"data": {"n": str(self.written)}}, self._namespace
                )
                self.written += 1
            except ClientFencedError:
                self.fenced += 1


class SlowFlush:
    """Stands for the audit recorder: its flush takes as long as it is allowed to (until the
    test ends)."""

    def __init__(self) -> None:
        self.done = threading.Event()

    def start(self, stop_event: threading.Event) -> None:
        pass

    def stop(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> bool:
        self.done.wait(timeout)
        return True


def test_a_manager_that_loses_its_lease_stops_writing_and_exits_at_once_without_releasing(
    managers: Callable[..., RunningManager], admin_client: Client, namespace: str
) -> None:
    admin_client.create(CONFIGMAPS, {"metadata": {"name": "target", "namespace": namespace}})
    writers: list[StubbornWriter] = []
    flushes: list[SlowFlush] = []

    def replica() -> RunningManager:
        client = Client(admin_client.configuration)  # the replica's own, fenceable client
        writer = StubbornWriter(client, namespace, "target")
        writers.append(writer)
        flushes.append(SlowFlush())
        return managers(client, writer, flushes[-1])

    first = replica()
    assert first.work.started.wait(10)
    wait_for(lambda: writers[0].written > 0, message="the leader writing")
    second = replica()
    try:
        # the lease changes hands behind the leader's back (as after a partition longer than
        # the renew deadline); it expires soon so the second replica can take over
        wait_for(
            lambda: usurp(admin_client, namespace, first.lease_name, seconds=3),
            message="another holder to win the lease",
        )
        # at once: a graceful stop would wait for SlowFlush (30 s) and the stubborn writer
        first.thread.join(10)
        assert not first.thread.is_alive(), "the deposed manager did not exit at once"
        assert isinstance(first.error, ManagerError)
        version_at_loss = admin_client.get(CONFIGMAPS, "target", namespace)["metadata"][
            "resourceVersion"
        ]
        written_at_loss = writers[0].written

        # a lost lease is never released: the holder is still the usurper (or, later, the next leader)
        record = lease_record(admin_client, namespace, first.lease_name)
        assert record.holder_identity == "usurper"

        wait_for(
            lambda: writers[0].fenced >= 5, message="the deposed leader's writers to keep trying"
        )
        assert writers[0].written == written_at_loss, "a write left the deposed leader"
        assert (
            admin_client.get(CONFIGMAPS, "target", namespace)["metadata"]["resourceVersion"]
            == version_at_loss
        )

        assert second.work.started.wait(10), "the standby never took over"
        assert lease_record(admin_client, namespace, first.lease_name).holder_identity != ""
    finally:
        for writer in writers:
            writer.halt()
        for flush in flushes:
            flush.done.set()
