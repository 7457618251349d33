"""The one shared API client: raw JSON dicts over HTTP/1.1, with the cluster's TLS and credentials.

Requests and answers are plain ``dict`` (decoded by ``codec``: orjson), never the official client's
generated models. Credentials come from ``config`` (or a ``kubernetes.client.Configuration``): the
Authorization header is read from it at most once a second, not on every request (the official
refresh hook rewrote ``Configuration.host`` and rescanned the environment for proxies each time,
about 4 % of the controller's CPU), and again at once after a 401 (a rotated token), with one
retry. Requests go straight to the API server's connection pool. Every call has a socket timeout
and goes through client-go's flow control (``flowcontrol``): a token bucket, Retry-After and
connection-reset retries, and the ``rest_client_*`` metrics. Lists ask for gzip.

Requests and watches go over the lean transport (``transport``); urllib3 (``urllib3_transport``) is
imported only where it is still needed: a proxy, a server URL with a path, ``assert_hostname`` or
``socket_options``.
"""

from __future__ import annotations

import copy
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

import structlog

from wfe.runtime.client import codec
from wfe.runtime.client.config import Configuration, load_configuration
from wfe.runtime.client.errors import (
    ApiConnectionError,
    ApiError,
    ClientFencedError,
    is_not_found,
)
from wfe.runtime.client.flowcontrol import (
    CONNECTION_RESET_RETRY_SECONDS,
    MAX_RETRIES,
    RateLimiter,
    is_connection_reset,
    new_rate_limiter,
    retry_after_seconds,
)
from wfe.runtime.client.resource import Resource
from wfe.runtime.client.transport import (
    MIN_IDLE_CONNECTIONS,
    Response,
    StreamResponse,
    Transport,
)
from wfe.runtime.client.watch import WatchStream
from wfe.runtime.metrics.rest_client_metrics import (
    ERROR_CODE,
    observe_rate_limiter,
    observe_request,
)

if TYPE_CHECKING:
    from wfe.runtime.client.urllib3_transport import Urllib3Transport

log = structlog.get_logger(__name__)

Object = dict[str, Any]
R = TypeVar("R", bound=Response)
# one attempt of a request: (method, target, headers, body) -> the answer
Exchange = Callable[[str, str, dict[str, str], bytes | None], R]

_PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}

DEFAULT_TIMEOUT_SECONDS = 30.0
_READ_METHODS = frozenset(("GET", "HEAD"))
USER_AGENT = "workflowexecution-controller/python"
# Client-side token bucket defaults (--kube-api-qps/--kube-api-burst). controller-runtime's 20/30
# would throttle this controller far below what it measured it needs: a burst of 300 workflows
# ran at 38 workflows/s x 8 controller requests = about 300 requests/s (docs/benchmarks.md). These
# leave that headroom and still stop a hot loop short of the ~1,000 writes/s one API server took.
DEFAULT_QPS = 500.0
DEFAULT_BURST = 1000
# How long the Authorization header is reused before the configuration is asked again (its
# refresh hook re-reads a rotating token file or runs an exec plugin when due). A 401 asks at once.
AUTH_REFRESH_SECONDS = 1.0


class Client:
    """Thread-safe REST client (the connection pool is shared by all threads)."""

    def __init__(
        self,
        configuration: Configuration,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        user_agent: str = USER_AGENT,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
    ):
        if (
            configuration.connection_pool_maxsize is None
            or configuration.connection_pool_maxsize < MIN_IDLE_CONNECTIONS
        ):
            configuration.connection_pool_maxsize = MIN_IDLE_CONNECTIONS
        self.configuration = configuration
        self.timeout = timeout
        self._host: str = str(configuration.host).rstrip("/")
        proxied = _proxied(configuration)
        lean = None if proxied else lean_transport(configuration)
        self._transport: Transport | Urllib3Transport
        if lean is not None:
            self._transport = lean
        else:
            # urllib3 (and its ~30 modules) only for what the lean transport does not do
            from wfe.runtime.client.urllib3_transport import Urllib3Transport

            self._transport = Urllib3Transport(configuration, self._host, proxied)
        self._credentials = _Credentials(configuration)
        self._user_agent = user_agent
        self._metrics_host = urlsplit(self._host).netloc or self._host
        self._rate_limiter: RateLimiter = new_rate_limiter(qps, burst)
        self.max_retries = MAX_RETRIES
        self.connection_reset_retry_seconds = CONNECTION_RESET_RETRY_SECONDS
        self._sleep: Callable[[float], None] = time.sleep
        # shared with every twin (with_own_rate_limiter): fencing one fences them all
        self._fence: list[str] = []

    def fence(self, reason: str) -> None:
        """From now on every request that could change something fails at once (reads still go).

        A replica that lost its leader lease calls this: its reconcile threads cannot be killed,
        but none of their writes may reach the API server once another replica may lead.
        """
        if not self._fence:
            self._fence.append(reason)

    @property
    def fenced(self) -> bool:
        return bool(self._fence)

    def with_own_rate_limiter(self) -> Client:
        """A client sharing this one's connections and credentials with a bucket of its own.

        For leader election: lease renewals must never queue behind the workers' requests.
        """
        twin = copy.copy(self)
        twin._rate_limiter = new_rate_limiter(
            getattr(self._rate_limiter, "qps", 0.0), getattr(self._rate_limiter, "burst", 1)
        )
        return twin

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, context: str | None = None) -> Client:
        return cls(load_configuration(kubeconfig, context))

    @property
    def host(self) -> str:
        return self._host

    # --- generic request -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
        compressed: bool = False,
    ) -> Object:
        """A request answered with JSON; ``timeout``, when given, also bounds the retries."""
        transport = self._transport
        seconds = timeout or self.timeout
        response = self._send(
            method,
            path,
            lambda m, target, headers, encoded: transport.request(
                m, target, headers, encoded, seconds
            ),
            query=query,
            body=body,
            content_type=content_type,
            deadline=None if timeout is None else time.monotonic() + timeout,
            compressed=compressed,
        )
        data = response.data  # read whole by the transport
        if not data:
            return {}
        parsed = codec.loads(data)
        return parsed if isinstance(parsed, dict) else {"items": parsed}

    def _send(
        self,
        method: str,
        path: str,
        exchange: Exchange[R],
        *,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str,
        deadline: float | None = None,
        compressed: bool = False,
    ) -> R:
        """One request with client-go's flow control: the token bucket before every attempt,
        retries after the server's Retry-After and of reads on a connection reset. ``deadline``
        (monotonic) bounds the retries; a wait that would pass it is not made. ``exchange``
        makes one attempt on the transport (a whole answer, or a stream's head)."""
        if self._fence and method not in _READ_METHODS:
            raise ClientFencedError(f"{method} {path} refused: {self._fence[0]}")
        url = path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urlencode(params)
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if compressed:
            headers["Accept-Encoding"] = "gzip"
        encoded = None
        if body is not None:
            headers["Content-Type"] = content_type
            encoded = codec.dumps(body)
        reauthenticated = False
        for attempt in range(self.max_retries + 1):
            self._throttle(method)
            auth = self._credentials.headers()  # per attempt: tokens rotate
            started = time.monotonic()
            try:
                response = exchange(method, url, {**headers, **auth}, encoded)
            except OSError as err:  # errors.TransportError and the socket's own
                observe_request(method, self._metrics_host, ERROR_CODE, time.monotonic() - started)
                wait = self.connection_reset_retry_seconds
                if (
                    method == "GET"
                    and is_connection_reset(err)
                    and self._may_retry(attempt, wait, deadline)
                ):
                    log.debug("connection reset; retrying the read", path=path, error=str(err))
                    self._sleep(wait)
                    continue
                raise ApiConnectionError(f"{method} {path}: {err}") from err
            observe_request(
                method, self._metrics_host, str(response.status), time.monotonic() - started
            )
            if 200 <= response.status < 300:
                return response
            if response.status == 401 and not reauthenticated:
                # a token that expired or rotated: ask the configuration again, retry once
                reauthenticated = True
                if self._credentials.headers(refresh=True) != auth:
                    _discard(response)
                    log.debug("unauthorized; retrying with refreshed credentials", path=path)
                    continue
            try:
                data = response.data
            except OSError:
                data = b""
            finally:
                response.release_conn()
            wait_after = retry_after_seconds(response.status, response.headers)
            if wait_after is not None and self._may_retry(attempt, wait_after, deadline):
                log.debug(
                    "server asked to retry later",
                    method=method,
                    path=path,
                    status=response.status,
                    retry_after=wait_after,
                    attempt=attempt + 1,
                )
                self._sleep(wait_after)
                continue
            raise ApiError.from_response(response.status, data)
        raise AssertionError("unreachable")

    def _throttle(self, method: str) -> None:
        waited = self._rate_limiter.wait()
        observe_rate_limiter(method, self._metrics_host, waited)
        if waited > 1.0:
            log.info("waited for client-side throttling", seconds=round(waited, 3))

    def _may_retry(self, attempt: int, wait: float, deadline: float | None) -> bool:
        if attempt >= self.max_retries:
            return False
        return deadline is None or time.monotonic() + wait < deadline

    # --- typed verbs -----------------------------------------------------------------------------

    def get(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Object:
        return self.request("GET", resource.path(namespace, name, subresource))

    def get_or_none(
        self, resource: Resource, name: str, namespace: str | None = None
    ) -> Object | None:
        try:
            return self.get(resource, name, namespace)
        except ApiError as err:
            if is_not_found(err):
                return None
            raise

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        timeout: float | None = None,
    ) -> Object:
        query = {
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "limit": limit,
            "continue": continue_token,
            "resourceVersion": resource_version,
        }
        return self.request(
            "GET", resource.path(namespace), query=query, timeout=timeout, compressed=True
        )

    def create(self, resource: Resource, obj: Object, namespace: str | None = None) -> Object:
        ns = namespace or obj.get("metadata", {}).get("namespace")
        return self.request("POST", resource.path(ns), body=obj)

    def update(self, resource: Resource, obj: Object, subresource: str | None = None) -> Object:
        """PUT with the object's resourceVersion: a stale one answers 409 Conflict."""
        meta = obj.get("metadata", {})
        path = resource.path(meta.get("namespace"), meta["name"], subresource)
        return self.request("PUT", path, body=obj)

    def update_status(self, resource: Resource, obj: Object) -> Object:
        return self.update(resource, obj, subresource="status")

    def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Object:
        return self.request(
            "PATCH",
            resource.path(namespace, name, subresource),
            body=patch,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
        )

    def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        propagation_policy: str | None = "Background",
    ) -> Object:
        """DELETE, optionally only if the object still has ``uid`` (a precondition: 409 otherwise)."""
        options: Object = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if uid:
            options["preconditions"] = {"uid": uid}
        return self.request("DELETE", resource.path(namespace, name), body=options)

    def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        inactivity_timeout: float = 70.0,
        send_initial_events: bool = False,
        resource_version_match: str | None = None,
    ) -> WatchStream:
        """Opens a watch; the socket read timeout is the inactivity deadline.

        ``send_initial_events`` makes it a streaming list (a "watch-list"): the server first sends
        every object as an ADDED event, then a bookmark annotated ``k8s.io/initial-events-end``.
        """
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "resourceVersionMatch": resource_version_match,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "sendInitialEvents": "true" if send_initial_events else None,
        }
        transport = self._transport
        connect_timeout = self.timeout

        def open_stream(
            m: str, target: str, headers: dict[str, str], _body: bytes | None
        ) -> StreamResponse:
            return transport.open_stream(
                m, target, headers, connect_timeout=connect_timeout, read_timeout=inactivity_timeout
            )

        response = self._send(
            "GET",
            resource.path(namespace),
            open_stream,
            query=query,
            body=None,
            content_type="application/json",
        )
        return WatchStream(response)

    def is_served(self, resource: Resource) -> bool:
        """Discovery: does the API server serve ``resource`` at its group/version?"""
        try:
            discovery = self.request("GET", resource.group_version_path)
        except ApiError as err:
            if is_not_found(err):
                return False
            raise
        return any(r.get("name") == resource.plural for r in discovery.get("resources", []))


class _Credentials:
    """The Authorization header of a configuration, asked for at most once a second.

    Asking runs the configuration's refresh hook (a rotating token file re-read, an exec plugin
    run again when its token expired), which is too slow to run on every request.
    """

    def __init__(self, configuration: Configuration):
        self._configuration = configuration
        self._lock = threading.Lock()
        self._headers: dict[str, str] = {}
        self._expires = 0.0

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        now = time.monotonic()
        if not refresh and now < self._expires:
            return self._headers
        with self._lock:
            if refresh or now >= self._expires:
                headers: dict[str, str] = {}
                settings: dict[str, Any] = dict(self._configuration.auth_settings())
                for setting in settings.values():
                    if setting.get("in") == "header" and setting.get("value"):
                        headers[str(setting["key"])] = str(setting["value"])
                self._headers = headers
                self._expires = time.monotonic() + AUTH_REFRESH_SECONDS
            return self._headers


def _proxied(configuration: Configuration) -> bool:
    """Whether requests to the API server go through the configuration's proxy."""
    proxy = getattr(configuration, "proxy", None)
    return bool(proxy) and not bypasses_proxy(
        configuration.host, getattr(configuration, "no_proxy", None)
    )


def lean_transport(configuration: Configuration) -> Transport | None:
    """The lean transport to the API server, or None where urllib3 must stay (a host with a path,
    options only urllib3 implements)."""
    url = urlsplit(str(configuration.host))
    if url.scheme not in ("http", "https") or not url.hostname or url.path.strip("/"):
        return None
    if getattr(configuration, "assert_hostname", None) is not None:
        return None
    if getattr(configuration, "socket_options", None) is not None:
        return None
    context = None
    if url.scheme == "https":
        context = ssl.create_default_context(
            cafile=configuration.ssl_ca_cert, cadata=getattr(configuration, "ca_cert_data", None)
        )
        if not configuration.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return Transport(
        (url.hostname, url.port or (443 if context else 80)),
        url.netloc.rpartition("@")[2],
        ssl_context=context,
        server_hostname=getattr(configuration, "tls_server_name", None) or url.hostname,
        maxsize=max(MIN_IDLE_CONNECTIONS, configuration.connection_pool_maxsize or 0),
    )


def bypasses_proxy(host: str, no_proxy: str | None) -> bool:
    """Whether NO_PROXY (comma-separated hosts, domain suffixes, IPs, CIDRs or ``*``) covers ``host``."""
    hostname = urlsplit(host if "//" in host else f"//{host}").hostname or ""
    for entry in (e.strip().lower() for e in (no_proxy or "").split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if ipaddress.ip_address(hostname) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        domain = entry.lstrip(".").partition(":")[0] if not entry.startswith("[") else entry
        if hostname == domain or hostname.endswith("." + domain):
            return True
    return False


def _discard(response: Response) -> None:
    try:
        response.drain_conn()
    except OSError:
        pass
    finally:
        response.release_conn()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
