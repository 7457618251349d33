"""Serves the process registry at ``/metrics`` (Prometheus text or OpenMetrics, gzip on request).

Plain HTTP by default (controller-runtime's metrics server); with ``SecureServing`` it serves HTTPS
only (a mounted or self-signed certificate) and, unless turned off, only to callers the API server
authenticates and authorizes (``DelegatingAuthFilter``), as kubebuilder's scaffold does.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from wfe.runtime.httpserver import (
    DEFAULT_LIMITS,
    NOT_FOUND,
    App,
    BackgroundHTTPServer,
    Request,
    Response,
    ServerLimits,
)
from wfe.runtime.metrics.auth import Filter
from wfe.runtime.metrics.registry import REGISTRY
from wfe.runtime.metrics.tls import CertificateFiles, ServingCertificate

METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class SecureServing:
    """HTTPS for /metrics: ``certificate`` files, or a self-signed certificate when None; ``filter``
    decides who may scrape (None: anyone who reaches the port)."""

    certificate: CertificateFiles | None = None
    filter: Filter | None = None


class MetricsServer:
    """``start()`` binds and serves on a daemon thread; ``port`` is the bound port."""

    def __init__(
        self,
        bind_address: str,
        registry: CollectorRegistry = REGISTRY,
        *,
        secure: SecureServing | None = None,
        limits: ServerLimits = DEFAULT_LIMITS,
    ):
        app = _app_for(registry)
        tls = None
        if secure is not None:
            tls = ServingCertificate(secure.certificate)
            if secure.filter is not None:
                app = _filtered(secure.filter, app)
        self.secure = secure is not None
        self._http = BackgroundHTTPServer("metrics", bind_address, app, limits=limits, tls=tls)

    @property
    def enabled(self) -> bool:
        return self._http.enabled

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> None:
        self._http.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._http.stop(timeout)


def _filtered(gate: Filter, app: App) -> App:
    def serve(request: Request) -> Response:
        return gate(request) or app(request)

    return serve


def _app_for(registry: CollectorRegistry) -> App:
    def serve(request: Request) -> Response:
        if request.path != METRICS_PATH:
            return NOT_FOUND
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(registry)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return Response(200, gzip.compress(body), content_type, {"Content-Encoding": "gzip"})
        return Response(200, body, content_type)

    return serve
