"""The lean HTTP/1.1 transport against a raw socket server that answers exactly as scripted."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from wfe.runtime.client.errors import ConnectionBrokenError
from wfe.runtime.client.transport import Transport

Script = Callable[[socket.socket, bytes], bool]  # answers one request; False closes the connection


class RawServer:
    def __init__(self, answer: Script) -> None:
        self.requests: list[bytes] = []
        self.connections = 0
        self._answer = answer
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                if not self._answer(conn, head):
                    return

    def transport(self) -> Transport:
        return Transport(("127.0.0.1", self.port), f"127.0.0.1:{self.port}", ssl_context=None)

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Script) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answer_with(raw: bytes, keep: bool = True) -> Script:
    def answer(conn: socket.socket, _head: bytes) -> bool:
        conn.sendall(raw)
        return keep

    return answer


def test_a_content_length_answer_is_read_and_the_connection_reused(
    serve: Callable[[Script], RawServer],
) -> None:
    server = serve(answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n{}"))
    transport = server.transport()
    for _ in range(3):
        answer = transport.request("POST", "/x?y=1", {"Accept": "application/json"}, b"[1]", 5.0)
        assert (answer.status, answer.data, answer.headers.get("X-a")) == (200, b"{}", "1")
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 3\r\n\r\n[1]" in server.requests[0]


def test_a_chunked_gzip_answer_is_joined_and_decompressed(
    serve: Callable[[Script], RawServer],
) -> None:
    body = gzip.compress(b'{"items": []}')
    half = len(body) // 2
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:half], body[half:])
    )
    server = serve(
        answer_with(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
            + chunks
            + b"0\r\n\r\n"
        )
    )
    transport = server.transport()
    assert transport.request("GET", "/l", {}, None, 5.0).data == b'{"items": []}'
    assert transport.request("GET", "/l", {}, None, 5.0).data == b'{"items": []}'
    assert server.connections == 1


def test_connection_close_is_honoured(serve: Callable[[Script], RawServer]) -> None:
    server = serve(
        answer_with(
            b"HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False
        )
    )
    transport = server.transport()
    assert transport.request("PUT", "/a", {}, b"{}", 5.0).status == 409
    assert transport.request("PUT", "/a", {}, b"{}", 5.0).status == 409
    assert server.connections == 2


def test_an_idle_connection_the_server_closed_is_not_reused(
    serve: Callable[[Script], RawServer],
) -> None:
    # the server answers, then closes the connection while it sits idle in the pool
    server = serve(answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False))
    transport = server.transport()
    transport.request("GET", "/a", {}, None, 5.0)
    for _ in range(100):  # wait until the close has reached this side
        if transport._idle and transport._idle[0].dropped():
            break
        threading.Event().wait(0.01)
    assert transport.request("GET", "/a", {}, None, 5.0).status == 200
    assert server.connections == 2


def test_a_connection_closed_without_an_answer_is_a_broken_connection(
    serve: Callable[[Script], RawServer],
) -> None:
    server = serve(lambda _conn, _head: False)
    with pytest.raises(ConnectionBrokenError):
        server.transport().request("GET", "/a", {}, None, 5.0)


def test_a_truncated_or_malformed_answer_is_a_broken_connection(
    serve: Callable[[Script], RawServer],
) -> None:
    truncated = serve(answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", False))
    with pytest.raises(ConnectionBrokenError):
        truncated.transport().request("GET", "/a", {}, None, 5.0)
    malformed = serve(answer_with(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
    with pytest.raises(ConnectionBrokenError):
        malformed.transport().request("GET", "/a", {}, None, 5.0)


def test_a_silent_server_times_out(serve: Callable[[Script], RawServer]) -> None:
    stop = threading.Event()
    server = serve(lambda _conn, _head: stop.wait(5) or False)
    with pytest.raises(OSError):
        server.transport().request("GET", "/a", {}, None, 0.2)
    stop.set()


def test_threads_share_the_pool_without_mixing_answers(
    serve: Callable[[Script], RawServer],
) -> None:
    def echo(conn: socket.socket, head: bytes) -> bool:
        path = head.split(b" ")[1]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
        return True

    transport = serve(echo).transport()
    wrong: list[str] = []

    def worker(index: int) -> None:
        for i in range(50):
            path = f"/{index}/{i}"
            if transport.request("GET", path, {}, None, 5.0).data != path.encode():
                wrong.append(path)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
