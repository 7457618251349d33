"""A small HTTP(S) server on its own daemon thread, for the metrics and health probe endpoints.

Bind addresses follow controller-runtime's flags: ``":9090"`` (all interfaces), ``"127.0.0.1:0"``
(loopback, any free port), ``"[::1]:8081"``; ``""`` or ``"0"`` disables the server.

Each connection is served by a thread of its own, so connections are bounded (``ServerLimits``):
at most ``max_connections`` at once (more are closed at once, without a thread), and each one is
closed when the client is silent for ``connection_timeout`` seconds, during the TLS handshake, the
request or an idle keep-alive. The TLS handshake runs on the connection's thread, never on the
accept loop, so a slow client cannot stall the server.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import structlog

log = structlog.get_logger(__name__)


def parse_bind_address(address: str) -> tuple[str, int] | None:
    """``"host:port"`` → ``(host, port)``; ``None`` when the address disables the server."""
    if address in ("", "0"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid bind address {address!r}: want [host]:port")
    return host.removeprefix("[").removesuffix("]"), int(port)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Bounds on what clients can hold: concurrent connections (threads) and silence per connection."""

    max_connections: int = 32
    connection_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.connection_timeout <= 0:
            raise ValueError(f"invalid server limits {self}")


DEFAULT_LIMITS = ServerLimits()

# The TLS context to use for the next connection (a provider, so a rotated certificate is picked up).
TLSContextProvider = Callable[[], ssl.SSLContext]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never blocks shutdown
    allow_reuse_address = True
    request_queue_size = 128  # listen backlog: a burst of connects is accepted, not retried
    limits: ServerLimits = DEFAULT_LIMITS
    tls: TLSContextProvider | None = None
    server_name = "http"
    _slots: threading.BoundedSemaphore

    def configure(self, name: str, limits: ServerLimits, tls: TLSContextProvider | None) -> None:
        self.server_name, self.limits, self.tls = name, limits, tls
        self._slots = threading.BoundedSemaphore(limits.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.debug(
                "too many connections: closing a new one",
                server=self.server_name,
                max_connections=self.limits.max_connections,
            )
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(self.limits.connection_timeout)
            if self.tls is not None:
                try:
                    request = self.tls().wrap_socket(request, server_side=True)
                except (OSError, ValueError) as err:
                    log.debug("TLS handshake failed", server=self.server_name, error=str(err))
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that vanished or timed out mid-request: not worth a traceback on stderr
        log.debug("connection error", server=self.server_name, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _DualStackServer(_Server6):
    """Listens on every IPv6 and IPv4 address, as Go's ``:port`` does."""

    def server_bind(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def _server_for(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> _Server:
    if not host and socket.has_dualstack_ipv6():
        return _DualStackServer(("::", port), handler)
    return (_Server6 if ":" in host else _Server)((host, port), handler)


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    query: str
    headers: Message
    method: str = "GET"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


NOT_FOUND = Response(404, b"404 page not found\n")

App = Callable[[Request], Response]


class BackgroundHTTPServer:
    """Serves GET/HEAD through ``app`` on a daemon thread: ``start()`` binds (raising) and returns.

    With ``tls`` it serves HTTPS only, with the context the provider returns for each connection.
    """

    def __init__(
        self,
        name: str,
        bind_address: str,
        app: App,
        *,
        limits: ServerLimits = DEFAULT_LIMITS,
        tls: TLSContextProvider | None = None,
    ):
        self.name = name
        self._address = parse_bind_address(bind_address)
        self._handler_class = _handler_for(app)
        self._limits = limits
        self._tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0); only valid once started."""
        if self._server is None:
            raise RuntimeError(f"{self.name} server is not running")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._address is None or self._server is not None:
            return
        host, port = self._address
        if self._tls is not None:
            self._tls()  # a bad certificate fails the start, not the first scrape
        self._server = _server_for(host, port, self._handler_class)
        self._server.configure(self.name, self._limits, self._tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "serving",
            server=self.name,
            host=host or "*",
            port=self.port,
            scheme="https" if self._tls else "http",
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting requests and close the socket (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()  # returns once serve_forever has left its loop
        server.server_close()
        thread.join(timeout)
        self._server = self._thread = None


def _handler_for(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                response = app(Request(url.path, url.query, self.headers, self.command))
            except Exception:
                log.exception("http handler failed", path=url.path)
                response = Response(500, b"internal server error\n")
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http request", client=self.client_address[0], request=format % args)

    return Handler
