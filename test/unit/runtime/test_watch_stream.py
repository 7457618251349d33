"""A watch cut by the server between chunks, against a real socket: the stream ends quietly.

A tiny HTTP server (not an API server: this is about bytes on a socket) answers a watch with one
whole event and half of the next, then closes the connection. The stream has then already closed
its connection, so closing it again must not raise; the reader sees the first event and a
connection error it can resume from.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s_client
from support.wait import wait_for

from wfe.runtime.cache import ExponentialBackoff, Indexer, Reflector, ReflectorOptions
from wfe.runtime.client import ApiConnectionError, Client, Resource

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
FAST = ReflectorOptions(backoff=lambda: ExponentialBackoff(0.01, 0.02))


def _event(name: str, rv: str) -> bytes:
    obj = {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}
    return json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n"


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class CuttingServer:
    """Lists are empty at version 5; every watch gets one event, half of the next, then a close."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        break
                    request += data
                line = request.split(b"\r\n", 1)[0].decode()
                self.requests.append(line)
                if "watch=true" not in line:
                    body = json.dumps({"metadata": {"resourceVersion": "5"}, "items": []}).encode()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                        + body
                    )
                    continue
                second = _event("b", "11")
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                    + _chunk(_event("a", "10"))
                    + _chunk(second[: len(second) // 2])
                )
                conn.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server() -> Iterator[CuttingServer]:
    srv = CuttingServer()
    yield srv
    srv.close()


def test_a_watch_cut_mid_event_yields_what_arrived_then_a_resumable_connection_error(
    server: CuttingServer,
) -> None:
    client = Client(k8s_client.Configuration(host=f"http://127.0.0.1:{server.port}"))
    stream = client.watch(CONFIGMAPS, "ns", resource_version="5")
    received = []
    with pytest.raises(ApiConnectionError):
        for event in stream:
            received.append(event.object["metadata"]["name"])
    assert received == ["a"]
    stream.close()  # closing again, after the stream closed its connection itself, is harmless


def test_the_reflector_resumes_a_cut_watch_from_the_last_version_without_relisting(
    server: CuttingServer,
) -> None:
    client = Client(k8s_client.Configuration(host=f"http://127.0.0.1:{server.port}"))
    store = Indexer()
    reflector = Reflector(client, CONFIGMAPS, store, namespace="ns", options=FAST)
    thread = threading.Thread(target=reflector.run, daemon=True)
    thread.start()
    try:
        watches = wait_for(
            lambda: [r for r in list(server.requests) if "watch=true" in r][2:],
            message="three watches",
        )
    finally:
        reflector.stop()
        thread.join(5)
    lists = [r for r in server.requests if "watch=true" not in r]
    assert len(lists) == 1, "a cut watch must not cost a relist"
    assert all("resourceVersion=10" in w for w in watches), watches
    assert store.list_keys() == ["ns/a"]
