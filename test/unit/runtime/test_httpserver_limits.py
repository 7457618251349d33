"""The metrics and probe servers bound what clients can hold: connections (each one a thread) and
silence per connection; the secure variant speaks only TLS, with a self-signed certificate by
default or a mounted one that is picked up again when it rotates."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from support.wait import wait_for

from wfe.runtime.healthz import HealthProbeServer
from wfe.runtime.httpserver import ServerLimits
from wfe.runtime.metrics.server import MetricsServer, SecureServing
from wfe.runtime.metrics.tls import CertificateFiles, self_signed_certificate

LIMITS = ServerLimits(max_connections=4, connection_timeout=0.5)


@pytest.fixture
def probes() -> Iterator[HealthProbeServer]:
    server = HealthProbeServer("127.0.0.1:0", limits=LIMITS)
    server.start()
    yield server
    server.stop()


def idle_connections(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def get(url: str, context: ssl.SSLContext | None = None) -> int:
    with urllib.request.urlopen(url, timeout=5, context=context) as answer:
        return int(answer.status)


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_many_idle_connections_do_not_make_a_thread_each(probes: HealthProbeServer) -> None:
    before = threading.active_count()
    sockets = idle_connections(probes.port, 50)
    try:
        time.sleep(0.2)  # let the accept loop see all of them (an upper bound is asserted)
        assert threading.active_count() <= before + LIMITS.max_connections
    finally:
        for sock in sockets:
            sock.close()


def test_an_idle_connection_is_closed_after_the_connection_timeout(
    probes: HealthProbeServer,
) -> None:
    (sock,) = idle_connections(probes.port, 1)
    with sock:
        began = time.monotonic()
        assert sock.recv(1) == b""  # the server hung up
        assert time.monotonic() - began < LIMITS.connection_timeout + 2


def answers(url: str) -> bool:
    try:
        return get(url) == 200
    except OSError:
        return False


def test_a_saturated_server_refuses_then_answers_again_once_idle_connections_time_out(
    probes: HealthProbeServer,
) -> None:
    url = f"http://127.0.0.1:{probes.port}/healthz"
    sockets = idle_connections(probes.port, LIMITS.max_connections)
    try:
        time.sleep(0.1)  # the accept loop has taken every slot
        assert not answers(url)
        wait_for(lambda: answers(url), timeout=10, message="the probe server to serve again")
    finally:
        for sock in sockets:
            sock.close()


def test_secure_metrics_speak_tls_with_a_self_signed_certificate() -> None:
    server = MetricsServer("127.0.0.1:0", CollectorRegistry(), secure=SecureServing())
    server.start()
    try:
        assert get(f"https://127.0.0.1:{server.port}/metrics", insecure()) == 200
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            get(f"https://127.0.0.1:{server.port}/metrics", ssl.create_default_context())
        with pytest.raises(OSError):
            get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()


def write_certificate(directory: Path, hostname: str) -> None:
    cert, key = self_signed_certificate(hostname)
    (directory / "tls.crt").write_bytes(cert)
    (directory / "tls.key").write_bytes(key)


def touch(directory: Path, stamp: float) -> None:
    for name in ("tls.crt", "tls.key"):
        os.utime(directory / name, (stamp, stamp))


def served_certificate(port: int) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        insecure().wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def test_a_mounted_certificate_is_served_and_picked_up_again_when_it_rotates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wfe.runtime.metrics import tls

    monkeypatch.setattr(tls, "_RECHECK_SECONDS", 0.0)
    write_certificate(tmp_path, "first.example")
    server = MetricsServer(
        "127.0.0.1:0",
        CollectorRegistry(),
        secure=SecureServing(certificate=CertificateFiles(str(tmp_path))),
    )
    server.start()
    try:
        first = served_certificate(server.port)
        assert first == ssl.PEM_cert_to_DER_cert((tmp_path / "tls.crt").read_text())
        # a half-written rotation: the previous certificate keeps being served
        (tmp_path / "tls.crt").write_text("-----BEGIN CERTIFICATE-----\ntruncated")
        touch(tmp_path, time.time() + 5)
        assert served_certificate(server.port) == first
        write_certificate(tmp_path, "second.example")
        touch(tmp_path, time.time() + 10)
        assert served_certificate(server.port) != first
    finally:
        server.stop()


def test_a_missing_mounted_certificate_fails_the_start(tmp_path: Path) -> None:
    server = MetricsServer(
        "127.0.0.1:0",
        CollectorRegistry(),
        secure=SecureServing(certificate=CertificateFiles(str(tmp_path))),
    )
    with pytest.raises(ValueError, match="cannot load the metrics certificate"):
        server.start()
