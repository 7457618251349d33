"""Fixtures of the audit tests: a real HTTP server on 127.0.0.1 playing Kubernaut Data Storage's
batch endpoint, realistic WorkflowExecution objects, and recorders tuned to retry fast."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from wfe.audit import AuditEvent, AuditRecorder, AuditSink, EventType, Spool, build_event
from wfe.runtime.metrics.registry import REGISTRY

BATCH_PATH = "/api/v1/audit/events/batch"
NOW = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)


@dataclass
class ReceivedBatch:
    authorization: str | None
    content_type: str | None
    events: list[dict[str, Any]]


@dataclass
class DataStoragePeer:
    """Stores events by event_id (a resent event is kept once) and answers like Data Storage.

    Knobs: ``status`` answered to every batch; ``reject`` makes any batch holding a matching event
    answer 400; ``lose_responses`` stores the next N batches but closes the connection without an
    answer; ``hold``, while cleared, parks every request (a peer that hangs) and sets ``parked``.
    """

    status: int = 201
    reject: Callable[[dict[str, Any]], bool] | None = None
    lose_responses: int = 0
    hold: threading.Event = field(default_factory=threading.Event)
    parked: threading.Event = field(default_factory=threading.Event)
    batches: list[ReceivedBatch] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.hold.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                peer.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        if not self.hold.is_set():
            self.parked.set()
            self.hold.wait(timeout=30)
        if request.path != BATCH_PATH:
            request.send_error(404)
            return
        events = json.loads(body)
        with self.lock:
            self.batches.append(
                ReceivedBatch(
                    request.headers.get("Authorization"),
                    request.headers.get("Content-Type"),
                    events,
                )
            )
            if self.reject is not None and any(self.reject(event) for event in events):
                status = 400
            else:
                status = self.status
            if 200 <= status < 300:
                for event in events:
                    self.stored.setdefault(event["event_id"], event)
                if self.lose_responses:
                    self.lose_responses -= 1
                    request.close_connection = True
                    return
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.end_headers()
        request.wfile.write(b'{"detail": "answer from the test peer"}')

    def received_ids(self) -> list[str]:
        """Every event id that reached the peer, in arrival order, resends included."""
        with self.lock:
            return [event["event_id"] for batch in self.batches for event in batch.events]

    def stored_ids(self) -> set[str]:
        with self.lock:
            return set(self.stored)


@pytest.fixture
def datastorage() -> Iterator[DataStoragePeer]:
    peer = DataStoragePeer()
    peer.start()
    yield peer
    peer.hold.set()
    peer.stop()


def _realistic_wfe(
    *,
    name: str = "wfe-payment-restart",
    uid: str = "5f0c8a36-2f6e-4d8c-9a4b-1c7e3f2d9b10",
    phase: str = "Completed",
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A WorkflowExecution as the API server returns it."""
    return {
        "apiVersion": "workflowexecution.kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "name": name,
            "namespace": "kubernaut-system",
            "uid": uid,
            "generation": 1,
            "resourceVersion": "48213",
            "creationTimestamp": "2025-03-14T09:20:00Z",
        },
        "spec": {
            "remediationRequestRef": {
                "apiVersion": "kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": "rr-payment-oom-7f3a",
                "namespace": "kubernaut-system",
                "uid": "0b5e3c1d-8a2f-4e6b-9c7d-2f1a0e9b8c76",
            },
            "workflowRef": {
                "workflowId": "restart-deployment",
                "version": "v1.2.0",
                "containerImage": "quay.io/kubernaut/workflows/restart-deployment:v1.2.0",
                "containerDigest": "sha256:" + "ab" * 32,
            },
            "targetResource": "payment/deployment/payment-api",
            "parameters": {"NAMESPACE": "payment", "DEPLOYMENT": "payment-api", "NOTE": "café ☕"},
            "confidence": 0.92,
            "rationale": "OOMKilled three times in ten minutes; a rolling restart clears the leak.",
        },
        "status": {"phase": phase, **(status or {})},
    }


@pytest.fixture
def wfe_factory() -> Callable[..., dict[str, Any]]:
    """``wfe_factory(name=, uid=, phase=, status=)``: a realistic WorkflowExecution dict."""
    return _realistic_wfe


@pytest.fixture
def make_event() -> Callable[..., AuditEvent]:
    """``make_event(i)``: a distinct started event per ``i`` (its own WFE uid)."""

    def make(index: int, event_type: EventType = EventType.EXECUTION_STARTED) -> AuditEvent:
        wfe = _realistic_wfe(
            name=f"wfe-{index}", uid=f"00000000-0000-4000-8000-{index:012d}", phase="Running"
        )
        return build_event(event_type, wfe, now=NOW)

    return make


@pytest.fixture
def make_recorder() -> Iterator[Callable[..., AuditRecorder]]:
    """Recorders with fast timings (20 ms flush, 10..50 ms backoff); stopped at teardown."""
    created: list[AuditRecorder] = []

    def make(sink: AuditSink, spool: Spool, **options: Any) -> AuditRecorder:
        settings: dict[str, Any] = {
            "flush_interval": 0.02,
            "initial_backoff": 0.01,
            "max_backoff": 0.05,
        }
        settings.update(options)
        recorder = AuditRecorder(sink, spool, **settings)
        created.append(recorder)
        return recorder

    yield make
    for recorder in created:
        recorder.stop(timeout=1.0)


@pytest.fixture
def audit_counter() -> Callable[[str, str], float]:
    """Current value of ``workflowexecution_audit_events_total{type,result}``."""

    def value(event_type: str, result: str) -> float:
        sample = REGISTRY.get_sample_value(
            "workflowexecution_audit_events_total", {"type": event_type, "result": result}
        )
        return sample or 0.0

    return value


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit-spool"
