"""The manager's start and stop ordering, readiness on cache sync, and fatal errors, with fakes."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from support.wait import wait_for

from wfe.runtime.client import Client
from wfe.runtime.manager import Manager, ManagerError


class Journal:
    """The order in which the fakes were started and stopped."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self._lock = threading.Lock()

    def note(self, entry: str) -> None:
        with self._lock:
            self.entries.append(entry)


class FakeCache:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.synced = threading.Event()

    def start(self) -> None:
        self.journal.note("cache started")

    def stop(self, timeout: float = 5.0) -> None:
        self.journal.note("cache stopped")

    def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        return self.synced.wait(timeout)

    def has_synced(self) -> bool:
        return self.synced.is_set()


class FakeRunnable:
    """Like a Controller: ``stop`` asks the workers to finish, ``wait`` waits for them."""

    def __init__(self, name: str, journal: Journal, *, finishes: bool = True) -> None:
        self.name = name
        self.journal = journal
        self.finishes = finishes
        self.started = threading.Event()

    def start(self, stop_event: threading.Event) -> None:
        self.journal.note(f"{self.name} started")
        self.started.set()

    def stop(self) -> None:
        self.journal.note(f"{self.name} stopped")

    def wait(self, timeout: float | None = None) -> bool:
        return self.finishes


class FailingRunnable(FakeRunnable):
    def start(self, stop_event: threading.Event) -> None:
        raise RuntimeError("cannot start workers")


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def cache(journal: Journal) -> FakeCache:
    return FakeCache(journal)


class Running:
    """A manager started on a thread; ``finish()`` sets its stop event and waits for it."""

    def __init__(self, manager: Manager) -> None:
        self.stop = threading.Event()
        self.errors: list[ManagerError] = []
        self._thread = threading.Thread(target=self._run, args=(manager,), daemon=True)
        self._thread.start()

    def _run(self, manager: Manager) -> None:
        try:
            manager.start(self.stop)
        except ManagerError as err:
            self.errors.append(err)

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "the manager did not stop"


@pytest.fixture
def run() -> Iterator[Callable[[Manager], Running]]:
    started: list[Running] = []

    def start(manager: Manager) -> Running:
        started.append(Running(manager))
        return started[-1]

    yield start
    for running in started:
        running.finish()


def make_manager(cache: FakeCache | None = None, **options: float) -> Manager:
    fake_client: Client = object()  # type: ignore[assignment]  # no API calls without leader election
    return Manager(
        fake_client,
        metrics_bind_address="127.0.0.1:0",
        health_probe_bind_address="127.0.0.1:0",
        cache=cache,
        **options,  # type: ignore[arg-type]
    )


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_starts_caches_then_runnables_and_stops_in_reverse(
    journal: Journal, cache: FakeCache, run: Callable[[Manager], Running]
) -> None:
    manager = make_manager(cache)
    manager.add(FakeRunnable("controller", journal))
    manager.add(FakeRunnable("audit-spool", journal), needs_leader_election=False)
    cache.synced.set()
    running = run(manager)
    assert manager.elected.wait(5)
    running.finish()
    assert running.errors == []
    assert journal.entries == [
        "cache started",
        "audit-spool started",
        "controller started",
        "controller stopped",
        "audit-spool stopped",
        "cache stopped",
    ]


def test_readyz_fails_until_the_cache_has_synced(
    journal: Journal, cache: FakeCache, run: Callable[[Manager], Running]
) -> None:
    manager = make_manager(cache)
    controller = FakeRunnable("controller", journal)
    manager.add(controller)
    run(manager)
    port = wait_for(lambda: _port_or_none(manager), message="probe server up")
    assert get(port, "/healthz") == 200
    assert get(port, "/readyz") == 500
    assert not controller.started.is_set()
    cache.synced.set()
    assert controller.started.wait(5)
    assert get(port, "/readyz") == 200


def test_stopping_before_the_cache_syncs_starts_no_runnable(
    journal: Journal, cache: FakeCache
) -> None:
    manager = make_manager(cache)
    manager.add(FakeRunnable("controller", journal))
    stop = threading.Event()
    stop.set()
    manager.start(stop)  # returns without error
    assert "controller started" not in journal.entries
    assert journal.entries[-1] == "cache stopped"


def test_a_cache_that_never_syncs_is_a_fatal_error(journal: Journal, cache: FakeCache) -> None:
    manager = make_manager(cache, cache_sync_timeout=0.3)
    manager.add(FakeRunnable("controller", journal))
    with pytest.raises(ManagerError, match="caches to sync"):
        manager.start(threading.Event())
    assert "controller started" not in journal.entries


def test_a_runnable_that_cannot_start_stops_the_others(journal: Journal) -> None:
    manager = make_manager()
    manager.add(FakeRunnable("spool", journal), needs_leader_election=False)
    manager.add(FailingRunnable("controller", journal))
    with pytest.raises(ManagerError, match="cannot start workers"):
        manager.start(threading.Event())
    assert journal.entries == ["spool started", "spool stopped"]


def test_work_outliving_the_grace_period_is_an_error(
    journal: Journal, run: Callable[[Manager], Running]
) -> None:
    manager = make_manager(graceful_shutdown_timeout=0.2)
    stuck = FakeRunnable("controller", journal, finishes=False)
    manager.add(stuck)
    running = run(manager)
    assert stuck.started.wait(5)
    running.finish()
    assert len(running.errors) == 1
    assert "grace period" in str(running.errors[0])


def test_runnables_cannot_be_added_after_start(journal: Journal) -> None:
    manager = make_manager()
    stop = threading.Event()
    stop.set()
    manager.start(stop)
    with pytest.raises(RuntimeError):
        manager.add(FakeRunnable("late", journal))


def _port_or_none(manager: Manager) -> int | None:
    try:
        return manager.health_probe_port
    except RuntimeError:
        return None


SIGNAL_SCRIPT = """
import os, signal, sys, threading
from wfe.runtime.manager import install_signal_handlers
stop = threading.Event()
install_signal_handlers(stop)
os.kill(os.getpid(), signal.SIGTERM)
print("stop requested" if stop.wait(5) else "not stopped", flush=True)
os.kill(os.getpid(), signal.SIGINT)
print("still running", flush=True)
"""


def test_first_signal_requests_a_graceful_stop_and_a_second_exits_at_once() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_SCRIPT],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    printed = result.stdout.splitlines()  # log lines go there too
    assert "stop requested" in printed
    assert "still running" not in printed
    assert result.returncode == 1
