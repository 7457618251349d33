"""A real Kubernaut Data Storage peer for tests: an HTTP server on 127.0.0.1 that keeps every audit
event POSTed to its batch endpoint, and can be made to fail (an HTTP status) or go away and come back."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BATCH_PATH = "/api/v1/audit/events/batch"

Event = dict[str, Any]


class DataStorage:
    """``url`` is fixed for the peer's life: :meth:`stop` closes the port (connections are
    refused) and :meth:`start` listens on the same port again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Event] = []
        self._failure_status: int | None = None
        self._delay = 0.0
        self._refused_batches = 0
        self._port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._port, "start the peer first"
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        assert self._server is None, "already listening"
        server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler_class())
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; what was received is kept. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5.0)

    def fail_with(self, status: int | None) -> None:
        """Answer ``status`` to every batch (nothing stored) until called with None."""
        with self._lock:
            self._failure_status = status

    def respond_after(self, seconds: float) -> None:
        """Answer every batch only after ``seconds`` (a slow Data Storage); 0 restores speed. The
        batch is stored once the delay is over, even if the client gave up waiting."""
        with self._lock:
            self._delay = seconds

    @property
    def received(self) -> list[Event]:
        """Every event of every accepted batch, in arrival order, resends included."""
        with self._lock:
            return list(self._received)

    def deliveries_by_id(self) -> Counter[str]:
        """How many times each event_id arrived."""
        return Counter(str(event["event_id"]) for event in self.received)

    @property
    def refused_batches(self) -> int:
        """Batches answered with the failure status."""
        with self._lock:
            return self._refused_batches

    def _accept(self, events: list[Event]) -> int | None:
        """Stores ``events`` and returns None, or returns the failure status to answer."""
        with self._lock:
            if self._failure_status is not None:
                self._refused_batches += 1
                return self._failure_status
            self._received.extend(events)
            return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != BATCH_PATH:
                    self._answer(404, {"detail": f"no route {self.path}"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = None
                if self.headers.get_content_type() != "application/json" or not (
                    isinstance(body, list) and all(isinstance(e, dict) for e in body)
                ):
                    self._answer(400, {"detail": "expected a JSON array of audit events"})
                    return
                with peer._lock:
                    delay = peer._delay
                if delay:
                    time.sleep(delay)
                failure = peer._accept(body)
                if failure is not None:
                    self._answer(failure, {"detail": "Data Storage is unavailable"})
                else:
                    self._answer(201, {"accepted": len(body)})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                # a client that gave up waiting (slow mode) has closed its end: nothing to answer
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
