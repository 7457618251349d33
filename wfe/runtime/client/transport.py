"""A lean HTTP/1.1 transport for the API server's request/answer calls (watches stay on urllib3).

A reconcile's requests are small JSON exchanges with one server over keep-alive TLS connections.
urllib3 and ``http.client`` spend more CPU around such an exchange than the exchange itself (the
``email`` header parser, per-request Retry/Timeout objects, header dictionaries): about 0.3 ms a
request of the ~0.4 ms measured (docs/performance.md). This transport writes the request in one
``sendall`` and parses the status line, headers and body (Content-Length or chunked, gzip) itself.

Connections are kept in a LIFO pool (the warmest first), at most ``maxsize`` idle; one the server
closed while idle is noticed before reuse (readable with nothing asked) and dropped, as urllib3
does. Failures raise what urllib3 raised, so the client's retry rules stay the same: a
connection broken before an answer is a ``ProtocolError`` (a reset, retried for reads), a timeout
an ``OSError``.
"""

from __future__ import annotations

import gzip
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any

from urllib3.exceptions import ProtocolError

_MAX_LINE = 65536
_MAX_HEADERS = 200


class Answer:
    """One answer: status, headers (case-insensitive ``get``), the whole body."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Headers, data: bytes):
        self.status = status
        self.headers = headers
        self.data = data

    def release_conn(self) -> None:
        """Nothing to release: the body was read and the connection returned already."""

    def drain_conn(self) -> None:
        """Nothing to drain (urllib3's response interface)."""


class Headers(dict[str, str]):
    """Header names lower-cased; ``get`` takes any case."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class _Connection:
    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def dropped(self) -> bool:
        """True when the server closed (or wrote to) this idle connection."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class Transport:
    """Keep-alive HTTP/1.1 to ``address`` (TLS when ``ssl_context`` is given); thread-safe."""

    def __init__(
        self,
        address: tuple[str, int],
        host_header: str,
        *,
        ssl_context: ssl.SSLContext | None,
        server_hostname: str | None = None,
        maxsize: int = 16,
    ):
        self._address = address
        self._host_header = host_header.encode("idna")
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname or address[0]
        self._maxsize = maxsize
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
    ) -> Answer:
        """Sends the request and reads the whole answer. Raises ProtocolError or OSError."""
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), b"Host: ", self._host_header]
        for name, value in headers.items():
            head.append(f"\r\n{name}: {value}".encode("latin-1"))
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"\r\nContent-Length: {len(body or b'')}".encode("latin-1"))
        head.append(b"\r\n\r\n")
        if body:
            head.append(body)
        payload = b"".join(head)
        conn = self._get(timeout)
        try:
            conn.sock.settimeout(timeout)
            conn.sock.sendall(payload)
            status, answer_headers, data, keep_alive = _read_answer(conn.reader, method)
        except ValueError as err:  # a malformed length or chunk size
            conn.close()
            raise ProtocolError(f"malformed answer: {err}") from err
        except BaseException:
            conn.close()
            raise
        if keep_alive:
            self._put(conn)
        else:
            conn.close()
        if answer_headers.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        return Answer(status, answer_headers, data)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _get(self, timeout: float) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(timeout)
            if not conn.dropped():
                return conn
            conn.close()

    def _put(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self, timeout: float) -> _Connection:
        sock = socket.create_connection(self._address, timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl_context is not None:
                sock = self._ssl_context.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)


def _read_answer(reader: Any, method: str) -> tuple[int, Headers, bytes, bool]:
    line = reader.readline(_MAX_LINE + 1)
    if not line:
        raise ProtocolError(
            "Connection aborted: the server closed the connection without answering"
        )
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"malformed status line {line[:100]!r}")
    status = int(parts[1])
    headers = Headers()
    for _ in range(_MAX_HEADERS):
        line = reader.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            break
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"malformed header line {line[:100]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    else:
        raise ProtocolError("too many headers in the answer")
    keep_alive = headers.get("connection", "").lower() != "close"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", keep_alive
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, headers, _read_chunked(reader), keep_alive
    length = headers.get("content-length")
    if length is not None:
        size = int(length)
        data = reader.read(size)
        if len(data) != size:
            raise ProtocolError("Response ended prematurely")
        return status, headers, data, keep_alive
    return status, headers, reader.read(), False  # delimited by the connection's end


def _read_chunked(reader: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        line = reader.readline(_MAX_LINE + 1)
        if not line:
            raise ProtocolError("Response ended prematurely")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while reader.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunk = reader.read(size)
        if len(chunk) != size or reader.read(2) != b"\r\n":
            raise ProtocolError("Response ended prematurely")
        chunks.append(chunk)
