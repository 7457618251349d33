"""The urllib3 transport, kept for what the lean one (``transport``) does not do.

A proxy (HTTP, HTTPS or SOCKS: urllib3's proxy managers), a server URL with a path, or a
configuration with ``assert_hostname`` or ``socket_options``. The REST client imports this module
only then: a controller talking to the API server directly never loads urllib3 (~30 modules).

It speaks the lean transport's shapes, so the client above it is the same for both: a
request/answer call is read whole into an ``Answer``, a stream is read chunk by chunk as a
``StreamBody``, and urllib3's exceptions are translated: ``ProtocolError`` (a connection that
ended or broke before a whole answer) to ``ConnectionBrokenError`` (a reset: reads are retried),
a read timeout to ``TimeoutError``, any other to ``TransportError``.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from wfe.runtime.client.errors import ConnectionBrokenError, TransportError
from wfe.runtime.client.transport import Answer, Headers, StreamBody


class Urllib3Transport:
    """Requests to ``host`` (a URL, possibly with a path) through urllib3's pools; thread-safe."""

    def __init__(self, configuration: Any, host: str, proxied: bool):
        self._pool = pool_manager(configuration, proxied)
        self._direct: urllib3.HTTPConnectionPool | None
        if isinstance(self._pool, urllib3.ProxyManager):
            self._direct = None  # a proxy manager keeps its own routing: absolute URLs
            self._prefix = host.rstrip("/")
        else:
            # the API server's own pool: skips the manager's per-request URL parsing and lookup;
            # a server URL with a path (a proxy in front of the API server) puts it before ours
            self._direct = self._pool.connection_from_url(host)
            self._prefix = urlsplit(host).path.rstrip("/")

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
    ) -> Answer:
        """Sends the request and reads the whole answer (urllib3 decodes gzip)."""
        with _translated():
            response = self._urlopen(
                method, target, body, headers, urllib3.Timeout(total=timeout), preload=True
            )
            return Answer(response.status, _headers(response.headers), response.data)

    def open_stream(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> Urllib3Stream:
        """Sends the request; the body is read as it arrives, ``read_timeout`` the inactivity
        deadline."""
        with _translated():
            response = self._urlopen(
                method,
                target,
                None,
                headers,
                urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                preload=False,
            )
        return Urllib3Stream(response)

    def close(self) -> None:
        self._pool.clear()

    def _urlopen(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
        *,
        preload: bool,
    ) -> urllib3.BaseHTTPResponse:
        if self._direct is not None:
            return self._direct.urlopen(
                method,
                self._prefix + target,
                body=body,
                headers=dict(headers),
                timeout=timeout,
                preload_content=preload,
                retries=False,
                redirect=False,
                assert_same_host=False,
            )
        return self._pool.request(
            method,
            self._prefix + target,
            body=body,
            headers=dict(headers),
            timeout=timeout,
            preload_content=preload,
            retries=False,
        )


class Urllib3Stream(StreamBody):
    """A streaming urllib3 response: its chunks as they arrive, decoded (gzip)."""

    def __init__(self, response: urllib3.BaseHTTPResponse):
        super().__init__()
        self._response = response
        self.status = response.status
        self.headers = _headers(response.headers)

    @property
    def data(self) -> bytes:
        """The whole body (an error answer's Status); the connection is closed."""
        try:
            with _translated():
                return self._response.data
        finally:
            self.close()

    def _read(self) -> Iterator[bytes]:
        with _translated():
            yield from self._response.stream(amt=None, decode_content=True)

    def _interrupt(self) -> None:
        # urllib3 refuses to shut down a response it already closed itself (the server ended the
        # connection mid-stream: "Response ended prematurely"): ValueError or RuntimeError. The
        # connection is gone either way, which is all this wanted.
        with contextlib.suppress(AttributeError, OSError, RuntimeError, ValueError):
            self._response.shutdown()  # unblocks a read in progress on another thread

    def _release(self) -> None:
        # close the socket before handing the connection back: a watch cut short must not linger
        # in the pool half-read (the API server would wait on it until its own timeout)
        with contextlib.suppress(OSError, HTTPError, ValueError, RuntimeError):
            self._response.close()
            self._response.release_conn()


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ReadTimeoutError as err:
        raise TimeoutError(f"read timed out: {err}") from err
    except ProtocolError as err:
        raise ConnectionBrokenError(str(err)) from err
    except HTTPError as err:
        raise TransportError(str(err)) from err


def _headers(headers: Mapping[str, str]) -> Headers:
    lowered = Headers()
    for name in headers:
        lowered[name.lower()] = headers[name]  # repeated headers joined by ", "
    return lowered


def pool_manager(configuration: Any, proxied: bool) -> urllib3.PoolManager:
    """The connection pools for ``configuration``: its CA, client certificate, TLS server name and
    proxy (when ``proxied``; as the official client's RESTClientObject builds them)."""
    pool_args: dict[str, Any] = {
        "cert_reqs": ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE,
        "ca_certs": configuration.ssl_ca_cert,
        "ca_cert_data": getattr(configuration, "ca_cert_data", None),
        "cert_file": configuration.cert_file,
        "key_file": configuration.key_file,
    }
    if getattr(configuration, "assert_hostname", None) is not None:
        pool_args["assert_hostname"] = configuration.assert_hostname
    if getattr(configuration, "tls_server_name", None):
        pool_args["server_hostname"] = configuration.tls_server_name
    if getattr(configuration, "socket_options", None) is not None:
        pool_args["socket_options"] = configuration.socket_options
    if configuration.connection_pool_maxsize is not None:
        pool_args["maxsize"] = configuration.connection_pool_maxsize
    if proxied:
        proxy = str(configuration.proxy)
        if proxy.startswith("socks"):
            from urllib3.contrib.socks import SOCKSProxyManager

            return SOCKSProxyManager(
                proxy, headers=getattr(configuration, "proxy_headers", None), **pool_args
            )
        return urllib3.ProxyManager(
            proxy, proxy_headers=getattr(configuration, "proxy_headers", None), **pool_args
        )
    return urllib3.PoolManager(**pool_args)
