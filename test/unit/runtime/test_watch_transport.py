"""Watches on the wire: how ``Client.watch`` reads a stream the server writes in arbitrary pieces.

A tiny HTTP server on a real socket (plain or TLS) plays the API server's side byte for byte:
chunk boundaries anywhere in a JSON line, silence, error answers, error events, gzip, a proxy.
What is checked is what the reflector relies on: every event exactly once and as soon as it
arrives, a quiet end (``ApiConnectionError``) when the server goes silent past the inactivity
deadline, ``close()`` from another thread ending a blocked read at once, ``ApiError`` for error
answers and error events, and a watch's connection closed when the watch ends (never handed back
to the pool, where a half-read stream would poison the next request).
"""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator

import pytest
from support.wait import wait_for

from wfe.runtime.client import ApiConnectionError, ApiError, Client, Resource, is_gone
from wfe.runtime.client.config import ClusterConfig
from wfe.runtime.client.watch import WatchStream
from wfe.runtime.metrics.tls import ServingCertificate

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
END = b"0\r\n\r\n"

Script = Callable[[socket.socket, str, "WatchServer"], None]


def event(name: str, rv: str, event_type: str = "ADDED") -> bytes:
    obj = {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}
    return json.dumps({"type": event_type, "object": obj}).encode() + b"\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def stream_head(*extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"]
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


def status_answer(code: int, reason: str, *extra: str) -> bytes:
    body = json.dumps(
        {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": "no"}
    ).encode()
    head = [f"HTTP/1.1 {code} {reason}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class WatchServer:
    """Answers each connection's first request with ``script``, then waits for the client to close
    the connection (``ended``: one Event per connection). A script that returns without ending
    its answer leaves the client waiting on silence."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[str] = []
        self.ended: list[threading.Event] = []
        self.proceed = threading.Event()
        self._script = script
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def client(self, host: str | None = None, **settings: object) -> Client:
        config = ClusterConfig(host or self.url)
        config.verify_ssl = False  # the test server's self-signed certificate
        for name, value in settings.items():
            setattr(config, name, value)
        return Client(config)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            ended = threading.Event()
            self.ended.append(ended)
            threading.Thread(target=self._handle, args=(conn, ended), daemon=True).start()

    def _handle(self, conn: socket.socket, ended: threading.Event) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(65536)
                if not data:
                    return
                request += data
            line = request.split(b"\r\n", 1)[0].decode()
            self.requests.append(line)
            self._script(conn, line, self)
            conn.settimeout(30)
            while conn.recv(65536):
                pass  # a request after the answer: this server answers one per connection
        except OSError:
            pass
        finally:
            ended.set()
            conn.close()

    def close(self) -> None:
        self.proceed.set()
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., WatchServer]]:
    servers: list[WatchServer] = []

    def start(script: Script, tls: bool = False) -> WatchServer:
        context = None
        if tls:
            context = ServingCertificate(hostname="127.0.0.1")()
        servers.append(WatchServer(script, context))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def sends(*pieces: bytes) -> Script:
    def script(conn: socket.socket, _line: str, _server: WatchServer) -> None:
        for piece in pieces:
            conn.sendall(piece)

    return script


def names(stream: WatchStream) -> list[str]:
    return [e.object["metadata"]["name"] for e in stream]


def open_watch(client: Client, **options: float) -> WatchStream:
    return client.watch(CONFIGMAPS, "ns", resource_version="5", **options)  # type: ignore[arg-type]


EVENTS = event("a", "10") + event("b", "11", "MODIFIED") + event("c", "12", "DELETED")
A_LEN = len(event("a", "10"))


@pytest.mark.parametrize(
    "cuts",
    [
        pytest.param([], id="one-chunk-holding-three-events"),
        pytest.param([A_LEN // 2, A_LEN + 5, len(EVENTS) - 1], id="lines-split-mid-json"),
        pytest.param(list(range(1, len(EVENTS))), id="one-byte-per-chunk"),
        pytest.param([A_LEN - 1, A_LEN], id="a-newline-in-a-chunk-of-its-own"),
    ],
)
def test_every_event_arrives_once_wherever_the_chunks_split_the_lines(
    serve: Callable[..., WatchServer], cuts: list[int]
) -> None:
    bounds = [0, *cuts, len(EVENTS)]
    pieces = [chunk(EVENTS[start:end]) for start, end in itertools.pairwise(bounds)]
    server = serve(sends(stream_head(), *pieces, END))
    stream = open_watch(server.client())
    received = [(e.type, e.object["metadata"]["name"]) for e in stream]
    assert received == [("ADDED", "a"), ("MODIFIED", "b"), ("DELETED", "c")]
    assert server.requests[0].startswith(
        "GET /api/v1/namespaces/ns/configmaps?watch=true&resourceVersion=5"
    )


def test_blank_keep_alive_lines_are_skipped(serve: Callable[..., WatchServer]) -> None:
    server = serve(sends(stream_head(), chunk(b"\n"), chunk(event("a", "10") + b"\r\n \n"), END))
    assert names(open_watch(server.client())) == ["a"]


def test_an_event_is_yielded_as_soon_as_it_arrives(serve: Callable[..., WatchServer]) -> None:
    def script(conn: socket.socket, _line: str, server: WatchServer) -> None:
        conn.sendall(stream_head() + chunk(event("a", "10")))
        if server.proceed.wait(10):  # the client saw "a" without waiting for more bytes
            conn.sendall(chunk(event("b", "11")) + END)

    server = serve(script)
    received = []
    for watched in open_watch(server.client()):
        received.append(watched.object["metadata"]["name"])
        server.proceed.set()
    assert received == ["a", "b"]


def test_a_gzip_stream_is_decoded_as_it_arrives(serve: Callable[..., WatchServer]) -> None:
    def script(conn: socket.socket, _line: str, server: WatchServer) -> None:
        compressor = zlib.compressobj(wbits=31)  # gzip framing
        conn.sendall(stream_head("Content-Encoding: gzip"))
        first = compressor.compress(event("a", "10")) + compressor.flush(zlib.Z_SYNC_FLUSH)
        conn.sendall(chunk(first))
        if server.proceed.wait(10):
            rest = compressor.compress(event("b", "11")) + compressor.flush()
            conn.sendall(chunk(rest[:3]) + chunk(rest[3:]) + END)

    server = serve(script)
    received = []
    for watched in open_watch(server.client()):
        received.append(watched.object["metadata"]["name"])
        server.proceed.set()
    assert received == ["a", "b"]


def test_the_servers_end_of_the_stream_ends_the_iteration_and_the_connection(
    serve: Callable[..., WatchServer],
) -> None:
    server = serve(sends(stream_head(), chunk(event("a", "10")), END))
    client = server.client()
    assert names(open_watch(client)) == ["a"]
    # the watch's connection is closed, not kept for the next request
    assert server.ended[0].wait(5), "the client kept the ended watch's connection open"
    client.list(CONFIGMAPS, "ns")
    assert len(server.ended) == 2


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_silence_past_the_inactivity_deadline_ends_the_stream_as_a_connection_error(
    serve: Callable[..., WatchServer], tls: bool
) -> None:
    server = serve(sends(stream_head(), chunk(event("a", "10"))), tls=tls)
    stream = open_watch(server.client(), inactivity_timeout=0.3)
    received = []
    started = time.monotonic()
    with pytest.raises(ApiConnectionError, match="idle"):
        for watched in stream:
            received.append(watched.object["metadata"]["name"])
    assert received == ["a"]
    assert time.monotonic() - started < 5
    assert server.ended[0].wait(5), "the idle watch's connection was left open"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_close_from_another_thread_ends_a_blocked_read_at_once_and_quietly(
    serve: Callable[..., WatchServer], tls: bool
) -> None:
    server = serve(sends(stream_head(), chunk(event("a", "10"))), tls=tls)
    stream = open_watch(server.client(), inactivity_timeout=60)
    received: list[str] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for watched in stream:
                received.append(watched.object["metadata"]["name"])
        except BaseException as err:  # handed to the test thread
            failures.append(err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: received, message="event a")  # the reader then waits on silence
    stream.close()
    reader.join(2)
    assert not reader.is_alive(), "close() did not unblock the reader"
    assert failures == []
    assert received == ["a"]
    assert server.ended[0].wait(5), "the closed watch's connection was left open"
    stream.close()  # idempotent


def test_close_before_iterating_closes_the_connection(serve: Callable[..., WatchServer]) -> None:
    server = serve(sends(stream_head(), chunk(event("a", "10"))))
    stream = open_watch(server.client())
    stream.close()
    assert server.ended[0].wait(5)
    assert names(stream) == []


@pytest.mark.parametrize(
    ("code", "reason"), [(410, "Expired"), (403, "Forbidden"), (500, "InternalError")]
)
def test_an_error_answer_raises_the_api_error_and_closes_the_connection(
    serve: Callable[..., WatchServer], code: int, reason: str
) -> None:
    server = serve(sends(status_answer(code, reason)))
    with pytest.raises(ApiError) as raised:
        open_watch(server.client())
    assert (raised.value.status, raised.value.reason) == (code, reason)
    assert is_gone(raised.value) is (code == 410)
    assert server.ended[0].wait(5)


def test_a_throttled_watch_is_retried_after_the_servers_delay(
    serve: Callable[..., WatchServer],
) -> None:
    def script(conn: socket.socket, _line: str, server: WatchServer) -> None:
        if len(server.requests) == 1:
            conn.sendall(status_answer(429, "TooManyRequests", "Retry-After: 0"))
        else:
            conn.sendall(stream_head() + chunk(event("a", "10")) + END)

    server = serve(script)
    assert names(open_watch(server.client())) == ["a"]
    assert len(server.requests) == 2


def test_an_error_event_raises_the_api_error_after_the_events_before_it(
    serve: Callable[..., WatchServer],
) -> None:
    expired = {
        "type": "ERROR",
        "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"},
    }
    server = serve(
        sends(stream_head(), chunk(event("a", "10") + json.dumps(expired).encode() + b"\n"))
    )
    received = []
    with pytest.raises(ApiError) as raised:
        for watched in open_watch(server.client()):
            received.append(watched.object["metadata"]["name"])
    assert received == ["a"]
    assert is_gone(raised.value)
    assert server.ended[0].wait(5)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(stream_head() + b"zz\r\n", id="malformed-chunk-size"),
        pytest.param(stream_head() + b"40\r\n" + event("a", "10")[:20], id="cut-mid-chunk"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-", id="cut-in-the-headers"),
    ],
)
def test_a_broken_stream_is_a_connection_error(
    serve: Callable[..., WatchServer], answer: bytes
) -> None:
    def script(conn: socket.socket, _line: str, _server: WatchServer) -> None:
        conn.sendall(answer)
        conn.shutdown(socket.SHUT_WR)

    server = serve(script)
    client = server.client()
    client.connection_reset_retry_seconds = 0  # an answer cut in its head is retried as a reset
    with pytest.raises(ApiConnectionError):
        names(open_watch(client))


def test_an_undecodable_event_is_a_connection_error(serve: Callable[..., WatchServer]) -> None:
    server = serve(sends(stream_head(), chunk(b"{not json\n")))
    with pytest.raises(ApiConnectionError, match="undecodable"):
        names(open_watch(server.client()))


# --- where urllib3 stays: a proxy, a server URL with a path --------------------------------------


def test_through_a_proxy_the_watch_keeps_its_semantics(serve: Callable[..., WatchServer]) -> None:
    pieces = [chunk(EVENTS[:7]), chunk(EVENTS[7 : A_LEN + 3]), chunk(EVENTS[A_LEN + 3 :])]
    server = serve(sends(stream_head(), *pieces))  # then silence
    client = server.client("http://apiserver.invalid:6443", proxy=server.url)
    stream = open_watch(client, inactivity_timeout=60)
    received: list[str] = []

    def read() -> None:
        for watched in stream:
            received.append(watched.object["metadata"]["name"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: len(received) == 3, message="three events through the proxy")
    stream.close()
    reader.join(2)
    assert not reader.is_alive(), "close() did not unblock the proxied reader"
    assert received == ["a", "b", "c"]
    assert server.requests[0].startswith(
        "GET http://apiserver.invalid:6443/api/v1/namespaces/ns/configmaps?watch=true"
    )


def test_through_a_proxy_errors_and_silence_end_the_watch_as_directly(
    serve: Callable[..., WatchServer],
) -> None:
    gone = serve(sends(status_answer(410, "Expired")))
    with pytest.raises(ApiError) as raised:
        open_watch(gone.client("http://apiserver.invalid:6443", proxy=gone.url))
    assert is_gone(raised.value)
    silent = serve(sends(stream_head(), chunk(event("a", "10"))))
    stream = open_watch(
        silent.client("http://apiserver.invalid:6443", proxy=silent.url), inactivity_timeout=0.3
    )
    with pytest.raises(ApiConnectionError, match="idle"):
        names(stream)


def test_a_server_url_with_a_path_is_watched_under_it(serve: Callable[..., WatchServer]) -> None:
    server = serve(sends(stream_head(), chunk(EVENTS[:9]), chunk(EVENTS[9:]), END))
    assert names(open_watch(server.client(f"{server.url}/prefix"))) == ["a", "b", "c"]
    assert server.requests[0].startswith("GET /prefix/api/v1/namespaces/ns/configmaps?watch=true")


# --- what the process imports ---------------------------------------------------------------------


def test_a_controller_talking_to_the_api_server_directly_never_imports_urllib3(
    serve: Callable[..., WatchServer],
) -> None:
    def script(conn: socket.socket, line: str, _server: WatchServer) -> None:
        if "watch=true" in line:
            conn.sendall(stream_head() + chunk(event("a", "10")) + END)
        else:
            body = gzip.compress(b'{"metadata": {"resourceVersion": "5"}, "items": []}')
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    server = serve(script)
    program = f"""
import sys
import wfe.cmd
from wfe.runtime.client import Client, Resource
from wfe.runtime.client.config import ClusterConfig

client = Client(ClusterConfig("{server.url}"))
configmaps = Resource("", "v1", "configmaps", "ConfigMap")
assert client.list(configmaps, "ns")["metadata"]["resourceVersion"] == "5"
assert [e.type for e in client.watch(configmaps, "ns", resource_version="5")] == ["ADDED"]
print(sorted(m for m in sys.modules if m.partition(".")[0] == "urllib3"))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
