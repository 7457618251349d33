"""A fault-injecting HTTP/1.1 proxy between one controller and the API server.

It terminates TLS with the control plane's own serving certificate (so the controller's kubeconfig
only changes its server URL), opens one upstream TLS connection per client connection, and relays
requests and responses, chunk by chunk for watches. Faults are switched on and off while it runs:

* ``freeze_watches()``  the watches open now stop receiving bytes; their connections stay open;
* ``cut_watches()``     every open watch is cut in the middle of its next event (half a chunk);
* ``partition()``       nothing goes through: open connections freeze, new ones are accepted and
                        never answered (a black hole, not a refusal); ``heal()`` drops them all;
                        ``partition(leases_only=True)`` black-holes only Lease requests;
* ``throttle(f)``       a fraction ``f`` of requests is answered 429 with ``Retry-After`` (API
                        Priority and Fairness shedding); Lease requests are exempt, as APF's
                        leader-election priority level is.

It also records every request (time, method, path, status, whether the proxy answered it itself),
every PipelineRun the API server created through it, and every 410 Gone a watch carried, so tests
count writes, creations and relists exactly, whatever the watches saw.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WFE_UID_ANNOTATION = "kubernaut.ai/workflow-execution-uid"


@dataclass(frozen=True)
class RequestRecord:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str  # with the query string
    status: int  # 0 when no answer came (connection cut, partition)
    injected: bool  # answered by the proxy itself (429)

    @property
    def is_watch(self) -> bool:
        return "watch=true" in self.path or "watch=1" in self.path

    @property
    def is_list(self) -> bool:
        return self.method == "GET" and not self.is_watch and self._collection()

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def is_lease(self) -> bool:
        return "/leases" in self.path

    def _collection(self) -> bool:
        # .../namespaces/<ns>/<plural> or /apis/<g>/<v>/<plural>: an even number of path segments
        # after the group/version prefix means a collection.
        segments = [s for s in self.path.split("?", 1)[0].split("/") if s]
        prefix = 2 if segments[:1] == ["api"] else 3
        rest = segments[prefix:]
        return len(rest) in (1, 3) and (len(rest) == 1 or rest[0] == "namespaces")


@dataclass(frozen=True)
class Creation:
    at: float
    name: str
    wfe_uid: str


class _ClosedError(Exception):
    """The peer went away or the proxy dropped the connection."""


@dataclass(eq=False)  # identity: kept in a set
class _Connection:
    client: socket.socket
    upstream: socket.socket
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    in_watch: bool = False
    frozen: bool = False
    cut_armed: bool = False
    cut_held: bytes = b""  # a whole event held back, to go out with half of the next one
    dropped: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.dropped.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class _Request:
    method: str
    path: str
    head: bytes
    body: bytes


class FaultProxy:
    """``start()`` listens on a free loopback port; ``url`` is what the controller's kubeconfig
    points at. Thread-safe: faults are switched from the test thread while connections run."""

    def __init__(
        self, upstream_port: int, *, ca_file: Path, cert_file: Path, key_file: Path
    ) -> None:
        self._upstream_port = upstream_port
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(str(cert_file), str(key_file))
        self._upstream_tls = ssl.create_default_context(cafile=str(ca_file))
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._parked: list[socket.socket] = []
        self._partitioned = False
        self._leases_blackholed = False
        self._throttle_fraction = 0.0
        self._retry_after = 1
        self._random = random.Random(7)
        self._listener: socket.socket | None = None
        self._stopping = False
        self.requests: list[RequestRecord] = []
        self.creations: list[Creation] = []
        self.gone_events = 0  # 410 Gone ERROR events relayed on watches
        self.watches_cut = 0
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        self._drop_all()

    # --- faults --------------------------------------------------------------------------------

    def freeze_watches(self) -> int:
        """The watches open now get no more bytes (connections stay open). Returns how many."""
        with self._lock:
            watches = [c for c in self._connections if c.in_watch]
            for conn in watches:
                conn.frozen = True
        return len(watches)

    def cut_watches(self) -> int:
        """Each open watch gets its next event and half of the one after in one write, then its
        connection closes: the reader has a whole event and a torn one in its buffer. Returns
        how many were armed."""
        with self._lock:
            watches = [c for c in self._connections if c.in_watch]
            for conn in watches:
                conn.cut_armed = True
        return len(watches)

    def end_watches(self) -> int:
        """Ends every open watch cleanly now, as the API server does when its timeoutSeconds is
        up (the last chunk, then the connection closes): clients re-watch from their last
        resourceVersion. Returns how many were ended."""
        with self._lock:
            watches = [c for c in self._connections if c.in_watch]
        for conn in watches:
            with conn.send_lock, contextlib.suppress(OSError):
                conn.client.sendall(b"0\r\n\r\n")
            conn.close()
        return len(watches)

    def partition(self, *, leases_only: bool = False) -> None:
        """Black-holes everything, or (``leases_only``) only Lease requests: a leader whose
        renewals hang while its other requests still go through."""
        with self._lock:
            if leases_only:
                self._leases_blackholed = True
                return
            self._partitioned = True
            for conn in self._connections:
                conn.frozen = True

    def heal(self) -> None:
        """Ends a partition; every connection that was black-holed is dropped (reset)."""
        with self._lock:
            self._partitioned = self._leases_blackholed = False
        self._drop_all(only_frozen=True)

    def throttle(self, fraction: float, retry_after: int = 1) -> None:
        """Answer ``fraction`` of requests (Leases exempt) with 429 Too Many Requests."""
        with self._lock:
            self._throttle_fraction = fraction
            self._retry_after = retry_after

    # --- records -------------------------------------------------------------------------------

    def requests_between(self, start: float, end: float | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.at >= start and (end is None or r.at < end)]

    def created_runs_by_wfe(self) -> dict[str, list[Creation]]:
        with self._lock:
            found: dict[str, list[Creation]] = {}
            for creation in self.creations:
                found.setdefault(creation.wfe_uid, []).append(creation)
            return found

    # --- internals -----------------------------------------------------------------------------

    def _drop_all(self, *, only_frozen: bool = False) -> None:
        with self._lock:
            victims = [c for c in self._connections if c.frozen or not only_frozen]
            parked, self._parked = self._parked, []
        for conn in victims:
            conn.close()
        for sock in parked:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        with self._lock:
            if self._partitioned:
                self._parked.append(raw)  # open, and never a byte back
                return
        try:
            upstream_raw = socket.create_connection(("127.0.0.1", self._upstream_port), timeout=5)
            upstream_raw.settimeout(None)
        except OSError:
            raw.close()  # API server down: the client sees its connection dropped
            return
        try:
            client = self._server_tls.wrap_socket(raw, server_side=True)
            upstream = self._upstream_tls.wrap_socket(upstream_raw, server_hostname="127.0.0.1")
        except (OSError, ssl.SSLError):
            raw.close()
            upstream_raw.close()
            return
        conn = _Connection(client, upstream)
        with self._lock:
            self._connections.add(conn)
        try:
            self._relay(conn)
        except (_ClosedError, OSError, ValueError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _relay(self, conn: _Connection) -> None:
        from_client = conn.client.makefile("rb")
        from_upstream = conn.upstream.makefile("rb")
        while True:
            request = _read_request(from_client)
            if request is None:
                return
            arrived = time.monotonic()
            if self._leases_blackholed and "/leases" in request.path:
                conn.frozen = True
            self._hold_if_frozen(conn)
            if self._should_throttle(request):
                self._answer_429(conn)
                self._record(RequestRecord(arrived, request.method, request.path, 429, True))
                continue
            conn.upstream.sendall(request.head + request.body)
            status, head, headers = _read_response_head(from_upstream)
            self._hold_if_frozen(conn)
            conn.client.sendall(head)
            self._record(RequestRecord(arrived, request.method, request.path, status, False))
            if status == 201 and request.method == "POST" and "/pipelineruns" in request.path:
                self._record_creation(arrived, request.body)
            watch = "watch=true" in request.path or "watch=1" in request.path
            conn.in_watch = watch
            self._relay_body(conn, from_upstream, headers, watch=watch and status == 200)
            conn.in_watch = False
            if headers.get("connection", "").lower() == "close":
                return

    def _relay_body(
        self, conn: _Connection, upstream: BufferedReader, headers: dict[str, str], *, watch: bool
    ) -> None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = _read_line(upstream)
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    trailer = size_line
                    while True:
                        line = _read_line(upstream)
                        trailer += line
                        if line in (b"\r\n", b"\n"):
                            break
                    conn.client.sendall(trailer)
                    return
                data = _read_exact(upstream, size + 2)  # the chunk and its CRLF
                if watch and not self._before_watch_chunk(conn, size_line, data):
                    continue
                with conn.send_lock:
                    conn.client.sendall(size_line + data)
        elif "content-length" in headers:
            conn.client.sendall(_read_exact(upstream, int(headers["content-length"])))

    def _before_watch_chunk(self, conn: _Connection, size_line: bytes, data: bytes) -> bool:
        """False: the chunk is held back (a cut in progress)."""
        if b'"code":410' in data:
            with self._lock:
                self.gone_events += 1
        self._hold_if_frozen(conn)
        if not conn.cut_armed:
            return True
        if not conn.cut_held:
            conn.cut_held = size_line + data
            return False
        with conn.send_lock:
            conn.client.sendall(conn.cut_held + size_line + data[: max(1, len(data) // 2)])
        with self._lock:
            self.watches_cut += 1
        raise _ClosedError("watch cut mid-event")

    def _hold_if_frozen(self, conn: _Connection) -> None:
        if conn.frozen:
            conn.dropped.wait()  # until heal() or stop() drops it; the client may give up first
            raise _ClosedError("black-holed")

    def _should_throttle(self, request: _Request) -> bool:
        with self._lock:
            fraction = self._throttle_fraction
            return (
                fraction > 0 and "/leases" not in request.path and self._random.random() < fraction
            )

    def _answer_429(self, conn: _Connection) -> None:
        body = json.dumps(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": "Too many requests, please try again later.",
                "reason": "TooManyRequests",
                "details": {"retryAfterSeconds": self._retry_after},
                "code": 429,
            }
        ).encode()
        head = (
            "HTTP/1.1 429 Too Many Requests\r\n"
            "Content-Type: application/json\r\n"
            f"Retry-After: {self._retry_after}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn.client.sendall(head + body)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _record_creation(self, at: float, body: bytes) -> None:
        try:
            metadata = json.loads(body).get("metadata", {})
        except ValueError:
            return
        uid = str((metadata.get("annotations") or {}).get(WFE_UID_ANNOTATION, ""))
        with self._lock:
            self.creations.append(Creation(at, str(metadata.get("name", "")), uid))


def _read_line(reader: BufferedReader) -> bytes:
    line = reader.readline(65537)
    if not line:
        raise _ClosedError("end of stream")
    return line


def _read_exact(reader: BufferedReader, size: int) -> bytes:
    data = reader.read(size)
    if data is None or len(data) < size:
        raise _ClosedError("end of stream mid-body")
    return data


def _read_headers(reader: BufferedReader) -> tuple[bytes, dict[str, str]]:
    head = b""
    headers: dict[str, str] = {}
    while True:
        line = _read_line(reader)
        head += line
        if line in (b"\r\n", b"\n"):
            return head, headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


def _read_request(reader: BufferedReader) -> _Request | None:
    first = reader.readline(65537)
    if not first:
        return None
    method, path, _ = first.decode("latin-1").split(" ", 2)
    rest, headers = _read_headers(reader)
    length = int(headers.get("content-length") or 0)
    body = _read_exact(reader, length) if length else b""
    return _Request(method, path, first + rest, body)


def _read_response_head(reader: BufferedReader) -> tuple[int, bytes, dict[str, str]]:
    first = _read_line(reader)
    status = int(first.split(b" ", 2)[1])
    rest, headers = _read_headers(reader)
    return status, first + rest, headers


Predicate = Callable[[RequestRecord], bool]


def count(records: list[RequestRecord], predicate: Predicate) -> int:
    return sum(1 for r in records if predicate(r))


def summary(records: list[RequestRecord]) -> dict[str, Any]:
    """Figures of a slice of the request log, for the test's printout."""
    return {
        "requests": len(records),
        "lists": count(records, lambda r: r.is_list),
        "watches": count(records, lambda r: r.is_watch),
        "writes": count(records, lambda r: r.is_write and not r.is_lease),
        "429": count(records, lambda r: r.status == 429),
    }
