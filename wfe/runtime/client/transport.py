"""A lean HTTP/1.1 transport to the API server: request/answer calls and watch streams.

A reconcile's requests are small JSON exchanges with one server over keep-alive TLS connections.
urllib3 and ``http.client`` spend more CPU around such an exchange than the exchange itself (the
``email`` header parser, per-request Retry/Timeout objects, header dictionaries): about 0.3 ms a
request of the ~0.4 ms measured (docs/performance.md). This transport writes the request in one
``sendall`` and parses the status line, headers and body (Content-Length or chunked, gzip) itself.

Connections are kept in a LIFO pool (the warmest first), at most ``maxsize`` idle; one the server
closed while idle is noticed before reuse (readable with nothing asked) and dropped, as urllib3
does. A stream (a watch) takes a connection of its own and reads the body chunk by chunk as it
arrives, the socket timeout being the inactivity deadline; its connection is closed when the
stream ends, never handed back to the pool. Failures raise ``errors.ConnectionBrokenError`` when
the connection broke before a whole answer was read (a reset for the retry rules: reads are
retried), ``TimeoutError`` (an ``OSError``) on a timeout, any other ``OSError`` as it came.
"""

from __future__ import annotations

import contextlib
import gzip
import select
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from wfe.runtime.client.errors import ConnectionBrokenError

# Idle keep-alive connections kept per API server at least: client-go's idleConnsPerHost. Each
# request in flight beyond what the pool keeps costs a TLS handshake on both ends when it starts.
MIN_IDLE_CONNECTIONS = 25
_MAX_LINE = 65536
_MAX_HEADERS = 200
_STREAM_READ = 65536  # at most this much of an unframed stream body per read


class HeaderLookup(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


class Response(Protocol):
    """What the client reads of an answer, whichever transport carried it."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> HeaderLookup: ...

    @property
    def data(self) -> bytes: ...

    def release_conn(self) -> None: ...

    def drain_conn(self) -> None: ...


class StreamResponse(Response, Protocol):
    """An answer whose body is read as it arrives (a watch)."""

    def chunks(self) -> Iterator[bytes]:
        """The body, decoded, in the pieces it arrives in; ends at its end. Raises
        ``TimeoutError`` past the inactivity deadline, ``OSError`` when the connection breaks."""
        ...

    def close(self) -> None:
        """From any thread: ends a read in progress at once; closes the connection."""
        ...


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


class StreamBody:
    """The reading and closing of a streaming answer: one thread reads, any thread may close.

    ``close()`` while another thread is blocked reading shuts the socket down, which ends that
    read at once, and leaves closing the connection to the reader on its way out (closing a
    descriptor another thread is reading from could hand the number to a new file mid-read);
    otherwise it closes the connection itself. Subclasses read (``_read``), interrupt a read
    (``_interrupt``) and close (``_release``).
    """

    def __init__(self) -> None:
        self._state_lock = threading.Lock()
        self._closed = False
        self._reader: int | None = None  # the thread in chunks()

    def chunks(self) -> Iterator[bytes]:
        with self._state_lock:
            if self._closed or self._reader is not None:
                return
            self._reader = threading.get_ident()
        try:
            yield from self._read()
        finally:
            with self._state_lock:
                self._closed = True
                self._reader = None
            self._release()

    def close(self) -> None:
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            reading = self._reader is not None and self._reader != threading.get_ident()
        if reading:
            self._interrupt()
        else:
            self._release()

    def release_conn(self) -> None:
        self.close()

    def drain_conn(self) -> None:
        self.close()

    def _read(self) -> Iterator[bytes]:
        raise NotImplementedError

    def _interrupt(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


class StreamAnswer(StreamBody):
    """A streaming answer on a connection of its own, closed (never pooled) when it ends."""

    def __init__(self, conn: _Connection, method: str, status: int, headers: Headers):
        super().__init__()
        self.status = status
        self.headers = headers
        self._conn = conn
        self._method = method
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        """The whole body (an error answer's Status), read at once; the connection is closed."""
        if self._data is None:
            try:
                data, _ = _read_body(self._conn.reader, self._method, self.status, self.headers)
            except ValueError as err:
                raise ConnectionBrokenError(f"malformed answer: {err}") from err
            finally:
                self.close()
            if self.headers.get("content-encoding") == "gzip":
                data = gzip.decompress(data)
            self._data = data
        return self._data

    def _read(self) -> Iterator[bytes]:
        reader = self._conn.reader
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            pieces = _chunks(reader)
        else:
            length = self.headers.get("content-length")
            pieces = _unframed(reader, None if length is None else int(length))
        if self.headers.get("content-encoding") != "gzip":
            yield from pieces
            return
        decompress = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress
        for piece in pieces:
            data = decompress(piece)
            if data:
                yield data

    def _interrupt(self) -> None:
        self._conn.shut_down()

    def _release(self) -> None:
        self._conn.close()


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

    def shut_down(self) -> None:
        """Ends a read blocked on this socket in another thread (it reads the end of the stream).

        The plain socket's shutdown even for TLS: ``SSLSocket.shutdown`` would also drop the TLS
        state the blocked reader is still using.
        """
        with contextlib.suppress(OSError):  # closed already
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)

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
        maxsize: int = MIN_IDLE_CONNECTIONS,
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
        """Sends the request and reads the whole answer. Raises ConnectionBrokenError or OSError."""
        payload = self._encode(method, target, headers, body)
        conn = self._get(timeout)
        try:
            conn.sock.settimeout(timeout)
            conn.sock.sendall(payload)
            status, answer_headers = _read_head(conn.reader)
            data, keep_alive = _read_body(conn.reader, method, status, answer_headers)
        except ValueError as err:  # a malformed length or chunk size
            conn.close()
            raise ConnectionBrokenError(f"malformed answer: {err}") from err
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

    def open_stream(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> StreamAnswer:
        """Sends the request and reads the answer's head; the body is read as it arrives.

        ``read_timeout`` bounds the wait for the head and then for every piece of the body (the
        inactivity deadline of a watch). Raises ConnectionBrokenError or OSError.
        """
        payload = self._encode(method, target, headers, None)
        conn = self._get(connect_timeout)
        try:
            conn.sock.settimeout(connect_timeout)
            conn.sock.sendall(payload)
            conn.sock.settimeout(read_timeout)
            status, answer_headers = _read_head(conn.reader)
        except ValueError as err:
            conn.close()
            raise ConnectionBrokenError(f"malformed answer: {err}") from err
        except BaseException:
            conn.close()
            raise
        return StreamAnswer(conn, method, status, answer_headers)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _encode(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> bytes:
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), b"Host: ", self._host_header]
        for name, value in headers.items():
            head.append(f"\r\n{name}: {value}".encode("latin-1"))
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"\r\nContent-Length: {len(body or b'')}".encode("latin-1"))
        head.append(b"\r\n\r\n")
        if body:
            head.append(body)
        return b"".join(head)

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


def _read_head(reader: Any) -> tuple[int, Headers]:
    line = reader.readline(_MAX_LINE + 1)
    if not line:
        raise ConnectionBrokenError(
            "Connection aborted: the server closed the connection without answering"
        )
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ConnectionBrokenError(f"malformed status line {line[:100]!r}")
    status = int(parts[1])
    headers = Headers()
    for _ in range(_MAX_HEADERS):
        line = reader.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return status, headers
        if not line:
            raise ConnectionBrokenError("Response ended prematurely (in the headers)")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ConnectionBrokenError(f"malformed header line {line[:100]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise ConnectionBrokenError("too many headers in the answer")


def _read_body(reader: Any, method: str, status: int, headers: Headers) -> tuple[bytes, bool]:
    """The whole body, and whether the connection may carry another request."""
    keep_alive = headers.get("connection", "").lower() != "close"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b"", keep_alive
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return b"".join(_chunks(reader)), keep_alive
    length = headers.get("content-length")
    if length is not None:
        size = int(length)
        data = reader.read(size)
        if len(data) != size:
            raise ConnectionBrokenError("Response ended prematurely")
        return data, keep_alive
    return reader.read(), False  # delimited by the connection's end


def _chunks(reader: Any) -> Iterator[bytes]:
    """A chunked body's chunks as they arrive; the trailers after the last are read too."""
    readline = reader.readline
    read = reader.read
    while True:
        line = readline(_MAX_LINE + 1)
        if not line:
            raise ConnectionBrokenError("Response ended prematurely")
        try:
            size = int(line, 16)  # "1a3\r\n": int() takes the surrounding whitespace
        except ValueError:
            size = _chunk_size(line)  # with an extension
        if size == 0:
            while readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        chunk = read(size)
        if len(chunk) != size or read(2) != b"\r\n":
            raise ConnectionBrokenError("Response ended prematurely")
        yield chunk


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";", 1)[0], 16)
    except ValueError:
        raise ConnectionBrokenError(f"malformed chunk size {line[:100]!r}") from None


def _unframed(reader: Any, length: int | None) -> Iterator[bytes]:
    """A body of ``length`` bytes, or up to the connection's end, in the pieces it arrives in."""
    remaining = length
    while remaining is None or remaining > 0:
        piece = reader.read1(_STREAM_READ if remaining is None else min(remaining, _STREAM_READ))
        if not piece:
            if remaining is None:
                return
            raise ConnectionBrokenError("Response ended prematurely")
        if remaining is not None:
            remaining -= len(piece)
        yield piece
