"""A small HTTP server on its own daemon thread, for the metrics and health probe endpoints.

Bind addresses follow controller-runtime's flags: ``":9090"`` (all interfaces), ``"127.0.0.1:0"``
(loopback, any free port), ``"[::1]:8081"``; ``""`` or ``"0"`` disables the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never blocks shutdown
    allow_reuse_address = True


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


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


NOT_FOUND = Response(404, b"404 page not found\n")

App = Callable[[Request], Response]


class BackgroundHTTPServer:
    """Serves GET/HEAD through ``app`` on a daemon thread: ``start()`` binds (raising) and returns."""

    def __init__(self, name: str, bind_address: str, app: App):
        self.name = name
        self._address = parse_bind_address(bind_address)
        self._handler_class = _handler_for(app)
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
        self._server = _server_for(host, port, self._handler_class)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        log.info("serving", server=self.name, host=host or "*", port=self.port)

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
                response = app(Request(url.path, url.query, self.headers))
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
