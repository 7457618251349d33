"""A running manager's HTTP endpoints: /metrics, /healthz and /readyz that follows cache sync."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from support.wait import wait_for

from wfe.runtime.cache import Cache
from wfe.runtime.client import LEASES, Client
from wfe.runtime.manager import Manager


class HeldBackCache:
    """A real informer cache whose start is held back until ``release()``, so a test can look at
    the manager in the window before the first sync (a large first LIST, in production)."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._released = threading.Event()
        self._start_requested = threading.Event()

    def release(self) -> None:
        self._released.set()
        if self._start_requested.is_set():
            self._cache.start()

    def start(self) -> None:
        self._start_requested.set()
        if self._released.is_set():
            self._cache.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._cache.stop(timeout)

    def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        return self._released.is_set() and self._cache.wait_for_cache_sync(timeout)

    def has_synced(self) -> bool:
        return self._cache.has_synced()


class Endpoints:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager

    def get(self, path: str, *, metrics: bool = False) -> tuple[int, str]:
        port = self.manager.metrics_port if metrics else self.manager.health_probe_port
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


@pytest.fixture
def lease_name() -> str:
    return f"wfe-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cache(admin_client: Client, namespace: str) -> HeldBackCache:
    informers = Cache(admin_client, default_namespace=namespace)
    informers.informer_for(LEASES)
    return HeldBackCache(informers)


@pytest.fixture
def endpoints(
    admin_client: Client, namespace: str, lease_name: str, cache: HeldBackCache
) -> Iterator[Endpoints]:
    manager = Manager(
        admin_client,
        metrics_bind_address="127.0.0.1:0",
        health_probe_bind_address="127.0.0.1:0",
        leader_election=True,
        leader_election_id=lease_name,
        leader_election_namespace=namespace,
        lease_duration=2,
        renew_deadline=1.5,
        retry_period=0.2,
        cache=cache,
    )
    stop = threading.Event()
    runner = threading.Thread(target=manager.start, args=(stop,), daemon=True)
    runner.start()
    wait_for(lambda: _serving(manager), message="the manager's HTTP servers")
    yield Endpoints(manager)
    cache.release()
    stop.set()
    runner.join(10)
    assert not runner.is_alive()


def _serving(manager: Manager) -> bool:
    try:
        return manager.health_probe_port > 0 and manager.metrics_port > 0
    except RuntimeError:
        return False


def test_readyz_fails_before_the_cache_syncs_and_passes_after(
    endpoints: Endpoints, cache: HeldBackCache
) -> None:
    assert endpoints.get("/healthz") == (200, "ok")
    status, body = endpoints.get("/readyz")
    assert status == 500
    assert "[-]informer-sync failed: reason withheld\n" in body
    assert body.endswith("healthz check failed\n")

    cache.release()
    wait_for(lambda: endpoints.get("/readyz") == (200, "ok"), message="ready after sync")
    assert endpoints.get("/readyz?verbose") == (
        200,
        "[+]informer-sync ok\n[+]ping ok\nhealthz check passed\n",
    )
    assert endpoints.get("/readyz/informer-sync") == (200, "ok")
    assert endpoints.get("/healthz/ping") == (200, "ok")


def test_metrics_report_leadership_without_created_series(
    endpoints: Endpoints, cache: HeldBackCache, lease_name: str
) -> None:
    cache.release()
    assert endpoints.manager.elected.wait(10)
    status, text = endpoints.get("/metrics", metrics=True)
    assert status == 200
    assert f'leader_election_master_status{{name="{lease_name}"}} 1.0' in text
    assert "_created" not in text
