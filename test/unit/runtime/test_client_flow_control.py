"""The REST client's flow control (client-go's), against a scripted HTTP server on a real socket.

A 429 storm or a connection reset cannot be asked of a real API server on demand, so a tiny HTTP
server plays the answers; the client code under test is the real one, sockets included.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client as k8s_client

from wfe.runtime.client import (
    ApiConnectionError,
    ApiError,
    Client,
    ClientFencedError,
    Resource,
    codec,
)
from wfe.runtime.client.config import ClusterConfig
from wfe.runtime.client.flowcontrol import TokenBucket, retry_after_seconds
from wfe.runtime.client.rest import bypasses_proxy
from wfe.runtime.metrics.registry import REGISTRY

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
OK = (200, {}, {"metadata": {"resourceVersion": "1"}, "items": []})
RESET = "reset"  # close the connection without an answer


def throttled(seconds: str = "0") -> tuple[int, dict[str, str], dict[str, Any]]:
    status = {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "slow down"}
    return 429, {"Retry-After": seconds}, status


class ScriptedServer:
    """Answers requests from a script, in order; once it runs dry every answer is OK."""

    def __init__(self) -> None:
        self.script: deque[Any] = deque()
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.seen.append((f"{self.command} {self.path}", dict(self.headers)))
                answer = server.script.popleft() if server.script else OK
                if answer == RESET:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                status, headers, body = answer
                data = json.dumps(body).encode()
                self.send_response(status)
                if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    data = gzip.compress(data)
                    self.send_header("Content-Encoding", "gzip")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 (http.server names them)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def client_for(server: ScriptedServer, **kwargs: Any) -> Client:
    client = Client(k8s_client.Configuration(host=f"http://{server.host}"), **kwargs)
    client.connection_reset_retry_seconds = 0.0
    return client


def requests_total(code: str, method: str, host: str) -> float:
    labels = {"code": code, "method": method, "host": host}
    return REGISTRY.get_sample_value("rest_client_requests_total", labels) or 0.0


def test_a_429_with_retry_after_is_retried_and_counted(server: ScriptedServer) -> None:
    server.script.extend([throttled(), throttled()])
    client = client_for(server)

    assert client.get(CONFIGMAPS, "a", "ns")["metadata"]["resourceVersion"] == "1"

    assert len(server.seen) == 3
    assert requests_total("429", "GET", server.host) == 2
    assert requests_total("200", "GET", server.host) == 1
    duration = REGISTRY.get_sample_value(
        "rest_client_request_duration_seconds_count", {"verb": "GET", "host": server.host}
    )
    assert duration == 3
    limiter = REGISTRY.get_sample_value(
        "rest_client_rate_limiter_duration_seconds_count", {"verb": "GET", "host": server.host}
    )
    assert limiter == 3


def test_throttling_gives_up_after_ten_retries(server: ScriptedServer) -> None:
    server.script.extend([throttled()] * 20)
    client = client_for(server)

    with pytest.raises(ApiError) as raised:
        client.get(CONFIGMAPS, "a", "ns")

    assert raised.value.status == 429
    assert len(server.seen) == 11


def test_a_write_refused_with_retry_after_is_retried_too(server: ScriptedServer) -> None:
    unavailable = {"kind": "Status", "code": 503, "message": "shedding"}
    server.script.append((503, {"Retry-After": "0"}, unavailable))
    client = client_for(server)

    client.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "ns"}})

    assert [line for line, _ in server.seen] == ["POST /api/v1/namespaces/ns/configmaps"] * 2


def test_a_server_error_without_retry_after_is_not_retried(server: ScriptedServer) -> None:
    server.script.append((500, {}, {"kind": "Status", "code": 500, "message": "boom"}))
    client = client_for(server)

    with pytest.raises(ApiError) as raised:
        client.get(CONFIGMAPS, "a", "ns")

    assert raised.value.status == 500
    assert len(server.seen) == 1


def test_retries_never_outlast_the_callers_timeout(server: ScriptedServer) -> None:
    server.script.append(throttled("5"))
    client = client_for(server)

    with pytest.raises(ApiError):
        client.request("GET", CONFIGMAPS.path("ns", "a"), timeout=1.0)

    assert len(server.seen) == 1


def test_a_read_whose_connection_was_reset_is_retried_a_write_is_not(
    server: ScriptedServer,
) -> None:
    client = client_for(server)
    server.script.append(RESET)
    assert client.get(CONFIGMAPS, "a", "ns")["metadata"]["resourceVersion"] == "1"
    assert len(server.seen) == 2

    server.script.append(RESET)
    with pytest.raises(ApiConnectionError):
        client.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "ns"}})
    assert len(server.seen) == 3


def test_lists_ask_for_gzip_and_read_it(server: ScriptedServer) -> None:
    client = client_for(server)

    listed = client.list(CONFIGMAPS, "ns")

    assert listed["metadata"]["resourceVersion"] == "1"
    assert server.seen[-1][1].get("Accept-Encoding") == "gzip"


def test_the_token_bucket_lets_a_burst_through_then_paces_at_qps() -> None:
    now = [0.0]
    bucket = TokenBucket(10.0, 3, clock=lambda: now[0], sleep=lambda s: None)

    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)  # reservations queue up, first come first served
    now[0] = 10.0
    assert bucket.reserve() == 0.0  # refilled, never above the burst


def test_the_client_waits_for_its_bucket(server: ScriptedServer) -> None:
    client = client_for(server, qps=2.0, burst=1)

    for _ in range(2):
        client.get(CONFIGMAPS, "a", "ns")

    waited = REGISTRY.get_sample_value(
        "rest_client_rate_limiter_duration_seconds_sum", {"verb": "GET", "host": server.host}
    )
    assert waited is not None and waited > 0.2  # the second came sooner than 1/2 s after the first


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [(429, "3", 3.0), (503, "1", 1.0), (500, None, None), (409, "3", None), (429, "soon", None)],
)
def test_retry_after_is_honoured_only_on_throttling_and_server_errors(
    status: int, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    assert retry_after_seconds(status, headers) == expected


def test_a_fenced_client_still_reads_but_no_write_leaves_it(server: ScriptedServer) -> None:
    client = client_for(server)
    twin = client.with_own_rate_limiter()

    client.fence("leader election lost")

    assert client.get(CONFIGMAPS, "a", "ns")["metadata"]["resourceVersion"] == "1"
    for writer in (client, twin):
        with pytest.raises(ClientFencedError, match="leader election lost"):
            writer.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "ns"}})
    assert [line.split()[0] for line, _ in server.seen] == ["GET"]


UNAUTHORIZED = (401, {}, {"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "no"})


class RotatingToken:
    """A configuration whose refresh hook hands out token-1, token-2, ... (one per rotation)."""

    def __init__(self, server: ScriptedServer) -> None:
        self.config = ClusterConfig(f"http://{server.host}")
        self.calls = 0
        self.rotations = 0
        self.config.refresh_api_key_hook = self._refresh

    def rotate(self) -> None:
        self.rotations += 1

    def _refresh(self, config: ClusterConfig) -> None:
        self.calls += 1
        config.api_key = {"authorization": f"Bearer token-{self.rotations}"}


def authorization_seen(server: ScriptedServer) -> list[str]:
    return [
        next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        for _, headers in server.seen
    ]


def test_a_401_after_the_token_rotated_is_retried_once_with_the_new_token(
    server: ScriptedServer,
) -> None:
    token = RotatingToken(server)
    client = Client(token.config)
    client.get(CONFIGMAPS, "a", "ns")
    token.rotate()  # the server now wants token-1; the client still holds token-0 for a second
    server.script.extend([UNAUTHORIZED])
    client.get(CONFIGMAPS, "a", "ns")
    assert authorization_seen(server) == ["Bearer token-0", "Bearer token-0", "Bearer token-1"]


def test_a_401_with_unchanged_credentials_is_an_error_not_a_loop(server: ScriptedServer) -> None:
    token = RotatingToken(server)
    server.script.extend([UNAUTHORIZED, UNAUTHORIZED])
    with pytest.raises(ApiError) as raised:
        Client(token.config).get(CONFIGMAPS, "a", "ns")
    assert raised.value.status == 401
    assert len(server.seen) == 1


def test_credentials_are_read_at_most_once_a_second_not_per_request(
    server: ScriptedServer,
) -> None:
    token = RotatingToken(server)
    client = Client(token.config)
    for _ in range(20):
        client.get(CONFIGMAPS, "a", "ns")
    assert token.calls == 1
    assert set(authorization_seen(server)) == {"Bearer token-0"}


def test_bodies_round_trip_through_orjson_and_the_stdlib_fallback(server: ScriptedServer) -> None:
    client = client_for(server)
    client.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "ns"}, "big": 2**70})
    client.create(CONFIGMAPS, {"metadata": {"name": "b", "namespace": "ns"}, "data": {"k": "é"}})
    assert len(server.seen) == 2
    assert codec.loads(codec.dumps({"n": 2**70, "s": "é"})) == {"n": float(2**70), "s": "é"}
    assert codec.loads(b'{"a": NaN}')["a"] != 0  # orjson refuses NaN; the stdlib reads it


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypassed"),
    [
        ("https://api.example.com:6443", "example.com", True),
        ("https://api.example.com:6443", ".example.com", True),
        ("https://api.example.com:6443", "other.com, *", True),
        ("https://api.example.com:6443", "ample.com", False),
        ("https://10.0.0.1:443", "10.0.0.0/8", True),
        ("https://10.0.0.1:443", "192.168.0.0/16", False),
        ("https://10.0.0.1:443", None, False),
    ],
)
def test_no_proxy_covers_hosts_domains_and_networks(
    host: str, no_proxy: str | None, bypassed: bool
) -> None:
    assert bypasses_proxy(host, no_proxy) is bypassed
