"""The certificate the secure metrics server presents (controller-runtime's SecureServing).

Either a certificate mounted from a directory (``tls.crt``/``tls.key``, e.g. from cert-manager), read
again when its files change so a rotated certificate is served without a restart, or, when none is
given, a self-signed one made in memory at start-up (kubebuilder's default: Prometheus then scrapes
with ``insecureSkipVerify`` and relies on the bearer token, not on the server's identity). The
private key never touches the disk: it is loaded from an anonymous in-memory file.

``cryptography`` is imported only to make the self-signed certificate: its Rust library is ~9 MiB
of the process's resident memory, which a deployment serving a mounted certificate never pays.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_RECHECK_SECONDS = 10.0
_SELF_SIGNED_DAYS = 365


@dataclass(frozen=True)
class CertificateFiles:
    """A mounted certificate: ``directory/cert_name`` and ``directory/key_name`` (PEM)."""

    directory: str
    cert_name: str = "tls.crt"
    key_name: str = "tls.key"

    @property
    def cert(self) -> Path:
        return Path(self.directory) / self.cert_name

    @property
    def key(self) -> Path:
        return Path(self.directory) / self.key_name


class ServingCertificate:
    """Calls as a TLS context provider: the current server context (TLS 1.2+, HTTP/1.1 only)."""

    def __init__(self, files: CertificateFiles | None = None, *, hostname: str | None = None):
        self._files = files
        self._hostname = hostname or socket.gethostname()
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._stamp: tuple[float, float] | None = None
        self._checked_at = -_RECHECK_SECONDS

    @property
    def self_signed(self) -> bool:
        return self._files is None

    def __call__(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._load()
            elif (
                self._files is not None and time.monotonic() - self._checked_at >= _RECHECK_SECONDS
            ):
                self._checked_at = time.monotonic()
                if self._file_stamp() != self._stamp:
                    try:
                        self._context = self._load()
                    except ValueError as err:  # half-written rotation: keep serving the old one
                        log.error("keeping the previous metrics certificate", error=str(err))
            return self._context

    def _file_stamp(self) -> tuple[float, float] | None:
        assert self._files is not None
        try:
            return (self._files.cert.stat().st_mtime, self._files.key.stat().st_mtime)
        except OSError:
            return None

    def _load(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        if self._files is None:
            cert, key = self_signed_certificate(self._hostname)
            _load_from_memory(context, cert + key)
            return context
        self._stamp = self._file_stamp()
        try:
            context.load_cert_chain(self._files.cert, self._files.key)
        except (OSError, ssl.SSLError) as err:
            raise ValueError(
                f"cannot load the metrics certificate {self._files.cert} / {self._files.key}: {err}"
            ) from err
        return context


def self_signed_certificate(hostname: str) -> tuple[bytes, bytes]:
    """A fresh ECDSA P-256 key and a self-signed certificate for ``hostname`` (PEM, PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64])])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [
        x509.DNSName(hostname),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _load_from_memory(context: ssl.SSLContext, pem: bytes) -> None:
    """``load_cert_chain`` wants a path: give it an anonymous memory file (Linux), else a private
    temporary file removed at once."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("wfe-metrics-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, pem)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="wfe-metrics-tls-") as directory:
        path = Path(directory) / "tls.pem"
        path.touch(0o600)
        path.write_bytes(pem)
        context.load_cert_chain(path)
