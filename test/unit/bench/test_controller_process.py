"""ControllerProcess against a stand-in controller: a tiny HTTP server in its own process."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import pytest
from support.wait import wait_for

from bench.controller_process import ControllerProcess, ControllerProcessError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path == "/readyz" else b"fake_metric_total 3\\n"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ballast = bytearray(32 * 1024 * 1024)  # resident: the peak must show it
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_starts_waits_until_ready_reads_proc_and_stops(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    controller = ControllerProcess(
        [sys.executable, "-c", SERVER, str(port)],
        log_path=tmp_path / "c.log",
        ready_url=f"{base}/readyz",
        metrics_url=f"{base}/metrics",
        cpus={min(os.sched_getaffinity(0))},
        name="stand-in",
    )
    with controller:
        controller.check_alive()
        assert os.sched_getaffinity(controller.pid) == {min(os.sched_getaffinity(0))}
        assert controller.cpu_seconds() > 0.0
        assert controller.peak_rss_kib() >= controller.rss_kib() >= 32 * 1024
        assert controller.open_fds() >= 3
        assert controller.threads() >= 1
        assert "fake_metric_total 3" in controller.scrape()
    assert controller.stop() == -15  # SIGTERM ended it
    with pytest.raises(ControllerProcessError, match="exited"):
        controller.check_alive()


def test_a_process_that_exits_before_ready_is_an_error_with_its_log(tmp_path: Path) -> None:
    controller = ControllerProcess(
        [sys.executable, "-c", "import sys; print('bad flag'); sys.exit(2)"],
        log_path=tmp_path / "c.log",
        ready_url=f"http://127.0.0.1:{free_port()}/readyz",
    )
    # the log starts with the command line (which executable, which virtualenv), then its output
    command = re.escape(f"# {sys.executable} -c")
    with pytest.raises(ControllerProcessError, match=rf"exited with 2:\n{command} .*\nbad flag"):
        controller.start(ready_timeout=30)


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    controller = ControllerProcess(
        [
            sys.executable,
            "-c",
            # blocks until a signal it handles: with SIGTERM ignored, only SIGKILL ends it
            "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); signal.pause()",
        ],
        log_path=tmp_path / "c.log",
    )
    controller.start()
    wait_for(lambda: "up" in controller.log_tail().splitlines(), message="SIGTERM ignored")
    assert controller.stop(timeout=0.5) == -9
