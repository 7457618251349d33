"""Serves the process registry at ``/metrics`` (Prometheus text or OpenMetrics, gzip on request)."""

from __future__ import annotations

import gzip

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from wfe.runtime.httpserver import NOT_FOUND, App, BackgroundHTTPServer, Request, Response
from wfe.runtime.metrics.registry import REGISTRY

METRICS_PATH = "/metrics"


class MetricsServer:
    """``start()`` binds and serves on a daemon thread; ``port`` is the bound port."""

    def __init__(self, bind_address: str, registry: CollectorRegistry = REGISTRY):
        self._http = BackgroundHTTPServer("metrics", bind_address, _app_for(registry))

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
