"""The /metrics endpoint: Prometheus text from the registry, no `_created` series, gzip on request."""

from __future__ import annotations

import gzip
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

import wfe.runtime.metrics.registry  # noqa: F401  (turns `_created` series off process-wide)
from wfe.runtime.httpserver import parse_bind_address
from wfe.runtime.metrics.server import MetricsServer


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    registry = CollectorRegistry(auto_describe=True)
    Counter("demo_reconciles", "Reconciles.", ("controller",), registry=registry).labels(
        "wfe"
    ).inc()
    server = MetricsServer("127.0.0.1:0", registry)
    server.start()
    yield server
    server.stop()


def fetch(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_metrics_are_served_in_prometheus_text_without_created_series(
    server: MetricsServer,
) -> None:
    status, headers, body = fetch(server.port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert 'demo_reconciles_total{controller="wfe"} 1.0' in text
    assert "_created" not in text


def test_metrics_are_gzipped_when_the_scraper_accepts_it(server: MetricsServer) -> None:
    status, headers, body = fetch(server.port, "/metrics", **{"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert b"demo_reconciles_total" in gzip.decompress(body)


def test_other_paths_are_not_found(server: MetricsServer) -> None:
    assert fetch(server.port, "/")[0] == 404


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        (":9090", ("", 9090)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:8081", ("::1", 8081)),
        ("0", None),
        ("", None),
    ],
)
def test_bind_addresses(address: str, parsed: tuple[str, int] | None) -> None:
    assert parse_bind_address(address) == parsed


@pytest.mark.parametrize("address", ["9090", "host:", "host:http", ":70000"])
def test_invalid_bind_addresses_are_rejected(address: str) -> None:
    with pytest.raises(ValueError, match="bind address"):
        parse_bind_address(address)


@pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="no dual-stack IPv6 on this host")
def test_a_port_only_address_listens_on_ipv4_and_ipv6() -> None:
    server = MetricsServer(":0", CollectorRegistry())
    server.start()
    try:
        assert fetch_url(f"http://127.0.0.1:{server.port}/metrics") == 200
        assert fetch_url(f"http://[::1]:{server.port}/metrics") == 200
    finally:
        server.stop()


def fetch_url(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)
