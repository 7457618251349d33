"""The fault proxy itself, against a small HTTPS server that speaks like the API server (JSON
bodies, chunked watch streams): each fault does what the fault tests rely on."""

from __future__ import annotations

import json
import queue
import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
import urllib3

from wfe.runtime.envtest import pki

from .proxy import FaultProxy

WATCH_EVENT = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "x"}}}).encode() + b"\n"


class Upstream:
    def __init__(self, keys: pki.Pki) -> None:
        self.events: queue.Queue[bytes | None] = queue.Queue()
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if "watch=true" in self.path:
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while (event := events.get()) is not None:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self._json(200, {"kind": "List", "items": []})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self._json(201, json.loads(body))

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(keys.serving_cert), str(keys.serving_key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.generate(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def upstream(keys: pki.Pki) -> Iterator[Upstream]:
    server = Upstream(keys)
    yield server
    server.events.put(None)
    server.server.shutdown()


@pytest.fixture
def proxy(keys: pki.Pki, upstream: Upstream) -> Iterator[FaultProxy]:
    started = FaultProxy(
        upstream.port, ca_file=keys.ca_cert, cert_file=keys.serving_cert, key_file=keys.serving_key
    ).start()
    yield started
    started.stop()


@pytest.fixture
def http(keys: pki.Pki) -> urllib3.PoolManager:
    return urllib3.PoolManager(ca_certs=str(keys.ca_cert), retries=False, timeout=3.0)


def test_requests_pass_and_are_recorded_with_the_created_pipelinerun(
    proxy: FaultProxy, http: urllib3.PoolManager
) -> None:
    assert http.request("GET", f"{proxy.url}/api/v1/namespaces/a/pods").status == 200
    run = {
        "metadata": {"name": "wfe-1", "annotations": {"kubernaut.ai/workflow-execution-uid": "u1"}}
    }
    answer = http.request(
        "POST", f"{proxy.url}/apis/tekton.dev/v1/namespaces/x/pipelineruns", json=run
    )
    assert answer.status == 201
    assert [(r.method, r.status, r.is_list) for r in proxy.requests] == [
        ("GET", 200, True),
        ("POST", 201, False),
    ]
    assert [c.name for c in proxy.created_runs_by_wfe()["u1"]] == ["wfe-1"]


def test_a_throttled_request_gets_429_with_retry_after(
    proxy: FaultProxy, http: urllib3.PoolManager
) -> None:
    proxy.throttle(1.0, retry_after=2)
    answer = http.request("GET", f"{proxy.url}/api/v1/pods")
    assert (answer.status, answer.headers["Retry-After"]) == (429, "2")
    proxy.throttle(0.0)
    assert http.request("GET", f"{proxy.url}/api/v1/pods").status == 200


def test_a_watch_cut_mid_event_ends_the_stream_inside_an_event(
    proxy: FaultProxy, upstream: Upstream, http: urllib3.PoolManager
) -> None:
    response = http.request("GET", f"{proxy.url}/api/v1/pods?watch=true", preload_content=False)
    upstream.events.put(WATCH_EVENT)
    assert response.read1(len(WATCH_EVENT)) == WATCH_EVENT  # type: ignore[attr-defined]
    assert proxy.cut_watches() == 1
    upstream.events.put(WATCH_EVENT)
    upstream.events.put(WATCH_EVENT)
    with pytest.raises(urllib3.exceptions.ProtocolError):  # "Response ended prematurely"
        response.read()
    assert proxy.watches_cut == 1


def test_a_partition_black_holes_until_healed(proxy: FaultProxy, http: urllib3.PoolManager) -> None:
    proxy.partition()
    with pytest.raises(urllib3.exceptions.HTTPError):
        http.request("GET", f"{proxy.url}/api/v1/pods", timeout=1.0)
    proxy.heal()
    assert http.request("GET", f"{proxy.url}/api/v1/pods").status == 200
